"""The workbench's OpenID Connect client (services/workbench/oidc.py) against the real test provider
(tests/oidc.py), without the hub: a provider answering as another issuer, and a code redeemed after it
expired, are both refused, and an ID token is bound to its sign-in's nonce (test_workbench_sign_in.py
covers the flow through the workbench: MFA, no role, replayed codes, sessions)."""
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from services.workbench import domain, oidc, options
from tests import support
from tests.oidc import SHORT_CLIENT_ID, Browser

ROLES = {"gm0687-meldpunt-coordinatoren": "coordinator"}


def provider(test_provider, client_id="meldpunt-workbench", issuer=None):
    settings = options.ProviderSchema().load({
        "issuer": issuer or test_provider.issuer, "discovery_url": f"{test_provider.issuer}/.well-known/openid-configuration",
        "client_id": client_id, "client_secret_env": "UNUSED", "scopes": ["openid", "profile", "email", "groups"],
        "roles": ROLES, "required_acr": ["urn:meldpunt:mfa"]})
    return oidc.Provider(settings, support.OIDC_CLIENT_SECRET,
                         f"http://127.0.0.1:{support.workbench_port()}/aanmelden/terug")


def to_callback(started, username="coordinator-gm0687"):
    """Sign in at the provider as a browser does, up to its redirect back (not followed)."""
    browser = Browser()
    login = browser.follow(browser.get(started.url))
    answer = browser.post(browser.form_action(login), {"username": username, "password": "demo"})
    back = browser.follow(answer, stop_at=f"http://127.0.0.1:{support.workbench_port()}/aanmelden/terug")
    return back.stop_url


def test_a_provider_answering_as_another_issuer_is_refused(oidc_provider):
    impostor = provider(oidc_provider, issuer=oidc_provider.issuer + "/tenant-of-someone-else")
    with pytest.raises(oidc.SignInRefused) as refused:
        impostor.start()
    assert refused.value.reason == "wrong_issuer"


def test_a_code_redeemed_after_it_expired_is_refused_and_a_fresh_one_signs_in(oidc_provider):
    client = provider(oidc_provider, client_id=SHORT_CLIENT_ID)  # its codes live one second
    started = client.start()
    callback = to_callback(started)
    assert parse_qs(urlsplit(callback).query)["state"] == [started.state]
    time.sleep(2.5)  # past the code's lifetime: what is checked is the provider's refusal, not a duration
    with pytest.raises(oidc.SignInRefused) as refused:
        client.finish(callback, {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()},
                      started.state, started.nonce, started.code_verifier)
    assert refused.value.reason == "code_refused"

    fresh = provider(oidc_provider).start()
    callback = to_callback(fresh)
    claims, id_token = provider(oidc_provider).finish(
        callback, {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}, fresh.state, fresh.nonce,
        fresh.code_verifier)
    assert claims["sub"] == "coordinator-gm0687" and id_token.count(".") == 2
    person = domain.person_from_claims(claims, "GM0687", provider(oidc_provider).options)
    assert person.roles == ("coordinator",) and person.sub == "GM0687/coordinator-gm0687"
    with pytest.raises(oidc.SignInRefused) as wrong_nonce:  # an ID token is bound to its sign-in's nonce
        provider(oidc_provider).verify_id_token(id_token, "another-nonce")
    assert wrong_nonce.value.reason == "id_token"

