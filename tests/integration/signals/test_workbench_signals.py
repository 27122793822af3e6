"""The workbench's signals page: a person signed in through the real OpenID Connect provider sees what
their role must act on, takes it, handles it with an outcome, and everyone sees who handled it and when;
an aftercare worker does not see the staff's signals."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone

import pytest

from shared.events import dump_event, new_event

from tests.oidc import Browser
from tests.support import publish_raw, query, wait_for

MIDDELBURG = "GM0687"


def signed_in(wb, username):
    browser = Browser()
    landed = browser.sign_in(wb, MIDDELBURG, username, stop_before_callback=True)
    assert browser.get(landed.stop_url).status_code == 303
    return browser


def test_a_coordinator_takes_and_handles_a_signal_and_everyone_sees_who_and_when(signals_hub):
    if not signals_hub.has_provider:
        pytest.skip("no test identity provider here (tests/oidc.py)")
    hub, wb = signals_hub, signals_hub.workbench
    case_id = uuid.uuid4()
    overdue = new_event("triage_overdue", MIDDELBURG, case_id, {"urgency": "acuut", "due_at": datetime.now(timezone.utc)})
    publish_raw(hub.settings.amqp_uri, "triage.events", "triage_overdue", dump_event(overdue))
    (signal,) = wait_for(lambda: query(hub.case_store(MIDDELBURG), "SELECT signal_id FROM signals.signals "
                                                                   "WHERE case_id = %s", (str(case_id),)),
                         what="the signal")
    row_id = f'id="signal-{signal["signal_id"]}"'

    coordinator = signed_in(wb, "coordinator-gm0687")
    page = coordinator.get(wb + "/signalen")
    assert page.status_code == 200 and row_id in page.text and "Acuut" in page.text
    assert 'href="/signalen"' in page.text  # in the menu
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    taken = coordinator.post(f"{wb}/signalen/{signal['signal_id']}/oppakken", {"csrf_token": token})
    assert taken.status_code == 303
    assert "Opgepakt door" in coordinator.get(wb + "/signalen").text
    handled = coordinator.post(f"{wb}/signalen/{signal['signal_id']}/afhandelen",
                               {"csrf_token": token, "outcome": "done"})
    assert handled.status_code == 303
    assert row_id not in coordinator.get(wb + "/signalen").text  # no longer active
    done = coordinator.get(wb + "/signalen?toon=handled").text
    row = done[done.index(row_id):done.index("</tr>", done.index(row_id))]
    assert "Gedaan" in row and "door" in row and "<time" in row

    audit = query(hub.case_store(MIDDELBURG), "SELECT actor, action FROM hub.audit_log WHERE case_id = %s ORDER BY id",
                  (str(case_id),))
    assert [a["action"] for a in audit] == ["take", "handle"]
    assert audit[1]["actor"].startswith("person:") and "coordinator-gm0687 (Cora" in audit[1]["actor"]  # a person

    # a forged form (no token) changes nothing; an aftercare worker does not see the staff's signals
    assert coordinator.post(f"{wb}/signalen/{signal['signal_id']}/afhandelen", {"outcome": "done"}).status_code == 403
    worker = signed_in(wb, "nazorg-gm0687")
    assert row_id not in worker.get(wb + "/signalen?toon=all").text
