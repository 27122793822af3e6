"""shared/messaging/publisher.py against the real broker: one wait for a batch's confirms."""
from __future__ import annotations

import uuid

from kombu import Connection, Exchange, Queue

from shared.messaging.publisher import BatchPublisher, Outgoing, Unroutable


def bound_queue(amqp_uri):
    exchange = Exchange(f"test.{uuid.uuid4().hex[:6]}", type="topic", durable=True)
    queue = Queue(f"q.{uuid.uuid4().hex[:6]}", exchange=exchange, routing_key="bound", durable=True)
    with Connection(amqp_uri) as conn:
        queue(conn.default_channel).declare()
    return exchange.name, queue


def drain(amqp_uri, queue):
    received = []
    with Connection(amqp_uri) as conn:
        bound = queue(conn.default_channel)
        while (message := bound.get(no_ack=True)) is not None:
            received.append(message)
    return received


def test_a_batch_is_confirmed_and_an_unroutable_message_is_reported_by_its_key(rabbit_config):
    amqp_uri = rabbit_config["AMQP_URI"]
    exchange, queue = bound_queue(amqp_uri)
    messages = [Outgoing(key=n, body={"n": n}, exchange=exchange, routing_key="bound", mandatory=True,
                         priority=n % 3, message_id=f"m{n}", headers={"x-n": n}) for n in range(60)]
    messages[17] = Outgoing(key=17, body={"n": 17}, exchange=exchange, routing_key="nobody",
                            mandatory=True, message_id="m17")
    # a second, non-mandatory route of key 5 that no queue takes does not hold key 5 back
    messages.append(Outgoing(key=5, body={"n": 5}, exchange=exchange, routing_key="elsewhere", message_id="m5"))
    publisher = BatchPublisher(amqp_uri)
    try:
        outcome = publisher.publish(messages)
        again = publisher.publish([Outgoing(key="later", body={}, exchange=exchange, routing_key="bound",
                                            mandatory=True, message_id="later")])
    finally:
        publisher.close()

    assert outcome.error is None
    assert sorted(outcome.confirmed) == [n for n in range(60) if n != 17]
    assert list(outcome.failed) == [17] and isinstance(outcome.failed[17], Unroutable)
    assert again.confirmed == ["later"], "the channel is reused for the next batch"
    received = drain(amqp_uri, queue)
    assert len(received) == 60
    first = received[0]
    assert first.properties["delivery_mode"] == 2 and first.content_type == "application/json"
    assert {m.properties["message_id"] for m in received} == {f"m{n}" for n in range(60) if n != 17} | {"later"}
    assert received[3].headers == {"x-n": 3} and received[3].payload == {"n": 3}


def test_no_broker_means_an_error_and_nothing_confirmed():
    publisher = BatchPublisher("amqp://guest:guest@127.0.0.1:1/", confirm_timeout=2)

    outcome = publisher.publish([Outgoing(key=1, body={}, exchange="", routing_key="x", mandatory=True,
                                          message_id="a")])

    assert outcome.confirmed == [] and outcome.error is not None


def test_a_closed_connection_is_reopened_for_the_next_batch(rabbit_config):
    amqp_uri = rabbit_config["AMQP_URI"]
    exchange, queue = bound_queue(amqp_uri)
    publisher = BatchPublisher(amqp_uri)
    try:
        assert publisher.publish([Outgoing(key=1, body={}, exchange=exchange, routing_key="bound",
                                           message_id="a")]).confirmed == [1]
        publisher._connection.connection.sock.close()  # the broker restarted while we sat idle

        outcome = publisher.publish([Outgoing(key=2, body={}, exchange=exchange, routing_key="bound",
                                              message_id="b")])
    finally:
        publisher.close()

    assert outcome.error is None and outcome.confirmed == [2]
    assert len(drain(amqp_uri, queue)) == 2
