"""The zaaksysteem service's use cases as plain functions: a case's event becomes a delivery in the outbox of
deliveries (same unit of work as the inbox entry), and the deliverer hands due deliveries to the
municipality's zaaksysteem, logging each attempt. The nameko shell, the CLI and the tests call these."""
from __future__ import annotations

from shared.disclosures import Disclosure

from services.zaaksysteem import domain, options as zs_options, store
from services.zaaksysteem.zgw import DeliveryFailed, ZakenClient


def on_event(event, uow, options: dict) -> bool:
    """Record what the event asks of the case's zaak; False when the municipality has no zaaksysteem, the
    event asks nothing, or the case had that step already."""
    config = zs_options.of(options, event.municipality)
    step = domain.step_of(event.event_type)
    if config is None or step is None:
        return False
    name, outcome = step
    shared = domain.shared_values(event.payload, config["shared_fields"]) if name == "aanmaken" else {}
    return store.add_delivery(uow, event.case_id, name, outcome, shared, event.occurred_at)


def deliver_due(open_uow, code: str, options: dict, now, client_factory=ZakenClient) -> dict:
    """Hand the municipality's due deliveries to its zaaksysteem, one short transaction each (the
    zaaksysteem is never called with a transaction open on our side longer than that delivery's).
    Returns counts {delivered, failed}."""
    config = zs_options.of(options, code)
    counts = {"delivered": 0, "failed": 0}
    if config is None:
        return counts
    client = client_factory(config)
    while True:
        with open_uow() as uow:
            due = store.claim_due(uow, now, limit=1)
            if not due:
                return counts
            row = due[0]
            try:
                detail = _deliver(client, uow, row, config, code)
            except DeliveryFailed as exc:
                wait = domain.backoff(row["attempts"] + 1, options["first_delay_seconds"], options["max_delay_seconds"])
                store.failed(uow, row["delivery_id"], now, str(exc), wait)
                counts["failed"] += 1
                continue
            store.delivered(uow, row["delivery_id"], now, detail)
            counts["delivered"] += 1


def _deliver(client, uow, row: dict, config: dict, code: str) -> str:
    case_id = str(row["case_id"])
    if row["step"] == "aanmaken":
        zaak_url = client.ensure_zaak(case_id, domain.day_of(row["happened_at"]), row["shared"] or {},
                                      retry=row["attempts"] > 0)
        store.zaak_made(uow, row["case_id"], zaak_url)
        client.set_status(zaak_url, "ontvangen", row["happened_at"])
        if row["shared"]:
            uow.disclose(Disclosure(
                case_id=row["case_id"], channel="zgw_export", recipient_kind="partner",
                recipient=f"zaaksysteem:{code}", fields=tuple(sorted(row["shared"])), legal_basis="public_task",
                purpose="zaak in the municipality's zaaksysteem", delivery_id=row["delivery_id"]))
        return f"zaak {zaak_url}"
    if row["step"] == "beoordeeld":
        return f"status {client.set_status(row['zaak_url'], 'beoordeeld', row['happened_at'])}"
    client.close(row["zaak_url"], row["outcome"], row["happened_at"], retry=row["attempts"] > 0)
    return f"resultaat {row['outcome']}, zaak closed"
