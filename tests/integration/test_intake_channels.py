"""Signed municipality channels, evidence upload, staff registration and the OpenAPI document, through the real
broker and case stores."""
import json
import time
import uuid

import pytest
import requests

from services.intake import openapi
from shared import signatures
from shared.config import REPO_ROOT
from tests.support import Hub, case_store_uow, cli, incident_body, query, wait_for

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


@pytest.fixture
def intake(settings, start_services):
    start_services("intake")
    return Hub(settings)


def cases(hub, code):
    return query(hub.case_store(code), "SELECT count(*) AS n FROM intake.incidents")[0]["n"]


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


# ---------------------------------------------------------------- signatures

@pytest.fixture
def signing_key(intake, hub_env):
    """(key, signing secret) of a municipality channel that must sign, made with `meldpunt apikey sign`."""
    code = intake.region.codes[0]
    key = intake.key(code)
    done = cli(hub_env, "apikey", "sign", code, key.split(".")[1])
    assert done.returncode == 0, done.stderr
    return key, done.stdout.strip().splitlines()[-1]


def signed_post(hub, key, secret, body: bytes, timestamp=None, signature=None, **headers):
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    return requests.post(hub.url("intake", "/api/v1/incidents"), data=body, timeout=10, headers={
        **bearer(key), "Content-Type": "application/json", signatures.TIMESTAMP_HEADER: timestamp,
        signatures.SIGNATURE_HEADER: signature or signatures.sign(secret, timestamp, "POST", "/api/v1/incidents", "",
                                                                  body), **headers})


def test_a_good_signature_is_accepted(intake, signing_key):
    key, secret = signing_key
    code = intake.region.codes[0]
    response = signed_post(intake, key, secret, json.dumps(incident_body()).encode())
    assert response.status_code == 201, response.text
    case_id = response.json()["case_id"]
    wait_for(lambda: query(intake.case_store(code), "SELECT 1 FROM hub.outbox WHERE event_type = "
                           "'incident_reported' AND envelope->>'case_id' = %s", (case_id,)), what="event")
    # a GET by the same key is signed too (over an empty body)
    ts = str(int(time.time()))
    shown = requests.get(intake.url("intake", f"/api/v1/incidents/{case_id}"), timeout=10, headers={
        **bearer(key), signatures.TIMESTAMP_HEADER: ts,
        signatures.SIGNATURE_HEADER: signatures.sign(secret, ts, "GET", f"/api/v1/incidents/{case_id}", "", b"")})
    assert shown.status_code == 200 and shown.json()["channel"] == "api"


@pytest.mark.parametrize("case, header", [
    ("wrong", signatures.SIGNATURE_HEADER),
    ("expired", signatures.TIMESTAMP_HEADER),
    ("missing", signatures.SIGNATURE_HEADER),
    ("tampered", signatures.SIGNATURE_HEADER),
])
def test_a_bad_signature_is_401_naming_the_header_and_stores_nothing(intake, signing_key, case, header):
    key, secret = signing_key
    code = intake.region.codes[0]
    body = json.dumps(incident_body()).encode()
    before = cases(intake, code)
    if case == "wrong":
        response = signed_post(intake, key, "not-the-secret", body)
    elif case == "expired":
        response = signed_post(intake, key, secret, body, timestamp=str(int(time.time()) - 3600))
    elif case == "missing":
        response = requests.post(intake.url("intake", "/api/v1/incidents"), data=body, timeout=10, headers={
            **bearer(key), "Content-Type": "application/json", signatures.TIMESTAMP_HEADER: str(int(time.time()))})
    else:  # signed one body, sent another
        ts = str(int(time.time()))
        response = signed_post(intake, key, secret, body.replace(b"balie", b"bAlie"), timestamp=ts,
                               signature=signatures.sign(secret, ts, "POST", "/api/v1/incidents", "", body))
    assert response.status_code == 401, response.text
    problem = response.json()
    assert response.headers["Content-Type"] == "application/problem+json"
    assert problem["detail"] == signatures.DETAIL["en"]
    assert [p["name"] for p in problem["invalid-params"]] == [header]
    assert cases(intake, code) == before


def test_a_replayed_signature_is_refused(intake, signing_key):
    key, secret = signing_key
    code = intake.region.codes[0]
    body = json.dumps(incident_body()).encode()
    ts = str(int(time.time()))
    assert signed_post(intake, key, secret, body, timestamp=ts).status_code == 201
    before = cases(intake, code)
    again = signed_post(intake, key, secret, body, timestamp=ts, **{"Accept-Language": "nl"})
    assert again.status_code == 401
    assert again.json()["detail"] == signatures.DETAIL["nl"]
    assert again.json()["invalid-params"] == [{"name": signatures.SIGNATURE_HEADER,
                                               "reason": signatures.REASONS["replayed"]["nl"]}]
    assert cases(intake, code) == before
    # signed anew (a later timestamp), the same body goes through
    assert signed_post(intake, key, secret, body, timestamp=str(int(ts) + 1)).status_code == 201


def test_keys_without_a_signing_secret_need_no_signature_and_unsign_lifts_it(intake, signing_key, hub_env):
    code = intake.region.codes[0]
    assert intake.report(intake.key(code)).status_code == 201
    key, _ = signing_key
    assert intake.report(key).status_code == 401
    assert cli(hub_env, "apikey", "unsign", code, key.split(".")[1]).returncode == 0
    assert intake.report(key).status_code == 201
    assert query(intake.case_store(code), "SELECT count(*) AS n FROM hub.signing_secrets WHERE key_id = %s",
                 (key.split(".")[1],))[0]["n"] == 0


def test_sign_refuses_an_unknown_key(intake, hub_env):
    done = cli(hub_env, "apikey", "sign", intake.region.codes[0], "000000000000")
    assert done.returncode == 2 and "no active key 000000000000" in done.stderr


def test_the_signing_secret_is_stored_encrypted(intake, signing_key):
    _, secret = signing_key
    stored = query(intake.case_store(intake.region.codes[0]), "SELECT secret FROM hub.signing_secrets")
    assert stored and all(secret.encode() not in bytes(row["secret"]) for row in stored)
    assert all(bytes(row["secret"]).startswith(b"MH") for row in stored)


# ---------------------------------------------------------------- evidence

def upload(hub, key, case_id, content, filename="foto.png", lang=None, **kwargs):
    headers = {**bearer(key), "Content-Type": "application/octet-stream",
               "Content-Disposition": f'attachment; filename="{filename}"'}
    if lang:
        headers["Accept-Language"] = lang
    return requests.post(hub.url("intake", f"/api/v1/incidents/{case_id}/evidence"), data=content,
                         headers=headers, timeout=10, **kwargs)


def evidence_rows(hub, code, case_id):
    """The case's evidence as intake's store reads it (the file name is encrypted in the table)."""
    from services.intake import store

    with case_store_uow(hub.settings, code) as uow:
        return store.list_evidence(uow, case_id)


def updated_events(hub, code, case_id):
    return query(hub.case_store(code), "SELECT envelope FROM hub.outbox WHERE event_type = 'incident_updated' "
                                       "AND envelope->>'case_id' = %s", (case_id,))


def test_evidence_upload_is_stored_in_the_case_store_and_the_event_only_counts_it(intake):
    code = intake.region.codes[0]
    key = intake.key(code)
    case_id = intake.report(key).json()["case_id"]
    response = upload(intake, key, case_id, PNG, "schermafdruk.png")
    assert response.status_code == 201, response.text
    assert response.json()["media_type"] == "image/png" and response.json()["evidence_count"] == 1
    multipart = requests.post(intake.url("intake", f"/api/v1/incidents/{case_id}/evidence"), headers=bearer(key),
                              files={"file": ("brief.pdf", PDF, "application/pdf")}, timeout=10)
    assert multipart.status_code == 201 and multipart.json()["evidence_count"] == 2
    rows = evidence_rows(intake, code, case_id)
    assert [(r["filename"], r["media_type"]) for r in rows] == [("schermafdruk.png", "image/png"),
                                                               ("brief.pdf", "application/pdf")]
    events = wait_for(lambda: len(updated_events(intake, code, case_id)) == 2 and updated_events(intake, code, case_id),
                      what="incident_updated x2")
    payloads = [e["envelope"]["payload"] for e in events]
    assert sorted(p["evidence_count"] for p in payloads) == [1, 2]
    assert all(p["changes"] == ["evidence"] for p in payloads)
    assert "schermafdruk" not in json.dumps(events) and "PNG" not in json.dumps(events)
    shown = requests.get(intake.url("intake", f"/api/v1/incidents/{case_id}"), headers=bearer(key), timeout=10)
    assert [e["media_type"] for e in shown.json()["evidence"]] == ["image/png", "application/pdf"]


def test_oversized_evidence_is_413_and_nothing_is_stored(intake, settings):
    code = intake.region.codes[0]
    key = intake.key(code)
    case_id = intake.report(key).json()["case_id"]
    limit = settings.region.options.get("intake", {}).get("max_file_bytes", 5 * 1024 * 1024)
    response = upload(intake, key, case_id, PNG + b"\x00" * limit, lang="nl")
    assert response.status_code == 413
    assert response.json()["invalid-params"][0]["name"] == "file"
    assert "te groot" in response.json()["invalid-params"][0]["reason"]
    assert evidence_rows(intake, code, case_id) == []


def test_evidence_type_is_checked_by_content_not_name(intake):
    code = intake.region.codes[0]
    key = intake.key(code)
    case_id = intake.report(key).json()["case_id"]
    response = upload(intake, key, case_id, EXE, "factuur.pdf")
    assert response.status_code == 415
    assert response.json()["invalid-params"] == [{"name": "file", "reason":
                                                  "We cannot accept this kind of file: only photos, PDF, text or e-mail."}]
    nl = upload(intake, key, case_id, EXE, "factuur.pdf", lang="nl")
    assert nl.json()["invalid-params"][0]["reason"].startswith("Dit soort bestand")
    assert evidence_rows(intake, code, case_id) == []


def test_another_municipalitys_key_gets_404(intake):
    first, second = intake.region.codes[:2]
    case_id = intake.report(intake.key(first)).json()["case_id"]
    response = upload(intake, intake.key(second), case_id, PNG)
    assert response.status_code == 404
    assert upload(intake, intake.key(first), str(uuid.uuid4()), PNG).status_code == 404
    assert upload(intake, intake.key(first, "analyst"), case_id, PNG).status_code == 403
    assert evidence_rows(intake, first, case_id) == []


# ---------------------------------------------------------------- staff registration

@pytest.mark.parametrize("channel", ["telefoon", "balie", "brief"])
def test_staff_registration_records_channel_and_staff_member(intake, channel):
    code = intake.region.codes[1]
    key = intake.key(code, "staff")
    response = intake.report(key, incident_body(channel=channel))
    assert response.status_code == 201, response.text
    case_id = response.json()["case_id"]
    row = query(intake.case_store(code), "SELECT channel, received_by FROM intake.incidents WHERE case_id = %s",
                (case_id,))[0]
    assert row["channel"] == channel
    assert row["received_by"].startswith(f"apikey:{key.split('.')[1]} (test, staff)")
    audit = query(intake.case_store(code), "SELECT actor, action, reason FROM hub.audit_log WHERE case_id = %s",
                  (case_id,))
    assert {"actor": row["received_by"], "action": "register", "reason": f"staff: {channel}"} in audit
    event = wait_for(lambda: query(intake.case_store(code), "SELECT envelope FROM hub.outbox WHERE "
                                   "event_type = 'incident_reported' AND envelope->>'case_id' = %s", (case_id,)),
                     what="incident_reported")
    assert event[0]["envelope"]["payload"]["channel"] == channel


def test_staff_without_a_channel_is_told_in_their_language(intake):
    code = intake.region.codes[1]
    before = cases(intake, code)
    response = requests.post(intake.url("intake", "/api/v1/incidents"), json=incident_body(), timeout=10,
                             headers={**bearer(intake.key(code, "staff")), "Accept-Language": "nl"})
    assert response.status_code == 422
    assert response.json()["invalid-params"][0]["name"] == "channel"
    assert "telefoon" in response.json()["invalid-params"][0]["reason"]
    assert response.json()["detail"] == "een of meer velden kloppen niet"
    assert cases(intake, code) == before


# ---------------------------------------------------------------- OpenAPI

def test_the_openapi_document_is_served_and_equals_the_docs_copy(intake):
    response = requests.get(intake.url("intake", "/api/v1/openapi.json"), timeout=10)
    assert response.status_code == 200
    served = response.json()
    assert served["openapi"].startswith("3.")
    assert served == json.loads((REPO_ROOT / openapi.DOCS_COPY).read_text()), \
        "docs/openapi/intake.json is stale: python -m services.intake.openapi > docs/openapi/intake.json"


# ---------------------------------------------------------------- the caller's language

def test_refusals_name_the_field_in_dutch_when_asked(intake):
    code = intake.region.codes[0]
    url = intake.url("intake", "/api/v1/incidents")
    nl = {"Accept-Language": "nl"}
    unknown = requests.post(url, json=incident_body(), headers={**nl, "Authorization": "Bearer nope"}, timeout=10)
    assert unknown.status_code == 401
    assert unknown.json()["invalid-params"] == [{"name": "Authorization", "reason": "onbekende API-sleutel"}]
    forbidden = requests.post(url, json=incident_body(), headers={**nl, **bearer(intake.key(code, "analyst"))},
                              timeout=10)
    assert forbidden.status_code == 403 and "heeft het recht incident:create niet" in forbidden.json()["detail"]
    key = intake.key(code)
    as_text = requests.post(url, data="hallo", headers={**nl, **bearer(key), "Content-Type": "text/plain"},
                            timeout=10)
    assert as_text.status_code == 415
    assert as_text.json()["invalid-params"] == [{"name": "Content-Type",
                                                 "reason": "stuur de inhoud als application/json"}]
    broken = requests.post(url, data="{kapot", headers={**bearer(key), "Content-Type": "application/json"},
                           timeout=10)
    assert broken.status_code == 400
    assert broken.json()["invalid-params"] == [{"name": "body", "reason": "the body is not valid JSON"}]
    fields = requests.post(url, json=incident_body(occurred_at="gisteren", location_type="kelder"),
                           headers={**nl, **bearer(key)}, timeout=10)
    assert fields.status_code == 422
    assert {p["name"]: p["reason"] for p in fields.json()["invalid-params"]} == {
        "occurred_at": "Vul een geldige datum in (jjjj-mm-dd).", "location_type": "Kies een van de opties."}
