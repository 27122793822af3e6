"""Names and declarations of every exchange and queue, so that deploy and consumers agree.

`meldpunt declare` creates all of it before services start: an event published before
its consumer's queue exists would otherwise be dropped by the broker. Each service has one
retry queue per backoff step, `<service>.retry.<step>`, shared by all its consumer queues: a
failed message is published to the step's fanout exchange (also `<service>.retry.<step>`) with
its consumer queue's name as routing key, waits out its delay (every message of a step has the
same expiration, so they expire in order) and is dead-lettered by that routing key back to its
queue. One queue per step rather than per consumer queue and step: each quorum queue is a Raft
group of its own, and 70 consumer queues with five steps were 350 of them for a delay. Each
service has one dead-letter queue, reached through its direct exchange `<service>.retry`. A
service never publishes through the default exchange, which would reach every queue of the
vhost; that keeps each service's broker permissions narrow (`service_permissions`,
docs/security.md).

Every queue is a quorum queue, replicated over the cluster's nodes. A consumer queue parks a
message in the service's dead-letter queue after DELIVERY_LIMIT deliveries (a message that
kills its worker is not redelivered forever). Quorum queues have no per-message priority
before RabbitMQ 4, so the acute lane is a queue of its own: an event recorded at the acute
priority also goes to `<service>.acute`, where each handler on the incident's path has an
acute queue it takes first (docs/architecture.md, "The acute lane").
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from kombu import Connection, Exchange, Queue

from shared.names import AFTERCARE, INTAKE, POLICE_LIAISON, SERVICES, TRIAGE

PERSISTENT = 2
# Events recorded at this priority or above (shared/vocabulary.py URGENCY_PRIORITY: acuut 9)
# also go to the acute lane.
ACUTE_PRIORITY = 9
# Deliveries of one message before a consumer queue parks it: a handler's own failures go
# through the retry queues and never count here, so only a message that kills its worker (or
# is returned by a connection lost mid-work) gets near it; ten leaves room for a few node
# failures and restarts.
DELIVERY_LIMIT = 10
# A police unit's queue holds at most this many referral messages and bytes, each message at most
# PARTNER_MESSAGE_TTL_HOURS; past either limit the oldest, and an expired message, move to the unit's
# parked queue (dead-lettered: never dropped in silence), which holds at most PARTNER_PARKED_MAX_LENGTH
# messages and PARTNER_PARKED_MAX_BYTES (then the oldest go, after the alert on anything parked; the
# referrals themselves stay readable in police_liaison's API and webhook).
PARTNER_QUEUE_MAX_LENGTH = 10_000
PARTNER_QUEUE_MAX_BYTES = 64 * 1024 * 1024
PARTNER_MESSAGE_TTL_HOURS = 14 * 24
PARTNER_PARKED_MAX_LENGTH = 100_000
PARTNER_PARKED_MAX_BYTES = 512 * 1024 * 1024


def quorum(**arguments) -> dict:
    """Queue arguments of a quorum queue; dead-lettering, where asked for, at least once (which
    needs `reject-publish` overflow: the dead-lettering waits for the target's confirm)."""
    arguments = {"x-queue-type": "quorum", **{k.replace("_", "-"): v for k, v in arguments.items()}}
    if "x-dead-letter-exchange" in arguments:
        arguments.update({"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"})
    return arguments


def consumer_queue_arguments(service: str) -> dict:
    return quorum(x_delivery_limit=DELIVERY_LIMIT, x_dead_letter_exchange=retry_exchange(service).name,
                  x_dead_letter_routing_key=dead_letter_queue_name(service))


# The acute copy of an event is only a way past a backlog: the same event also waits in the
# consumer queue, which retries and parks it. An acute copy that fails is dropped, and so is
# one past the delivery limit (no dead-lettering).
ACUTE_QUEUE_ARGUMENTS = quorum(x_delivery_limit=DELIVERY_LIMIT)


def event_exchange(service: str) -> Exchange:
    """nameko's event exchange of a service: topic `<service>.events`, routing key = event type."""
    return Exchange(f"{service}.events", type="topic", durable=True, delivery_mode=PERSISTENT)


def police_referrals_exchange() -> Exchange:
    """Referral events per police unit: topic `police.referrals`, routing key
    `<police_unit>.<event_type>` (docs/police-liaison.md)."""
    return Exchange("police.referrals", type="topic", durable=True, delivery_mode=PERSISTENT)


def police_cloudevents_exchange() -> Exchange:
    """The same referral events as CloudEvents 1.0 (AMQP binding, structured mode, NL GOV profile;
    shared/partner_events.py): topic `police.cloudevents`, routing key `<police_unit>.<event_type>`.
    A unit reads one of the two, per the region's `police_liaison.formats` (docs/events.md#cloudevents)."""
    return Exchange("police.cloudevents", type="topic", durable=True, delivery_mode=PERSISTENT)


def liaison_queue_name(unit: str) -> str:
    return f"police.referrals.{unit}"


def liaison_parked_queue_name(unit: str) -> str:
    return f"{liaison_queue_name(unit)}.parked"


@dataclass(frozen=True)
class UnitQueueLimits:
    """How much a police unit's queue holds: the region's `police_liaison.unit_queue_max_length`,
    `unit_queue_max_bytes` and `unit_queue_message_ttl_hours`."""
    max_length: int = PARTNER_QUEUE_MAX_LENGTH
    max_bytes: int = PARTNER_QUEUE_MAX_BYTES
    message_ttl_hours: float = PARTNER_MESSAGE_TTL_HOURS


def liaison_queue_arguments(unit: str, limits: UnitQueueLimits = UnitQueueLimits()) -> dict:
    """A unit that stops consuming must not fill the broker (its alarms would block every
    publisher): past its length or byte limit the oldest messages, and any message older than its
    TTL, move to the unit's parked queue (dead-lettered through `police.referrals.parked`, with the
    reason `maxlen` or `expired` in x-death), and police liaison's metrics raise the alert
    (docs/police-liaison.md)."""
    return {"x-queue-type": "quorum", "x-max-length": limits.max_length,
            "x-max-length-bytes": limits.max_bytes, "x-message-ttl": int(limits.message_ttl_hours * 3_600_000),
            "x-overflow": "drop-head", "x-dead-letter-exchange": police_parked_exchange().name,
            "x-dead-letter-routing-key": liaison_parked_queue_name(unit)}


# Partner subscribers beyond the police (docs/partners.md): signals publishes each delivery to
# `partners.events` with the subscriber's name as routing key; its one queue `partners.<name>` is bounded in
# bytes and in time, and refuses more when full (the delivery waits in signals' outbox, retried with
# backoff, and is logged as failed when it gives up): a partner that stops reading cannot fill the broker.
# A message that outlives its TTL is dead-lettered into the subscriber's parked queue `partners.<name>.parked`
# (through `partners.parked`, x-death reason `expired`), which the partner reads like its queue: not dropped in
# silence. The parked queue has no TTL and the same byte limit; past it its oldest go.
PARTNERS_EXCHANGE = "partners.events"
PARTNERS_PARKED_EXCHANGE = "partners.parked"
SUBSCRIBER_QUEUE_MAX_BYTES = 50 * 1024 * 1024
SUBSCRIBER_QUEUE_TTL_SECONDS = 7 * 24 * 3600


def partners_exchange() -> Exchange:
    return Exchange(PARTNERS_EXCHANGE, type="direct", durable=True, delivery_mode=PERSISTENT)


def subscriber_queue_name(name: str) -> str:
    return f"partners.{name}"


def subscriber_parked_queue_name(name: str) -> str:
    return f"{subscriber_queue_name(name)}.parked"


def partners_parked_exchange() -> Exchange:
    return Exchange(PARTNERS_PARKED_EXCHANGE, type="direct", durable=True, delivery_mode=PERSISTENT)


def subscriber_queue(name: str, max_bytes: int = SUBSCRIBER_QUEUE_MAX_BYTES,
                     ttl_seconds: int = SUBSCRIBER_QUEUE_TTL_SECONDS) -> Queue:
    return Queue(subscriber_queue_name(name), exchange=partners_exchange(), routing_key=name, durable=True,
                 queue_arguments=quorum(x_max_length_bytes=max_bytes, x_message_ttl=ttl_seconds * 1000,
                                        x_dead_letter_exchange=PARTNERS_PARKED_EXCHANGE,
                                        x_dead_letter_routing_key=subscriber_parked_queue_name(name)))


def subscriber_parked_queue(name: str, max_bytes: int = SUBSCRIBER_QUEUE_MAX_BYTES) -> Queue:
    parked = subscriber_parked_queue_name(name)
    return Queue(parked, exchange=partners_parked_exchange(), routing_key=parked, durable=True,
                 queue_arguments={"x-queue-type": "quorum", "x-max-length-bytes": max_bytes, "x-overflow": "drop-head"})


def police_parked_exchange() -> Exchange:
    return Exchange("police.referrals.parked", type="direct", durable=True, delivery_mode=PERSISTENT)


def liaison_queue(unit: str, limits: UnitQueueLimits = UnitQueueLimits(), cloudevents: bool = False) -> Queue:
    """The unit's queue, bound to the hub's envelope (`police.referrals`) or, with `cloudevents`, to
    `police.cloudevents`: one format per unit, never both."""
    exchange = police_cloudevents_exchange() if cloudevents else police_referrals_exchange()
    return Queue(liaison_queue_name(unit), exchange=exchange, routing_key=f"{unit}.#",
                 durable=True, queue_arguments=liaison_queue_arguments(unit, limits))


def liaison_parked_queue(unit: str) -> Queue:
    name = liaison_parked_queue_name(unit)
    return Queue(name, exchange=police_parked_exchange(), routing_key=name, durable=True,
                 # the last stop: no TTL, its own limits (the oldest go past them)
                 queue_arguments={"x-queue-type": "quorum", "x-max-length": PARTNER_PARKED_MAX_LENGTH,
                                  "x-max-length-bytes": PARTNER_PARKED_MAX_BYTES, "x-overflow": "drop-head"})


def consumer_queue_name(source: str, event_type: str, service: str, method: str) -> str:
    # nameko's SERVICE_POOL naming, so that standard nameko tooling recognises the queues
    return f"evt-{source}-{event_type}--{service}.{method}"


def consumer_queue(source: str, event_type: str, service: str, method: str, declare: bool = True) -> Queue:
    """`declare=False`: consume only; a service running as its own broker user may not declare
    (its queues come from `meldpunt declare`, run with the administrator's account)."""
    return Queue(consumer_queue_name(source, event_type, service, method),
                 exchange=event_exchange(source), routing_key=event_type, durable=True,
                 queue_arguments=consumer_queue_arguments(service), no_declare=not declare)


def acute_exchange(service: str) -> Exchange:
    """The acute lane of a service's events: topic `<service>.acute`, routing key = event type."""
    return Exchange(f"{service}.acute", type="topic", durable=True, delivery_mode=PERSISTENT)


def acute_queue_name(queue_name: str) -> str:
    return f"{queue_name}.acute"


def acute_queue(source: str, event_type: str, service: str, method: str, declare: bool = True) -> Queue:
    return Queue(acute_queue_name(consumer_queue_name(source, event_type, service, method)),
                 exchange=acute_exchange(source), routing_key=event_type, durable=True,
                 queue_arguments=ACUTE_QUEUE_ARGUMENTS, no_declare=not declare)


def retry_exchange(service: str) -> Exchange:
    """Where a service parks what no retry can mend: direct, routing key = its dead-letter queue's name."""
    return Exchange(f"{service}.retry", type="direct", durable=True, delivery_mode=PERSISTENT)


def retry_step_exchange(service: str, step: int) -> Exchange:
    """Where a service hands a failed message for its `step`-th retry: fanout into the step's retry queue,
    routing key = the consumer queue the message returns to."""
    return Exchange(f"{service}.retry.{step}", type="fanout", durable=True, delivery_mode=PERSISTENT)


def retry_queue_name(service: str, step: int) -> str:
    return f"{service}.retry.{step}"


def retry_queue(service: str, step: int) -> Queue:
    """No dead-letter routing key: an expired message is dead-lettered with the routing key it was
    published with, its consumer queue's name, through the default exchange into that queue."""
    return Queue(retry_queue_name(service, step), exchange=retry_step_exchange(service, step), routing_key="",
                 durable=True, queue_arguments=quorum(x_dead_letter_exchange=""))


def per_queue_retry_queue_name(queue_name: str, step: int) -> str:
    """A retry queue of releases before 2026-12 (one per consumer queue and step); `meldpunt declare`
    moves what waits in one into its consumer queue and deletes it."""
    return f"{queue_name}.retry.{step}"


def dead_letter_queue_name(service: str) -> str:
    return f"{service}.dlq"


def dead_letter_queue(service: str) -> Queue:
    name = dead_letter_queue_name(service)
    # no delivery limit: an operator looking at dead letters (`meldpunt dlq list`) returns them
    return Queue(name, exchange=retry_exchange(service), routing_key=name, durable=True, queue_arguments=quorum())


def service_permissions(service: str) -> dict:
    """The RabbitMQ permissions (configure, write, read: anchored regexes) of a service's own user.

    Configure nothing: `meldpunt declare` creates every exchange, queue and binding as the
    administrator. Write: its own event exchange and retry exchanges (police_liaison also the
    police units' exchanges, signals the partner subscribers' exchange). Read: its own consumer queues and its own dead-letter queue.
    """
    svc = re.escape(service)
    write = [f"{svc}\\.events", f"{svc}\\.acute", f"{svc}\\.retry(\\.[0-9]+)?"]
    if service == "police_liaison":
        write += [re.escape(police_referrals_exchange().name), re.escape(police_cloudevents_exchange().name)]
    if service == "signals":
        write += [re.escape(PARTNERS_EXCHANGE)]
    return {"configure": "^$",
            "write": "^(" + "|".join(write) + ")$",
            "read": f"^(evt-[a-z_]+-[a-z_]+--{svc}\\.[a-z_]+(\\.acute)?|{svc}\\.dlq)$"}


@dataclass(frozen=True)
class Subscription:
    """One event handler of one service: the source of its events and its queue."""
    source: str
    event_type: str
    service: str
    method: str
    acute: bool = False  # has an acute queue, taken first

    @property
    def queue_name(self) -> str:
        return consumer_queue_name(self.source, self.event_type, self.service, self.method)

    def queue(self) -> Queue:
        return consumer_queue(self.source, self.event_type, self.service, self.method)

    def acute_queue(self) -> Queue:
        return acute_queue(self.source, self.event_type, self.service, self.method)


def subscriptions_of(cls) -> list[Subscription]:
    """Read a service class's reliable event handlers, the way nameko finds entrypoints."""
    from shared.messaging.consumer import ReliableEventHandler

    found = []
    for method_name in dir(cls):
        method = getattr(cls, method_name)
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, ReliableEventHandler):
                found.append(Subscription(entrypoint.source_service, entrypoint.event_type,
                                          cls.name, method_name, entrypoint.acute))
    return sorted(found, key=lambda s: s.queue_name)


# Handlers that are gone. `meldpunt declare` deletes their queues and retry queues, so that no
# queue keeps filling up without a reader. Their messages carry nothing still needed: intake
# followed these three events to keep the reporter's status, which it now reads from the
# services that did the work (docs/intake.md).
# The most retry steps an older release may have declared per consumer queue (its MELDPUNT_RETRY_DELAYS).
OLD_RETRY_STEPS = 10

RETIRED = (
    Subscription(TRIAGE, "incident_triaged", INTAKE, "on_incident_triaged"),
    Subscription(POLICE_LIAISON, "referral_created", INTAKE, "on_referral_created"),
    Subscription(AFTERCARE, "aftercare_planned", INTAKE, "on_aftercare_planned"),
)


def declare(amqp_uri: str, retry_steps: int, subs: list[Subscription], report=lambda line: None,
            police_units=(), unit_queue_limits: UnitQueueLimits = UnitQueueLimits(), cloudevents_units=()) -> None:
    """Declare exchanges, consumer and acute queues with bindings (`subs`: every service's
    handlers, hub.registry.subscriptions), retry queues and dead-letter queues; a queue declared
    earlier with another definition (a classic queue of an older hub) is migrated without losing
    its messages (shared/messaging/migration.py). `police_units`: the units whose existing
    queues (`meldpunt liaison add`) get the same treatment, with `unit_queue_limits`."""
    from shared.messaging.migration import MigrationRefused, declare_all

    with Connection(amqp_uri, connect_timeout=5) as conn:
        channel = conn.channel()
        for service in SERVICES:
            event_exchange(service)(channel).declare()
            acute_exchange(service)(channel).declare()
            retry_exchange(service)(channel).declare()
            for step in range(1, retry_steps + 1):
                retry_step_exchange(service, step)(channel).declare()
        police_referrals_exchange()(channel).declare()
        police_cloudevents_exchange()(channel).declare()
        police_parked_exchange()(channel).declare()
        partners_exchange()(channel).declare()
        items = [(dead_letter_queue(service), ()) for service in SERVICES]
        items += [(retry_queue(service, step), ()) for service in SERVICES for step in range(1, retry_steps + 1)]
        for sub in subs:
            # what still waits in an older release's retry queues of this queue dead-letters into it by name
            items.append((sub.queue(), tuple(per_queue_retry_queue_name(sub.queue_name, step)
                                             for step in range(1, OLD_RETRY_STEPS + 1))))
            if sub.acute:
                items.append((sub.acute_queue(), ()))
        migrated = declare_all(conn, items)
        moved_early = retire_per_queue_retries(conn, subs)
        units = _existing(conn, [liaison_queue_name(unit) for unit in sorted(set(police_units))])
        for unit in sorted(set(police_units)):
            if liaison_queue_name(unit) in units:
                try:  # the parked queue first: the unit's queue overflows into it
                    migrated.update(declare_all(conn, [(liaison_parked_queue(unit), ()),
                                                       (liaison_queue(unit, unit_queue_limits,
                                                                     cloudevents=unit in cloudevents_units), ())]))
                except MigrationRefused as exc:  # the unit reads it now: the hub's own queues go on
                    report(f"not migrated yet: {exc}")
        dropped = retire(conn.channel(), retry_steps)
        channel.close()
    for name, moved in migrated.items():
        report(f"queue {name}: declared anew in its new definition (quorum), {moved} waiting message(s) kept")
    acute = sum(1 for sub in subs if sub.acute)
    report(f"declared {len(SERVICES)} exchanges, {len(subs)} consumer queues, "
           f"{len(SERVICES) * retry_steps} retry queues ({retry_steps} step(s) per service), {acute} acute queues, "
           f"{len(SERVICES)} dead-letter queues"
           + (f", {len(units)} police unit queue(s)" if units else ""))
    if migrated:
        report(f"migrated {len(migrated)} queue(s) to their new definition, {sum(migrated.values())} message(s) kept")
    if dropped:
        report(f"deleted the queues of {len(RETIRED)} retired handlers ({dropped} message(s) no one needs)")
    if moved_early is not None:
        report(f"replaced the older release's retry queues per consumer queue by {retry_steps} per service; "
               f"{moved_early} waiting retry message(s) moved into their queues (retried early)")


def _existing(conn, names) -> set[str]:
    found = set()
    for name in names:
        channel = conn.channel()
        try:
            channel.queue_declare(name, passive=True)
        except Exception:  # NotFound closes the channel
            continue
        channel.close()
        found.add(name)
    return found


def retire(channel, retry_steps: int) -> int:
    """Delete the retired handlers' queues (absent ones are fine); returns the messages they held."""
    dropped = 0
    for sub in RETIRED:
        for name in (sub.queue_name, *(per_queue_retry_queue_name(sub.queue_name, s)
                                       for s in range(1, max(retry_steps, OLD_RETRY_STEPS) + 1))):
            dropped += channel.queue_delete(name) or 0
    return dropped


def retire_per_queue_retries(conn, subs) -> int | None:
    """Replace an older release's retry queues (one per consumer queue and step) by the per-service ones:
    what waits in one moves into its consumer queue now (its retry comes early; handlers are idempotent)
    and the emptied queue is deleted. None when there were none (every run but the first after the upgrade:
    one passive look per consumer queue). An older-release service still running whose retry finds its
    queue gone has the message returned and redelivered at once: nothing is lost (docs/operations.md)."""
    from shared.messaging.migration import MigrationRefused, delete_empty, move_messages

    if not _existing(conn, [per_queue_retry_queue_name(sub.queue_name, 1) for sub in subs]):
        return None
    moved = 0
    for sub in subs:
        for name in sorted(_existing(conn, [per_queue_retry_queue_name(sub.queue_name, step)
                                            for step in range(1, OLD_RETRY_STEPS + 1)])):
            for _ in range(5):  # a running older-release service may put one more in meanwhile: move it too
                moved += move_messages(conn, name, sub.queue_name)
                try:
                    delete_empty(conn, name)
                    break
                except MigrationRefused:
                    continue
    return moved
