"""Partner subscribers in the running hub (docs/partners.md): a triage decision for the RIEC becomes a signal,
and the signal reaches the RIEC's webhook; a referral to help reaches Slachtofferhulp's; each as a signed
CloudEvent with only its allowed fields, once, with the ledger saying delivered; a delivery that failed and is
replayed from the command line goes out at once. The hub is the package's (conftest.py); its signals service
delivers on its own timer."""
from __future__ import annotations

import uuid

from services.signals import handlers, store
from shared import webhooks
from shared.events import dump_event, new_event
from tests import support
from tests.support import publish_raw, wait_for
from tests.unit.samples import PAYLOADS, triaged
from tests.webhook_receiver import WebhookReceiver

MIDDELBURG = "GM0687"


class PartnerEndpoints(WebhookReceiver):
    """Partners' webhook endpoints on a free port, one path per partner (`/riec`): a POST signed with that
    path's key is kept in `received[path]` and answered 204; a bad signature 401; while `status` is not 204 (an
    outage played by the test) every POST gets that status and nothing is kept."""

    def __init__(self, keys: dict[str, bytes], status: int = 204):
        self.keys, self.status = keys, status
        self.received: dict[str, list] = {who: [] for who in keys}
        super().__init__()

    def answer(self, request):
        if self.status != 204:
            return self.status
        who = request.path.strip("/")
        ok = who in self.keys and webhooks.verify(self.keys[who], request.headers[webhooks.TIMESTAMP], request.body,
                                                  request.headers[webhooks.SIGNATURE])
        if ok:
            self.received[who].append(request.json())
        return 204 if ok else 401


def test_the_riec_and_slachtofferhulp_get_what_they_are_allowed(signals_hub):
    hub = signals_hub
    keys = {"riec": uuid.uuid4().hex.encode(), "shn": uuid.uuid4().hex.encode()}
    partner = PartnerEndpoints(keys)
    received, base = partner.received, partner.base
    names = {"riec": f"riec-{uuid.uuid4().hex[:6]}", "shn": f"shn-{uuid.uuid4().hex[:6]}"}
    common = {"transport": "webhook", "consent_version": None, "max_attempts": 5, "first_delay_seconds": 0.2,
              "max_delay_seconds": 1.0, "timeout_seconds": 5.0}
    try:
        with support.case_store_uow(hub.settings, MIDDELBURG) as uow:
            handlers.add_subscriber(uow, {**common, "name": names["riec"], "url": f"{base}/riec",
                                          "events": ["signal_raised[kind=riec_signal]"], "fields": ["kind", "due_at"],
                                          "legal_basis": "public_task", "purpose": "RIEC: ondermijning"}, keys["riec"])
            handlers.add_subscriber(uow, {**common, "name": names["shn"], "url": f"{base}/shn",
                                          "events": ["aftercare_referred"], "fields": ["plan_id"],
                                          "legal_basis": "consent", "consent_version": "intake-consent-2026-11",
                                          "purpose": "victim support"}, keys["shn"])
        case_id = uuid.uuid4()
        decided = new_event("incident_triaged", MIDDELBURG, case_id,
                            triaged(decisions=["aftercare", "riec_signal"], categories=["ondermijning"]))
        referred = new_event("aftercare_referred", MIDDELBURG, case_id, PAYLOADS["aftercare_referred"]())
        for event in (decided, referred):
            publish_raw(hub.settings.amqp_uri, f"{event.producer}.events", event.event_type, dump_event(event))

        wait_for(lambda: received["riec"] and received["shn"], what="both partners received their event")
        (signal,) = received["riec"]
        assert signal["type"] == "nl.meldpunthub.signal.raised" and set(signal["data"]) == {"kind", "due_at"}
        assert signal["data"]["kind"] == "riec_signal"
        (referral,) = received["shn"]
        assert referral["id"] == str(referred.event_id) and referral["data"] == {
            "plan_id": str(PAYLOADS["aftercare_referred"]()["plan_id"])}

        def ledger_delivered():
            with support.case_store_uow(hub.settings, MIDDELBURG) as uow:
                rows = [r for r in uow.disclosed(case_id) if r["recipient_kind"] == "partner"]
            return rows if len(rows) == 2 and {r["status"] for r in rows} == {"delivered"} else None
        rows = wait_for(ledger_delivered, what="the ledger says both deliveries were delivered")
        assert {r["recipient"]: r["fields"] for r in rows} == {names["riec"]: ["due_at", "kind"],
                                                               names["shn"]: ["plan_id"]}
    finally:
        with support.case_store_uow(hub.settings, MIDDELBURG) as uow:
            for name in names.values():
                store.remove_subscriber(uow, name)
        partner.close()


def test_a_replay_from_the_command_line_is_sent_by_the_running_service_at_once(signals_hub):
    """`meldpunt subscriber replay` runs in a process of its own: the running signals service learns of the
    replay from the event it records (partner_delivery_replayed), not at its hourly look at the store."""
    hub = signals_hub
    key = uuid.uuid4().hex.encode()
    partner = PartnerEndpoints({"riec": key}, status=503)
    received = partner.received["riec"]
    name = f"riec-{uuid.uuid4().hex[:6]}"
    try:
        with support.case_store_uow(hub.settings, MIDDELBURG) as uow:
            handlers.add_subscriber(uow, {
                "name": name, "transport": "webhook", "url": f"{partner.base}/riec",
                "events": ["signal_raised[kind=riec_signal]"], "fields": ["kind"], "legal_basis": "public_task",
                "purpose": "RIEC: ondermijning", "consent_version": None, "max_attempts": 1,
                "first_delay_seconds": 0.2, "max_delay_seconds": 1.0, "timeout_seconds": 5.0}, key)
        decided = new_event("incident_triaged", MIDDELBURG, uuid.uuid4(),
                            triaged(decisions=["riec_signal"], categories=["ondermijning"]))
        publish_raw(hub.settings.amqp_uri, "triage.events", "incident_triaged", dump_event(decided))

        def failed():
            with support.case_store_uow(hub.settings, MIDDELBURG) as uow:
                return store.partner_deliveries(uow, name, "failed")
        (delivery,) = wait_for(failed, what="the one attempt failed and the delivery gave up")
        partner.status = 204  # the partner is back

        replayed = support.meldpunt(hub.env, "subscriber", "replay", "--failed", name)
        assert replayed.returncode == 0, replayed.stderr
        assert f"1 failed deliveries of {name} are queued" in replayed.stdout and replayed.stderr == ""

        # the service's next look at Middelburg's store would be an hour away: a few seconds is the wake
        (sent,) = wait_for(lambda: received, timeout=60, what="the running service sent the replayed delivery")
        assert sent["id"] == str(delivery["event_id"]) and sent["data"] == {"kind": "riec_signal"}

        def delivered():
            with support.case_store_uow(hub.settings, MIDDELBURG) as uow:
                (row,) = store.partner_deliveries(uow, name)
            return row if row["status"] == "delivered" else None
        row = wait_for(delivered, what="the log says delivered")
        assert [a["result"] for a in row["log"]] == ["failed", "replayed", "delivered"]
    finally:
        with support.case_store_uow(hub.settings, MIDDELBURG) as uow:
            store.remove_subscriber(uow, name)
        partner.close()
