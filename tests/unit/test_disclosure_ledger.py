"""The disclosure ledger's rules without a database: rows name fields, never values; a row on consent
names the consent text's version; the police liaison's handlers write one row per way out, pending until
confirmed, and a withdrawal writes what the police received into the referral's history (issue 20)."""
from __future__ import annotations

import pytest

from shared import disclosures
from shared.disclosures import Disclosure, field_names

from tests.unit.test_decisions_carried_out import referral, withdraw
from tests.unit.test_incident_story import CODE, reported
from tests.fakes import InMemoryHub


def test_field_names_are_dotted_names_and_leave_out_what_is_empty():
    body = {"description": "Kanarie", "aangever": {"name": "X", "home_address": None, "phone": ""},
            "perpetrators": [], "ela": {}, "occurred_at": "2026-11-20"}
    assert field_names(body) == ["aangever.name", "aangever.phone", "description", "occurred_at"]


@pytest.mark.parametrize("change, message", [
    ({"channel": "fax"}, "channel"), ({"legal_basis": "because"}, "legal_basis"),
    ({"consent_version": None}, "consent text"), ({"fields": ()}, "at least one field"),
    ({"status": "sent"}, "status")])
def test_a_row_that_cannot_say_what_how_and_why_is_refused(change, message):
    row = dict(case_id="c", channel="amqp", recipient_kind="police_unit", recipient="zwb-walcheren",
               fields=("categories",), legal_basis="consent", purpose="police_referral",
               consent_version=disclosures.CONSENT_TEXTS)
    Disclosure(**row)
    with pytest.raises(ValueError, match=message):
        Disclosure(**{**row, **change})


def test_a_referral_is_one_pending_amqp_row_and_its_withdrawal_tells_the_history_what_left():
    hub = InMemoryHub()
    case_id = reported(hub)
    rows = hub.databases[CODE].disclosures
    assert [(r["channel"], r["status"], r["recipient"]) for r in rows] == [("amqp", "pending", "zwb-walcheren")]
    assert rows[0]["legal_basis"] == "consent" and rows[0]["consent_version"] == disclosures.CONSENT_TEXTS
    assert "categories" in rows[0]["fields"] and "description" not in rows[0]["fields"]
    for row in rows:  # names only: no value of the case is a field name
        assert all("." in name or name.isidentifier() for name in row["fields"])

    withdraw(hub, case_id)
    assert referral(hub)["status"] == "ingetrokken"
    assert [r["channel"] for r in rows] == ["amqp", "amqp"]  # referral_withdrawn left the same way
    steps = [s for s in hub.databases[CODE].rows("police_liaison.referral_steps") if s["actor"] == "hub: ledger"]
    assert len(steps) == 1
    assert "0 of 2 disclosures delivered" in steps[0]["detail"]  # nothing confirmed in memory
