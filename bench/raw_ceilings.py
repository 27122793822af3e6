"""The ceilings the hub is measured against, in the same run: raw RabbitMQ and raw PostgreSQL.

RabbitMQ: pika publishes persistent messages with publisher confirms (a window of
outstanding confirms, as a tuned producer would) and consumes them with manual acks.
PostgreSQL: single-row commits (one transaction each, like one outbox write), and the
same rows in batches of 100 per commit.
"""
from __future__ import annotations

import argparse
import json
import time
import uuid

import pika
import psycopg2

BODY = json.dumps({"event_id": str(uuid.uuid4()), "payload": {"urgency": "normaal"}, "pad": "x" * 400}).encode()


def broker_publish_confirmed(amqp_url: str, count: int, window: int = 500) -> float:
    """Messages per second published persistent with confirms, `window` outstanding at most."""
    params = pika.URLParameters(amqp_url)
    state = {"sent": 0, "confirmed": 0, "done": None, "start": None}
    queue = f"bench-raw-{uuid.uuid4().hex[:8]}"

    def on_open(conn):
        conn.channel(on_open_callback=on_channel)

    def on_channel(ch):
        state["ch"] = ch
        ch.queue_declare(queue, durable=True, callback=lambda _: ch.confirm_delivery(on_confirm, callback=start))

    def start(_):
        state["start"] = time.perf_counter()
        pump()

    def pump():
        ch = state["ch"]
        while state["sent"] < count and state["sent"] - state["confirmed"] < window:
            ch.basic_publish("", queue, BODY, pika.BasicProperties(delivery_mode=2))
            state["sent"] += 1

    def on_confirm(frame):
        method = frame.method
        acked = method.delivery_tag - state["confirmed"] if method.multiple else 1
        state["confirmed"] += acked
        if state["confirmed"] >= count:
            state["done"] = time.perf_counter()
            state["ch"].queue_delete(queue, callback=lambda _: conn.close())
        else:
            pump()

    conn = pika.SelectConnection(params, on_open_callback=on_open,
                                 on_close_callback=lambda c, reason: c.ioloop.stop())
    conn.ioloop.start()
    return count / (state["done"] - state["start"])


def broker_consume(amqp_url: str, count: int) -> float:
    """Messages per second consumed with manual acks (prefetch 200), after a confirmed publish."""
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    queue = ch.queue_declare(f"bench-raw-{uuid.uuid4().hex[:8]}", durable=True).method.queue
    ch.confirm_delivery()
    for _ in range(count):
        ch.basic_publish("", queue, BODY, pika.BasicProperties(delivery_mode=2))
    ch.basic_qos(prefetch_count=200)
    received = 0
    start = time.perf_counter()
    for method, _, _ in ch.consume(queue):
        received += 1
        if received % 50 == 0 or received == count:
            ch.basic_ack(method.delivery_tag, multiple=True)
        if received == count:
            break
    elapsed = time.perf_counter() - start
    ch.cancel()
    ch.queue_delete(queue)
    conn.close()
    return count / elapsed


def postgres_commits(dsn: str, count: int, batch: int = 1) -> float:
    """Rows per second inserted into a table like the outbox, `batch` rows per commit."""
    conn = psycopg2.connect(dsn)
    with conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE bench_outbox (id bigserial PRIMARY KEY, event_id uuid, envelope jsonb, "
                    "created_at timestamptz DEFAULT now())")
    conn.commit()
    start = time.perf_counter()
    with conn.cursor() as cur:
        for i in range(count):
            cur.execute("INSERT INTO bench_outbox (event_id, envelope) VALUES (%s, %s)",
                        (str(uuid.uuid4()), BODY.decode()))
            if (i + 1) % batch == 0:
                conn.commit()
    conn.commit()
    elapsed = time.perf_counter() - start
    conn.close()
    return count / elapsed


def postgres_round_trips(dsn: str, count: int) -> float:
    """`SELECT 1` round trips per second on one connection: what each statement costs in waiting."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        start = time.perf_counter()
        for _ in range(count):
            cur.execute("SELECT 1")
            cur.fetchone()
        elapsed = time.perf_counter() - start
    conn.close()
    return count / elapsed


def python_loop(count: int = 10_000_000) -> float:
    """Millions of iterations per second of a bare Python loop: how fast this machine's CPU is
    right now, since on a shared machine that changes from hour to hour."""
    start = time.perf_counter()
    total = 0
    for i in range(count):
        total += i
    return count / (time.perf_counter() - start) / 1e6


def measure(amqp_url: str, dsn: str, count: int, tcp_dsn: str | None = None) -> dict:
    """The ceilings on `dsn` (what the hub uses); with `tcp_dsn`, round trips over TCP beside them."""
    figures = {
        "raw_python_loop_m_iterations_per_s": python_loop(),
        "raw_broker_publish_confirmed_msgs_per_s": broker_publish_confirmed(amqp_url, count),
        "raw_broker_consume_msgs_per_s": broker_consume(amqp_url, count),
        "raw_postgres_single_row_commits_per_s": postgres_commits(dsn, min(count, 5000), batch=1),
        "raw_postgres_rows_per_s_batched_100": postgres_commits(dsn, count, batch=100),
        "raw_postgres_round_trips_per_s": postgres_round_trips(dsn, count),
    }
    if tcp_dsn and tcp_dsn != dsn:
        figures["raw_postgres_round_trips_per_s_tcp"] = postgres_round_trips(tcp_dsn, count)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--amqp-url", default="amqp://guest:guest@127.0.0.1:5672/%2F")
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--count", type=int, default=20000)
    args = parser.parse_args()
    for name, value in measure(args.amqp_url, args.dsn, args.count).items():
        print(f"{name:<45} {value:>10.0f}")


if __name__ == "__main__":
    main()
