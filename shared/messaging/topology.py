"""Names and declarations of every exchange and queue, so that deploy and consumers agree.

`meldpunt declare` creates all of it before services start: an event published before
its consumer's queue exists would otherwise be dropped by the broker. Each consumer
queue has retry queues (one per backoff step: a message waits there for its delay and is
dead-lettered back to its queue) and each service has one dead-letter queue. A service hands a failed message on through its
own direct exchange `<service>.retry` (bound to its retry queues and its dead-letter queue),
never through the default exchange, which would reach every queue of the vhost; that keeps
each service's broker permissions narrow (`service_permissions`, docs/security.md).
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass

from kombu import Connection, Exchange, Queue

from shared.names import AFTERCARE, INTAKE, POLICE_LIAISON, SERVICES, TRIAGE

PERSISTENT = 2
MAX_PRIORITY = 10  # acute incidents overtake a backlog (x-max-priority on event queues)
EVENT_QUEUE_ARGUMENTS = {"x-max-priority": MAX_PRIORITY}


def event_exchange(service: str) -> Exchange:
    """nameko's event exchange of a service: topic `<service>.events`, routing key = event type."""
    return Exchange(f"{service}.events", type="topic", durable=True, delivery_mode=PERSISTENT)


def police_referrals_exchange() -> Exchange:
    """Referral events per police unit: topic `police.referrals`, routing key
    `<police_unit>.<event_type>` (docs/police-liaison.md)."""
    return Exchange("police.referrals", type="topic", durable=True, delivery_mode=PERSISTENT)


def liaison_queue_name(unit: str) -> str:
    return f"police.referrals.{unit}"


def liaison_queue(unit: str) -> Queue:
    return Queue(liaison_queue_name(unit), exchange=police_referrals_exchange(), routing_key=f"{unit}.#",
                 durable=True)


def consumer_queue_name(source: str, event_type: str, service: str, method: str) -> str:
    # nameko's SERVICE_POOL naming, so that standard nameko tooling recognises the queues
    return f"evt-{source}-{event_type}--{service}.{method}"


def consumer_queue(source: str, event_type: str, service: str, method: str, declare: bool = True) -> Queue:
    """`declare=False`: consume only; a service running as its own broker user may not declare
    (its queues come from `meldpunt declare`, run with the administrator's account)."""
    return Queue(consumer_queue_name(source, event_type, service, method),
                 exchange=event_exchange(source), routing_key=event_type, durable=True,
                 queue_arguments=EVENT_QUEUE_ARGUMENTS, no_declare=not declare)


def retry_exchange(service: str) -> Exchange:
    """Where a service hands its failed messages on: direct, routing key = the target queue's name."""
    return Exchange(f"{service}.retry", type="direct", durable=True, delivery_mode=PERSISTENT)


def retry_queue_name(queue_name: str, step: int) -> str:
    return f"{queue_name}.retry.{step}"


def retry_queue(queue_name: str, step: int, service: str) -> Queue:
    name = retry_queue_name(queue_name, step)
    return Queue(name, exchange=retry_exchange(service), routing_key=name, durable=True, queue_arguments={
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": queue_name,
    })


def dead_letter_queue_name(service: str) -> str:
    return f"{service}.dlq"


def dead_letter_queue(service: str) -> Queue:
    name = dead_letter_queue_name(service)
    return Queue(name, exchange=retry_exchange(service), routing_key=name, durable=True)


def service_permissions(service: str) -> dict:
    """The RabbitMQ permissions (configure, write, read: anchored regexes) of a service's own user.

    Configure nothing: `meldpunt declare` creates every exchange, queue and binding as the
    administrator. Write: its own event exchange and retry exchange (police_liaison also the
    police units' exchange). Read: its own consumer queues and its own dead-letter queue.
    """
    svc = re.escape(service)
    write = [f"{svc}\\.events", f"{svc}\\.retry"]
    if service == "police_liaison":
        write.append(re.escape(police_referrals_exchange().name))
    return {"configure": "^$",
            "write": "^(" + "|".join(write) + ")$",
            "read": f"^(evt-[a-z_]+-[a-z_]+--{svc}\\.[a-z_]+|{svc}\\.dlq)$"}


@dataclass(frozen=True)
class Subscription:
    """One event handler of one service: the source of its events and its queue."""
    source: str
    event_type: str
    service: str
    method: str

    @property
    def queue_name(self) -> str:
        return consumer_queue_name(self.source, self.event_type, self.service, self.method)

    def queue(self) -> Queue:
        return consumer_queue(self.source, self.event_type, self.service, self.method)


def service_class(service: str):
    module = importlib.import_module(f"services.{service}.service")
    return module.SERVICE


def subscriptions_of(cls) -> list[Subscription]:
    """Read a service class's reliable event handlers, the way nameko finds entrypoints."""
    from shared.messaging.consumer import ReliableEventHandler

    found = []
    for method_name in dir(cls):
        method = getattr(cls, method_name)
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, ReliableEventHandler):
                found.append(Subscription(entrypoint.source_service, entrypoint.event_type,
                                          cls.name, method_name))
    return sorted(found, key=lambda s: s.queue_name)


def all_subscriptions() -> list[Subscription]:
    return [s for service in SERVICES for s in subscriptions_of(service_class(service))]


# Handlers that are gone. `meldpunt declare` deletes their queues and retry queues, so that no
# queue keeps filling up without a reader. Their messages carry nothing still needed: intake
# followed these three events to keep the reporter's status, which it now reads from the
# services that did the work (docs/intake.md).
RETIRED = (
    Subscription(TRIAGE, "incident_triaged", INTAKE, "on_incident_triaged"),
    Subscription(POLICE_LIAISON, "referral_created", INTAKE, "on_referral_created"),
    Subscription(AFTERCARE, "aftercare_planned", INTAKE, "on_aftercare_planned"),
)


def declare(amqp_uri: str, retry_steps: int, report=lambda line: None) -> None:
    """Declare exchanges, consumer queues with bindings, retry queues and dead-letter queues."""
    with Connection(amqp_uri, connect_timeout=5) as conn:
        channel = conn.channel()
        for service in SERVICES:
            event_exchange(service)(channel).declare()
            retry_exchange(service)(channel).declare()
            dead_letter_queue(service)(channel).declare()
        police_referrals_exchange()(channel).declare()
        subs = all_subscriptions()
        for sub in subs:
            sub.queue()(channel).declare()
            for step in range(1, retry_steps + 1):
                retry_queue(sub.queue_name, step, sub.service)(channel).declare()
        dropped = retire(channel, retry_steps)
        channel.close()
    report(f"declared {len(SERVICES)} exchanges, {len(subs)} consumer queues with "
           f"{retry_steps} retry step(s) each, {len(SERVICES)} dead-letter queues")
    if dropped:
        report(f"deleted the queues of {len(RETIRED)} retired handlers ({dropped} message(s) no one needs)")


def retire(channel, retry_steps: int) -> int:
    """Delete the retired handlers' queues (absent ones are fine); returns the messages they held."""
    dropped = 0
    for sub in RETIRED:
        for name in (sub.queue_name, *(retry_queue_name(sub.queue_name, s) for s in range(1, retry_steps + 1))):
            dropped += channel.queue_delete(name) or 0
    return dropped
