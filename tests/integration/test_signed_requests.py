"""Signed requests everywhere (issue 21, item 11): a key with a signing secret must sign every request to every
service — over method, path, query, timestamp and body — or it is refused with 401, on each service the same
way (the check is HubService's, shared/service.py). Before, only intake checked, and only timestamp and body."""
from __future__ import annotations

import time

import pytest
import requests

from shared import auth, signatures
from shared.names import SERVICES
from tests.support import Hub, case_store_uow

PATH = "/api/v1/dead-letters"  # every service has it, guarded by operations:read


@pytest.fixture
def everything(settings, start_services):
    start_services(*SERVICES)
    return Hub(settings)


@pytest.fixture
def signing_operator(everything):
    """An operator's key with a signing secret (as `meldpunt apikey sign` gives it)."""
    code = everything.region.codes[0]
    key = everything.key(code, "operator")
    secret = signatures.new_secret()
    with case_store_uow(everything.settings, code) as uow:
        auth.set_signing_secret(uow, key.split(".")[1], secret)
    return key, secret


def _get(hub, service, key, secret=None, *, path=PATH, query="", signed_path=None, signed_query=None,
         signed_method="GET", timestamp=None):
    headers = {"Authorization": f"Bearer {key}"}
    if secret is not None:
        ts = str(int(time.time())) if timestamp is None else timestamp
        headers[signatures.TIMESTAMP_HEADER] = ts
        headers[signatures.SIGNATURE_HEADER] = signatures.sign(
            secret, ts, signed_method, signed_path or path, query if signed_query is None else signed_query, b"")
    return requests.get(hub.url(service, path + (f"?{query}" if query else "")), headers=headers, timeout=10)


@pytest.mark.parametrize("service", SERVICES)
def test_a_signing_key_is_refused_unsigned_and_accepted_signed_on_every_service(everything, signing_operator,
                                                                                service):
    key, secret = signing_operator
    unsigned = _get(everything, service, key)
    assert unsigned.status_code == 401, (service, unsigned.text)
    assert unsigned.headers["Content-Type"] == "application/problem+json"
    assert [p["name"] for p in unsigned.json()["invalid-params"]] == [signatures.TIMESTAMP_HEADER]
    assert _get(everything, service, key, secret).status_code == 200
    # a key without a signing secret needs none
    plain = everything.key(everything.region.codes[0], "operator")
    assert _get(everything, service, plain).status_code == 200


@pytest.mark.parametrize("service", SERVICES)
def test_a_signature_covers_method_path_query_and_is_good_once(everything, signing_operator, service):
    key, secret = signing_operator
    refused = [
        _get(everything, service, key, secret, signed_method="POST"),                      # another method
        _get(everything, service, key, secret, signed_path="/api/v1/dead-letters/x"),      # another path
        _get(everything, service, key, secret, query="limit=1", signed_query=""),          # query added
        _get(everything, service, key, secret, timestamp=str(int(time.time()) - 3600)),    # too old
    ]
    assert [r.status_code for r in refused] == [401, 401, 401, 401]
    assert [r.json()["invalid-params"][0]["name"] for r in refused] == [signatures.SIGNATURE_HEADER] * 3 + [
        signatures.TIMESTAMP_HEADER]
    ts = str(int(time.time()))
    assert _get(everything, service, key, secret, query="limit=1", timestamp=ts).status_code == 200
    again = _get(everything, service, key, secret, query="limit=1", timestamp=ts)
    assert again.status_code == 401
    assert again.json()["invalid-params"][0]["reason"] == signatures.REASONS["replayed"]["en"]
