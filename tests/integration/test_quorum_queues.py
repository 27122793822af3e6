"""Quorum queues through the real broker: `meldpunt declare` migrates the classic queues of an
older hub without losing a waiting message, a message that kills its worker is parked after
the delivery limit, and a police unit's queue overflows into its parked queue with an alert: past its length or byte limit,
and when a message outlives its TTL (dead-lettered with the reason, never dropped in silence)."""
from __future__ import annotations

import json
import uuid

from kombu import Connection, Exchange, Producer, Queue

from hub.registry import all_subscriptions
from shared.messaging import migration
from shared.messaging.dlq import DeadLetters
from shared.messaging.management import ManagementApi, ManagementError, q, vhost_of
from shared.messaging.topology import (DELIVERY_LIMIT, UnitQueueLimits, dead_letter_queue_name, event_exchange,
                                       liaison_queue_name, liaison_parked_queue_name, per_queue_retry_queue_name, quorum,
                                       retry_exchange, retry_queue_name)
from shared.names import SERVICES
from tests.support import cli, wait_for


def old_classic_topology(amqp_uri: str, retry_steps: int) -> list:
    """The queues as the hub declared them before quorum queues: classic, x-max-priority 10."""
    subs = all_subscriptions()
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        for service in SERVICES:
            event_exchange(service)(channel).declare()
            retry_exchange(service)(channel).declare()
            Queue(dead_letter_queue_name(service), exchange=retry_exchange(service),
                  routing_key=dead_letter_queue_name(service), durable=True)(channel).declare()
        for sub in subs:
            Queue(sub.queue_name, exchange=event_exchange(sub.source), routing_key=sub.event_type, durable=True,
                  queue_arguments={"x-max-priority": 10})(channel).declare()
            for step in range(1, retry_steps + 1):
                name = per_queue_retry_queue_name(sub.queue_name, step)
                Queue(name, exchange=retry_exchange(sub.service), routing_key=name, durable=True,
                      queue_arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": sub.queue_name}
                      )(channel).declare()
    return subs


def queue_type(settings, name: str) -> str:
    """The queue's type, from the management API (which a busy shared broker may answer with a
    500 now and then: asked again)."""
    api = ManagementApi(settings.rabbit_api_uri)
    return wait_for(lambda: _answer(api, f"queues/{q(vhost_of(settings.amqp_uri))}/{q(name)}"),
                    interval=0.5, what=f"the management API on {name}")["type"]


def _answer(api, path):
    try:
        return api.call("GET", path).json()
    except ManagementError:
        return None


def leftovers(amqp_uri: str, names) -> list[str]:
    """Holding queues of these queues, or the journal, still there."""
    with Connection(amqp_uri) as conn:
        conn.connect()
        return [n for n in [migration.JOURNAL, *(migration.HOLDING.format(name) for name in names)]
                if migration._exists(conn, n)]


def exists(amqp_uri: str, name: str) -> bool:
    with Connection(amqp_uri) as conn:
        conn.connect()
        return migration._exists(conn, name)


def bodies(amqp_uri: str, queue: str) -> list[dict]:
    """Every message of a queue (returned to it afterwards: nothing is acked)."""
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        found = []
        while (message := channel.basic_get(queue, no_ack=False)) is not None:
            found.append({"body": json.loads(message.body), "headers": message.headers or {},
                          "properties": dict(message.properties)})
        channel.close()
    return found


def publish(amqp_uri, exchange, routing_key, bodies_, **properties):
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.default_channel)
        for body in bodies_:
            producer.publish(body, exchange=exchange, routing_key=routing_key, delivery_mode=2,
                             message_id=body.get("event_id"), **properties)


def test_declare_migrates_classic_queues_without_losing_a_message(settings, hub_env):
    retry_steps = len(settings.retry_delays)
    old_classic_topology(settings.amqp_uri, retry_steps)
    waiting = [{"event_id": str(uuid.uuid4()), "n": n} for n in range(25)]
    publish(settings.amqp_uri, Exchange("intake.events", type="topic"), "incident_reported", waiting, priority=5)
    retrying = {"event_id": str(uuid.uuid4()), "retry": True}
    triage_queue = "evt-intake-incident_reported--triage.on_incident_reported"
    publish(settings.amqp_uri, Exchange("triage.retry", type="direct"), per_queue_retry_queue_name(triage_queue, 2),
            [retrying], expiration=600, headers={"x-meldpunt-attempt": 2})
    parked = {"event_id": str(uuid.uuid4()), "parked": True}
    publish(settings.amqp_uri, Exchange("statistics.retry", type="direct"), "statistics.dlq", [parked])
    assert queue_type(settings, triage_queue) == "classic"

    result = cli(hub_env, "declare")
    assert result.returncode == 0, result.stderr
    assert "waiting message(s) kept" in result.stdout

    # every queue is a quorum queue now; the waiting messages are where they were
    for name in (triage_queue, retry_queue_name("triage", 1), "statistics.dlq",
                 "evt-intake-incident_reported--statistics.on_incident_reported"):
        assert queue_type(settings, name) == "quorum", name
    triage = bodies(settings.amqp_uri, triage_queue)
    # the retry's message is back in its queue (its retry came early), nothing else was lost
    assert sorted(m["body"]["event_id"] for m in triage) == sorted([m["event_id"] for m in waiting]
                                                                  + [retrying["event_id"]])
    assert all(m["properties"].get("priority") == 5 for m in triage if "n" in m["body"])
    assert "expiration" not in [k for m in triage for k in m["properties"]]
    statistics = bodies(settings.amqp_uri, "evt-intake-incident_reported--statistics.on_incident_reported")
    assert sorted(m["body"]["event_id"] for m in statistics) == sorted(m["event_id"] for m in waiting)
    assert [m["body"] for m in bodies(settings.amqp_uri, "statistics.dlq")] == [parked]
    assert not exists(settings.amqp_uri, per_queue_retry_queue_name(triage_queue, 2))  # one retry queue per service now
    assert not leftovers(settings.amqp_uri, [sub.queue_name for sub in all_subscriptions()] + ["statistics.dlq"])

    # the new queues are bound: a new event reaches triage's queue; a second declare changes nothing
    publish(settings.amqp_uri, Exchange("intake.events", type="topic"), "incident_reported",
            [{"event_id": "after"}])
    again = cli(hub_env, "declare")
    assert again.returncode == 0 and "kept" not in again.stdout, again.stdout
    assert len(bodies(settings.amqp_uri, triage_queue)) == len(waiting) + 2


def test_declare_replaces_the_retry_queues_per_consumer_queue_and_retries_what_waited_in_them_early(settings, hub_env):
    """The release before 2026-12 had quorum retry queues per consumer queue and step; declare moves what
    waits in them into their consumer queues (the retry comes early) and deletes them."""
    subs = all_subscriptions()
    with Connection(settings.amqp_uri) as conn:
        channel = conn.channel()
        for service in SERVICES:
            retry_exchange(service)(channel).declare()
        for sub in subs:
            for step in (1, 2):
                name = per_queue_retry_queue_name(sub.queue_name, step)
                Queue(name, exchange=retry_exchange(sub.service), routing_key=name, durable=True,
                      queue_arguments=quorum(x_dead_letter_exchange="", x_dead_letter_routing_key=sub.queue_name)
                      )(channel).declare()
    triage_queue = "evt-intake-incident_reported--triage.on_incident_reported"
    waiting = [{"event_id": str(uuid.uuid4()), "retry": step} for step in (1, 2)]
    for step, body in zip((1, 2), waiting):
        publish(settings.amqp_uri, Exchange("triage.retry", type="direct"), per_queue_retry_queue_name(triage_queue, step),
                [body], expiration=600_000, headers={"x-meldpunt-attempt": step})

    result = cli(hub_env, "declare")
    assert result.returncode == 0, result.stderr
    assert "2 waiting retry message(s) moved into their queues" in result.stdout, result.stdout
    assert sorted(m["body"]["event_id"] for m in bodies(settings.amqp_uri, triage_queue)) == \
        sorted(b["event_id"] for b in waiting)
    assert not [sub.queue_name for sub in subs for step in (1, 2)
                if exists(settings.amqp_uri, per_queue_retry_queue_name(sub.queue_name, step))]
    assert queue_type(settings, retry_queue_name("triage", 2)) == "quorum"
    again = cli(hub_env, "declare")
    assert again.returncode == 0 and "older release's retry queues" not in again.stdout, again.stdout


def test_declare_refuses_to_migrate_a_queue_a_consumer_reads(settings, hub_env):
    old_classic_topology(settings.amqp_uri, len(settings.retry_delays))
    with Connection(settings.amqp_uri) as conn:
        channel = conn.channel()
        channel.basic_consume("evt-intake-incident_reported--triage.on_incident_reported", callback=lambda m: None)
        result = cli(hub_env, "declare")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        "meldpunt: queue evt-intake-incident_reported--triage.on_incident_reported must change its definition but has 1 "
        "consumer(s): stop the services (and police units) reading it, then run `meldpunt declare` again"]


def test_a_migration_stopped_half_way_is_finished_by_the_next_declare(settings, declared, hub_env):
    """A run that died after moving the messages into the holding queue: the journal names it."""
    name = "evt-intake-incident_reported--triage.on_incident_reported"
    kept = [{"event_id": str(uuid.uuid4())} for _ in range(3)]
    with Connection(settings.amqp_uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        channel.queue_declare(migration.JOURNAL, durable=True, auto_delete=False,
                              arguments={"x-queue-type": "quorum"})
        channel.queue_declare(migration.HOLDING.format(name), durable=True, auto_delete=False,
                              arguments={"x-queue-type": "quorum"})
        producer = Producer(channel)
        producer.publish(name, exchange="", routing_key=migration.JOURNAL, delivery_mode=2)
        for body in kept:
            producer.publish(body, exchange="", routing_key=migration.HOLDING.format(name), delivery_mode=2)
    result = cli(hub_env, "declare")
    assert result.returncode == 0, result.stderr
    assert sorted(m["body"]["event_id"] for m in bodies(settings.amqp_uri, name)) == sorted(
        b["event_id"] for b in kept)
    assert not leftovers(settings.amqp_uri, [name])


def test_a_message_that_kills_its_worker_is_parked_after_the_delivery_limit(declared):
    """A worker that dies with the message (its connection gone, no ack) gets it again, up to
    DELIVERY_LIMIT times; then the broker parks it in the service's dead-letter queue, where
    `meldpunt dlq` shows where it came from and why, and replay sends it back."""
    name = "evt-intake-incident_reported--triage.on_incident_reported"
    poison = {"event_id": str(uuid.uuid4()), "event_type": "incident_reported", "municipality": "GM0687"}
    publish(declared.amqp_uri, Exchange("intake.events", type="topic"), "incident_reported", [poison])
    deliveries = 0
    for _ in range(DELIVERY_LIMIT + 1):
        with Connection(declared.amqp_uri) as conn:  # a worker that dies: the connection goes, no ack
            message = conn.channel().basic_get(name, no_ack=False)
        if message is None:
            break
        deliveries += 1
    assert deliveries == DELIVERY_LIMIT + 1
    dead = DeadLetters(declared.amqp_uri)
    [letter] = wait_for(lambda: dead.list("triage"), timeout=10, what="the parked message")
    assert letter.message_id == poison["event_id"] and letter.queue == name
    assert "delivery_limit" in letter.error
    assert dead.replay("triage", poison["event_id"]) == [poison["event_id"]]
    assert [m["body"] for m in bodies(declared.amqp_uri, name)] == [poison]


def test_a_police_unit_that_stops_reading_overflows_into_its_parked_queue(settings, declared):
    """Past its length limit a unit's queue moves its oldest messages to the unit's parked queue
    (the unit's user may read both); police liaison's /metrics carries the alert's figures."""
    from prometheus_client import REGISTRY

    from services.police_liaison import liaisons

    unit = "zwb-walcheren"
    api = ManagementApi(settings.rabbit_api_uri)
    vhost = vhost_of(settings.amqp_uri)
    subscription = liaisons.add(api, vhost, unit, UnitQueueLimits(max_length=5))
    try:
        messages = [{"event_id": str(uuid.uuid4()), "n": n} for n in range(8)]
        publish(settings.amqp_uri, Exchange("police.referrals", type="topic"), f"{unit}.referral_created", messages)
        wait_for(lambda: len(bodies(settings.amqp_uri, liaison_parked_queue_name(unit))) == 3, timeout=10,
                 what="the overflow to be parked")
        assert [m["body"]["n"] for m in bodies(settings.amqp_uri, liaison_queue_name(unit))] == [3, 4, 5, 6, 7]
        assert [m["body"]["n"] for m in bodies(settings.amqp_uri, liaison_parked_queue_name(unit))] == [0, 1, 2]
        with Connection(settings.amqp_uri.replace("guest:guest", f"{q(subscription.user)}:{q(subscription.password)}")
                        ) as conn:  # the unit reads its parked messages itself
            assert conn.channel().basic_get(liaison_parked_queue_name(unit), no_ack=False) is not None

        # what police liaison's /metrics measures at each scrape (PoliceLiaisonService._measure_queues)
        with Connection(settings.amqp_uri) as conn:
            conn.connect()
            depths = liaisons.measure_queues(conn, [m.police_unit for m in settings.region.municipalities], 5)
        assert depths == {unit: {"waiting": 5, "parked": 3}}  # the other units have no subscription
        sample = REGISTRY.get_sample_value
        assert sample("meldpunt_police_unit_queue_messages", {"police_unit": unit, "queue": "parked"}) == 3
        assert sample("meldpunt_police_unit_queue_messages", {"police_unit": unit, "queue": "waiting"}) == 5
        assert sample("meldpunt_police_unit_queue_limit", {"police_unit": unit}) == 5
    finally:
        liaisons.remove(api, vhost, unit)
    with Connection(settings.amqp_uri) as conn:  # remove deleted the unit's user and both queues
        conn.connect()
        assert not migration._exists(conn, liaison_parked_queue_name(unit))


def _reasons(message) -> list[str]:
    return [death["reason"] for death in message["headers"].get("x-death", [])]


def test_a_police_unit_queue_parks_past_its_byte_limit_and_what_outlives_its_ttl(settings, declared):
    """The two limits beside the length (issue 21, item 12): a unit whose messages are large fills no more than
    `unit_queue_max_bytes` of the broker, and a message nobody read within `unit_queue_message_ttl_hours` moves
    to the parked queue too, each with its reason in x-death."""
    from services.police_liaison import liaisons

    api, vhost = ManagementApi(settings.rabbit_api_uri), vhost_of(settings.amqp_uri)
    by_bytes, by_age = "zwb-test-bytes", "zwb-test-ttl"
    liaisons.add(api, vhost, by_bytes, UnitQueueLimits(max_length=1000, max_bytes=2000))
    liaisons.add(api, vhost, by_age, UnitQueueLimits(max_length=1000, message_ttl_hours=1 / 3600))  # 1 s
    try:
        arguments = wait_for(lambda: _answer(api, f"queues/{q(vhost)}/{q(liaison_queue_name(by_bytes))}"),
                             what="the unit's queue")["arguments"]
        assert arguments["x-max-length-bytes"] == 2000 and arguments["x-overflow"] == "drop-head"
        assert arguments["x-dead-letter-routing-key"] == liaison_parked_queue_name(by_bytes)

        large = [{"event_id": str(uuid.uuid4()), "n": n, "pad": "x" * 450} for n in range(8)]  # ~500 bytes each
        publish(settings.amqp_uri, Exchange("police.referrals", type="topic"), f"{by_bytes}.referral_created", large)
        waiting = wait_for(lambda: (lambda w, p: (w, p) if len(w) + len(p) == 8 else None)(
            bodies(settings.amqp_uri, liaison_queue_name(by_bytes)),
            bodies(settings.amqp_uri, liaison_parked_queue_name(by_bytes))), what="every message waiting or parked")
        kept, parked = waiting
        assert sum(len(json.dumps(m["body"])) for m in kept) <= 2000 and len(kept) == 3
        assert [m["body"]["n"] for m in parked] == [0, 1, 2, 3, 4]  # the oldest went, in order
        assert all(_reasons(m) == ["maxlen"] for m in parked)

        small = [{"event_id": str(uuid.uuid4()), "n": n} for n in range(2)]
        publish(settings.amqp_uri, Exchange("police.referrals", type="topic"), f"{by_age}.referral_created", small)
        expired = wait_for(lambda: (lambda p: p if len(p) == 2 else None)(
            bodies(settings.amqp_uri, liaison_parked_queue_name(by_age))), what="both messages parked on expiry")
        assert [m["body"]["n"] for m in expired] == [0, 1]
        assert all(_reasons(m) == ["expired"] for m in expired)
        assert bodies(settings.amqp_uri, liaison_queue_name(by_age)) == []
    finally:
        liaisons.remove(api, vhost, by_bytes)
        liaisons.remove(api, vhost, by_age)


def test_a_partner_subscribers_expired_messages_are_parked_not_dropped(settings, declared):
    """A subscriber's queue (docs/partners.md) refuses more when full (signals keeps the delivery and retries) and
    dead-letters a message that outlives its TTL into `partners.<name>.parked`, which the partner's user reads."""
    import uuid as uuid_

    from services.signals import partner_queues
    from shared.messaging.topology import PARTNERS_EXCHANGE, subscriber_parked_queue_name

    name = f"riec-{uuid_.uuid4().hex[:8]}"
    api, vhost = ManagementApi(settings.rabbit_api_uri), vhost_of(settings.amqp_uri)
    user, password, queue = partner_queues.add(api, vhost, name, max_bytes=100_000, ttl_seconds=1)
    try:
        messages = [{"event_id": str(uuid_.uuid4()), "n": n} for n in range(2)]
        publish(settings.amqp_uri, Exchange(PARTNERS_EXCHANGE, type="direct"), name, messages)
        parked = wait_for(lambda: (lambda p: p if len(p) == 2 else None)(
            bodies(settings.amqp_uri, subscriber_parked_queue_name(name))), what="both messages parked on expiry")
        assert [m["body"]["n"] for m in parked] == [0, 1]
        assert all(_reasons(m) == ["expired"] for m in parked)
        assert bodies(settings.amqp_uri, queue) == []
        with Connection(settings.amqp_uri.replace("guest:guest", f"{q(user)}:{q(password)}")) as conn:
            assert conn.channel().basic_get(subscriber_parked_queue_name(name), no_ack=False) is not None
    finally:
        partner_queues.remove(api, vhost, name)
    with Connection(settings.amqp_uri) as conn:
        conn.connect()
        assert not migration._exists(conn, subscriber_parked_queue_name(name))
