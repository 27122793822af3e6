"""Scale-out: several instances of a service share its queue as competing consumers, and
together handle every event exactly once."""
import uuid
from datetime import datetime, timezone
from urllib.parse import quote

import requests

from shared.events import dump_event, new_event
from tests.support import publish_raw, query, wait_for

QUEUE = "evt-intake-incident_reported--triage.on_incident_reported"


def test_two_triage_instances_handle_every_event_once(settings, start_services, rabbit_config, request):
    start_services("triage")
    start_services("triage")  # a second instance of the same service, on the same queue
    api = request.config.getoption("RABBIT_API_URI")
    vhost = quote(rabbit_config["vhost"], safe="")
    consumers = wait_for(lambda: (q := requests.get(f"{api}/api/queues/{vhost}/{QUEUE}", timeout=5).json())
                         .get("consumers") == 2 and q, what="two consumers on the triage queue")
    assert consumers["consumers"] == 2

    code = settings.region.codes[0]
    dsn = settings.region.municipality(code).case_store_dsn
    events = [new_event("incident_reported", code, uuid.uuid4(), {
        "channel": "api", "occurred_at": datetime(2026, 11, 20, 9, tzinfo=timezone.utc), "location_type": "balie",
        "target_role": "ambtenaar", "reported_categories": ["bedreiging"], "anonymous": True,
        "perpetrator_count": 0, "consent": {"contact": False, "police_referral": False,
                                            "inform_manager": False, "employer_reports": False}})
        for _ in range(200)]
    for event in events:
        publish_raw(settings.amqp_uri, "intake.events", "incident_reported", dump_event(event))
    cases = [str(e.case_id) for e in events]

    wait_for(lambda: query(dsn, "SELECT count(*) AS n FROM triage.results WHERE case_id::text = ANY(%s)",
                           (cases,))[0]["n"] == len(cases), timeout=60, what="all 200 triaged")
    per_case = query(dsn, "SELECT envelope->>'case_id' AS case_id, count(*) AS n FROM hub.outbox "
                          "WHERE event_type = 'incident_triaged' AND envelope->>'case_id' = ANY(%s) "
                          "GROUP BY 1", (cases,))
    assert len(per_case) == len(cases) and all(r["n"] == 1 for r in per_case)
