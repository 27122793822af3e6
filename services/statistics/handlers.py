"""Statistics' use case as a plain function of events and a unit of work on the statistics database.

The nameko entrypoints (service.py) and the tests call it; `store` defaults to the real SQL (store.py),
and tests/fakes.py hands in an in-memory one.
"""
from __future__ import annotations

from services.statistics import domain, store


def fold(events, uow, key: bytes, *, store=store) -> None:
    """Fold a batch of events into the read model in one transaction: each event once (inbox), the
    rows in one order (case_ref) so that concurrent batches cannot deadlock, each marked day once
    (recounted later by store.refresh_dirty). `key`: statistics' own key (shared/keyed.statistics_key)."""
    new = [(event.municipality, domain.case_ref(key, event.case_id), event)
           for event in uow.first_deliveries(events)]
    store.upsert_facts_many(uow, [
        (municipality, ref, domain.facts_from(event), domain.counts_from(event))
        for municipality, ref, event in sorted(new, key=lambda item: item[:2])], mark=True)
