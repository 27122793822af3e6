"""The API keys an intake process remembers (auth.VerifiedKeys, 7853fe8, issue 25) reviewed as an attacker would:
a key revoked with `meldpunt apikey revoke` is refused on its very next report, an Idempotency-Key replay
included, and nothing is stored; a flood of unknown keys or of a good key's id with a wrong secret is never
remembered and never has its body parsed (docs/security.md#api-keys-checked-in-the-requests-own-transaction)."""
import secrets
import uuid

from shared.service import KnownKeys
from tests.support import Hub, cli, incident_body, query


def _known_keys(container):
    return next(p for p in container.dependencies if isinstance(p, KnownKeys)).keys


def _stored(hub, code):
    store = hub.case_store(code)
    return (query(store, "SELECT count(*) AS n FROM intake.incidents")[0]["n"],
            query(store, "SELECT count(*) AS n FROM hub.outbox")[0]["n"])


def test_a_key_revoked_with_the_cli_is_refused_on_its_very_next_report(settings, hub_env, start_services):
    intake = start_services("intake")["intake"]
    hub = Hub(settings)
    code = settings.region.codes[0]
    key = hub.key(code)
    assert hub.report(key).status_code == 201
    first = hub.report(key, idempotency_key="again-1")
    assert first.status_code == 201
    assert len(_known_keys(intake)) == 1  # remembered: the next report is read before its key
    before = _stored(hub, code)
    assert cli(hub_env, "apikey", "revoke", code, key.split(".")[1]).returncode == 0
    refused = hub.report(key)
    assert refused.status_code == 401, refused.text
    assert len(_known_keys(intake)) == 0  # forgotten
    # the first answer of an Idempotency-Key is not given again to a revoked key either
    assert hub.report(key, idempotency_key="again-1").status_code == 401
    assert hub.report(key).status_code == 401
    assert _stored(hub, code) == before


def test_a_flood_of_unknown_keys_is_never_remembered_nor_its_bodies_read(settings, start_services, monkeypatch):
    """Read: parsed as the report (api_requests.read_json). The bytes of any body up to MELDPUNT_MAX_BODY_BYTES
    are taken off the socket by the server for every request, whoever sends it (docs/security.md, HTTP limits)."""
    from services.intake import api_requests

    parsed = []
    read_json = api_requests.read_json
    monkeypatch.setattr(api_requests, "read_json", lambda request, *a, **k: parsed.append(
        request.headers.get("Authorization")) or read_json(request, *a, **k))
    intake = start_services("intake")["intake"]
    hub = Hub(settings)
    code = settings.region.codes[0]
    key = hub.key(code)
    assert hub.report(key).status_code == 201
    known = _known_keys(intake)
    assert len(known) == 1
    good_id = key.split(".")[1]
    strangers = [f"{code}.{uuid.uuid4().hex[:12]}.{secrets.token_urlsafe(32)}" for _ in range(30)]
    strangers += [f"{code}.{good_id}.{secrets.token_urlsafe(32)}" for _ in range(10)]  # the good id, another secret
    strangers += [f"{key[:-1]}{'A' if key[-1] != 'A' else 'B'}", key.upper(), f"{key}x"]
    before = _stored(hub, code)
    for stranger in strangers:
        assert hub.report(stranger).status_code == 401, stranger
    assert len(known) == 1
    assert len(known) == 1 and _stored(hub, code) == before
    assert parsed == [f"Bearer {key}"]  # the good key's first report only
    assert hub.report(key).status_code == 201  # the good key still works


def test_a_remembered_key_whose_role_changed_is_not_taken_from_memory(settings, start_services):
    """No command changes a key's role, but its row can be changed (by the owner, in SQL): the remembered principal
    must not outlive it. A remembered key whose role was changed in SQL is refused at once (401) and nothing stored;
    its next request takes the full check, which gives the row's role: 403 for a role without incident:create."""
    intake = start_services("intake")["intake"]
    hub = Hub(settings)
    code = settings.region.codes[0]
    key = hub.key(code)
    assert hub.report(key).status_code == 201
    assert len(_known_keys(intake)) == 1
    before = _stored(hub, code)
    query(hub.case_store(code), "UPDATE hub.api_keys SET role = 'analyst' WHERE key_id = %s", (key.split(".")[1],))
    assert hub.report(key).status_code == 401  # read again in the incident's transaction: not as remembered
    assert len(_known_keys(intake)) == 0
    assert hub.report(key).status_code == 403
    assert _stored(hub, code) == before
