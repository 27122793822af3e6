"""Metrics on the operator port only, with bounded labels (issue 21, item 8), against the running services:
GET /metrics on the public port (the one the public form is on) is 404; on the operator port it answers,
and after a report through the API, the form and the follow-up page, every label value of every hub metric
is one `shared.metrics.LABEL_VALUES` allows (the region's own municipalities and police units; URL templates,
never a case id)."""
from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families

from shared import metrics
from tests.integration.test_access_control import ENTRYPOINTS, PAGES
from tests.support import incident_body

STARTED = ("intake", "triage", "police_liaison", "aftercare", "statistics")  # what the `hub` fixture starts


def test_metrics_are_served_on_the_operator_port_only_with_bounded_labels(hub):
    code = hub.region.codes[0]
    staff = hub.key(code, "staff")
    case_id = hub.report(staff, incident_body(channel="balie")).json()["case_id"]
    requests.get(hub.url("intake", f"/api/v1/incidents/{case_id}"), headers={"Authorization": f"Bearer {staff}"},
                 timeout=10)
    requests.get(hub.url("intake", f"/meld/{code}/volg"), timeout=10)
    requests.post(hub.url("intake", f"/meld/{code}/volg"), data={"receipt_code": "X"}, timeout=10)
    requests.get(hub.url("intake", f"/api/v1/incidents/{case_id}/nowhere"), timeout=10)

    # the metrics registry is the test process's: a workbench page an earlier file in the same job opened is there too
    routes = {url for _, _, url, _ in ENTRYPOINTS + PAGES}
    seen = 0
    for service in STARTED:
        public = requests.get(hub.public_url(service, "/metrics"), timeout=10)
        assert public.status_code == 404, service
        assert public.headers["Content-Type"] == "application/problem+json"
        answer = requests.get(hub.operator_url(service, "/metrics"), timeout=10)
        assert answer.status_code == 200, service
        # the operator port serves nothing else
        assert requests.get(hub.operator_url(service, "/health"), timeout=10).status_code == 404
        for family in text_string_to_metric_families(answer.text):
            if not family.name.startswith("meldpunt_"):
                continue
            for sample in family.samples:
                for label, value in sample.labels.items():
                    if label == "le":  # a histogram's bucket bound
                        continue
                    assert metrics.allowed(label, value, hub.region), (service, sample.name, label, value)
                    if label == "route":
                        assert value in routes, value
                    seen += 1
    assert seen > 50
    assert case_id not in "".join(requests.get(hub.operator_url(s, "/metrics"), timeout=10).text for s in STARTED)
