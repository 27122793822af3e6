"""Partner subscribers in the running hub (docs/partners.md): a triage decision for the RIEC becomes a signal,
and the signal reaches the RIEC's webhook; a referral to help reaches Slachtofferhulp's; each as a signed
CloudEvent with only its allowed fields, once, with the ledger saying delivered. The hub is the package's
(conftest.py); its signals service delivers on its own timer."""
from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from services.signals import handlers, store
from shared import webhooks
from shared.events import dump_event, new_event
from tests import support
from tests.support import publish_raw, wait_for
from tests.unit.samples import PAYLOADS, triaged

MIDDELBURG = "GM0687"


def test_the_riec_and_slachtofferhulp_get_what_they_are_allowed(signals_hub):
    hub = signals_hub
    keys = {"riec": uuid.uuid4().hex.encode(), "shn": uuid.uuid4().hex.encode()}
    received: dict[str, list] = {"riec": [], "shn": []}

    class Partner(BaseHTTPRequestHandler):
        def do_POST(self):
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            who = self.path.strip("/")
            ok = webhooks.verify(keys[who], self.headers[webhooks.TIMESTAMP], raw, self.headers[webhooks.SIGNATURE])
            if ok:
                received[who].append(json.loads(raw))
            self.send_response(204 if ok else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Partner)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
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
        server.shutdown()
        server.server_close()
