"""The order in which a rolling upgrade replaces the services: consumers before their producers.

An event is checked strictly against its contract: a consumer parks an event with a payload field it does not
know (shared/events.py). So a release whose producer adds a field (expand) must not let that producer run
while an older consumer of the event still does: each service is replaced only after every service that
consumes its events — the reverse of the event flow, read from the services' subscriptions. New consumers
accept the older events (a field added is optional), so old producers may run beside them.
"""
from __future__ import annotations


def upgrade_waves(subscriptions, services) -> list[list[str]]:
    """`services` in waves: each service after every service that consumes its events; the services of one
    wave may be replaced together (ties in the order given). ValueError when two services consume each
    other's events: then no rolling order exists, and such a release needs its event change in two steps."""
    consumers = {service: set() for service in services}       # producer -> services consuming its events
    for sub in subscriptions:
        if sub.source != sub.service:
            consumers[sub.source].add(sub.service)
    waves, placed = [], set()
    while len(placed) < len(services):
        ready = [s for s in services if s not in placed and consumers[s] <= placed]
        if not ready:
            left = [s for s in services if s not in placed]
            raise ValueError(f"no rolling upgrade order: {', '.join(left)} consume each other's events")
        waves.append(ready)
        placed.update(ready)
    return waves


def upgrade_order(subscriptions, services) -> list[str]:
    return [service for wave in upgrade_waves(subscriptions, services) for service in wave]


def hub_upgrade_waves() -> list[list[str]]:
    from hub.registry import all_subscriptions
    from shared.names import SERVICES

    return upgrade_waves(all_subscriptions(), list(SERVICES))


def hub_upgrade_order() -> list[str]:
    return [service for wave in hub_upgrade_waves() for service in wave]


def describe(waves: list[list[str]]) -> str:
    """statistics, then police_liaison and aftercare, then triage, then intake"""
    return ", then ".join(" and ".join(wave) for wave in waves)


# ------------------------------------------------------------------------------ the queues

def expected_queues(retry_steps: int) -> dict:
    """Every queue `meldpunt declare` makes: name -> (the arguments it declares it with, the service that
    consumes it, None for a dead-letter queue, which only the operator's commands read)."""
    from hub.registry import all_subscriptions
    from shared.messaging import topology
    from shared.names import SERVICES

    expected = {}
    for service in SERVICES:
        for step in range(1, retry_steps + 1):
            retry = topology.retry_queue(service, step)
            expected[retry.name] = (dict(retry.queue_arguments or {}), service)
    for sub in all_subscriptions():
        expected[sub.queue_name] = (dict(sub.queue().queue_arguments or {}), sub.service)
        if getattr(sub, "acute", False):
            acute = sub.acute_queue()
            expected[acute.name] = (dict(acute.queue_arguments or {}), sub.service)
    for service in SERVICES:
        dlq = topology.dead_letter_queue(service)
        expected[dlq.name] = (dict(dlq.queue_arguments or {}), None)
    return expected


def differs(present: dict, wanted: dict) -> bool:
    """A queue declared with other arguments than the hub declares (a classic queue of an older release)."""
    return {k: v for k, v in present.items() if k in wanted or k.startswith("x-")} != wanted


def changing_queues(settings, queues: list | None = None) -> dict:
    """The existing queues of the region's vhost whose definition `meldpunt declare` would change: name ->
    (present arguments, wanted arguments, consuming service). `queues`: the management API's list, if read."""
    from shared.messaging.management import ManagementApi, q, vhost_of

    if queues is None:
        api = ManagementApi(settings.rabbit_api_uri, timeout=10)
        queues = api.call("GET", f"queues/{q(vhost_of(settings.amqp_uri))}?columns=name,arguments").json()
    present = {item["name"]: item.get("arguments") or {} for item in queues}
    return {name: (present[name], wanted, service)
            for name, (wanted, service) in expected_queues(len(settings.retry_delays)).items()
            if name in present and differs(present[name], wanted)}
