"""The workbench's use cases as plain functions: signing in and out, and a session on each request.

The nameko shell (service.py) reads the request and writes the answer; what happens in between is
here, with the workbench's own database (a unit of work), the identity provider (services/workbench/
oidc.py) and the clock handed in.
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from services.workbench import domain, oidc, store


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Session:
    """A request's session: `state` active, idle or expired (then it was just ended), or None."""
    row: dict | None
    state: str | None

    @property
    def active(self) -> bool:
        return self.row is not None and self.state == "active"


def resume(uow, cookie: str, rules: domain.SessionRules, now) -> Session:
    """The session a cookie names, touched when it still holds, ended when it no longer does."""
    if not 0 < len(cookie or "") <= 100:
        return Session(None, None)
    row = store.get_session(uow, cookie)
    if row is None:
        return Session(None, None)
    state = rules.state(row["created_at"], row["last_seen_at"], now)
    if state == "active":
        store.touch(uow, cookie, now)
    else:
        store.end_session(uow, cookie)
    return Session(row, state)


def form_token_holds(session_row: dict, presented: str | None) -> bool:
    """Every form carries its session's CSRF token; a POST without the right one is refused."""
    return hmac.compare_digest((presented or "").encode(), session_row["csrf_token"].encode())


def begin_sign_in(uow, provider: oidc.Provider, domain_code: str, next_path: str, now) -> tuple[str, str]:
    """Start the authorization code flow with PKCE: (the browser's new sign-in cookie, where to send it).
    State, nonce and verifier stay here, under the cookie's hash."""
    started = provider.start()
    cookie = new_secret()
    store.start_sign_in(uow, cookie, domain_code, started.state, started.nonce, started.code_verifier,
                        domain.safe_next(next_path), now)
    return cookie, started.url


def take_sign_in(uow, cookie: str, state: str | None, now) -> dict | None:
    """The sign-in this browser started, used up (a code comes back once); None when there is none or
    the state the provider sent back is not its own."""
    pending = store.take_sign_in(uow, cookie, now) if 0 < len(cookie or "") <= 100 else None
    if pending is None or not hmac.compare_digest((state or "").encode(), pending["state"].encode()):
        return None
    return pending


def finish_sign_in(provider: oidc.Provider, provider_options: dict, pending: dict, callback_url: str, args: dict,
                   now) -> tuple[domain.Person, str]:
    """Redeem the code and check the ID token (oidc.py), then who the person is to the hub (domain.py):
    SignInRefused or NotAllowedIn when not."""
    claims, id_token = provider.finish(callback_url, args, pending["state"], pending["nonce"],
                                       pending["code_verifier"], now=now.timestamp())
    return domain.person_from_claims(claims, pending["domain"], provider_options), id_token


def open_session(uow, person: domain.Person, id_token: str, old_cookie: str | None, now) -> str:
    """A new session with a new random id (a session id planted before sign-in is never used, and the
    browser's old session ends); its cookie value."""
    if old_cookie and len(old_cookie) <= 100:
        store.end_session(uow, old_cookie)
    session_id = new_secret()
    store.create_session(uow, session_id, person, new_secret(), id_token, now)
    return session_id


def sign_out(uow, cookie: str, providers: dict, sign_in, after: str) -> str:
    """End the hub's session; where the browser goes next: the provider's end-session endpoint (with
    the ID token as hint) when it has one, so the provider's session ends too, else `after`."""
    ended = store.end_session(uow, cookie) if cookie else None
    if ended is None or ended["domain"] not in providers:
        return after
    return sign_in.provider(ended["domain"]).logout_url(ended["id_token"], after) or after
