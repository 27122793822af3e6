"""The catalogue's consumers are exactly the services that have a handler for each event:
an event a consumer is listed for but does not handle would wait unrouted in the outbox."""
from shared.events import CATALOGUE
from hub.registry import all_subscriptions


def test_every_listed_consumer_handles_the_event_and_no_other_does():
    handled = {(s.source, s.event_type, s.service) for s in all_subscriptions()}
    listed = {(spec.producer, name, consumer) for name, spec in CATALOGUE.items() for consumer in spec.consumers}
    assert handled == listed


def test_statistics_folds_every_event():
    """Every event but the wake of a service's own instances (`wakes_producer`), which changes no case."""
    folded = {s.event_type for s in all_subscriptions() if s.service == "statistics"}
    assert folded == {name for name, spec in CATALOGUE.items() if not spec.wakes_producer}
