"""Signing people in with OpenID Connect: the authorization code flow with PKCE (S256).

Authlib's OAuth2Session makes the authorization URL (state, nonce, code challenge) and redeems
the code at the token endpoint with the client secret; joserfc (Authlib's JOSE library) checks
the ID token's signature against the provider's published keys and its claims (issuer, audience,
expiry, nonce). Nothing here parses or signs a token by hand.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.oauth2.rfc6749.errors import MismatchingStateException, OAuth2Error
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

log = logging.getLogger(__name__)

SIGNING_ALGORITHMS = ("RS256", "PS256", "ES256", "RS384", "ES384", "RS512")
LEEWAY_SECONDS = 60
METADATA_SECONDS = 3600  # metadata and keys are read again after this (or when a key is unknown)
TIMEOUT = 10


class SignInRefused(Exception):
    """The sign-in cannot be completed; `reason` is a code the page turns into words."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Started:
    url: str
    state: str
    nonce: str
    code_verifier: str


class Provider:
    """One identity provider as configured in the region file, with its metadata and keys cached."""

    def __init__(self, options: dict, client_secret: str, redirect_uri: str, http=None):
        self.options = options
        self.issuer = options["issuer"]
        self.client_id = options["client_id"]
        self._secret = client_secret
        self.redirect_uri = redirect_uri
        self._http = http or requests
        self._lock = threading.Lock()
        self._metadata, self._metadata_at = None, 0.0
        self._keys, self._keys_at = None, 0.0

    # ------------------------------------------------------------------ metadata and keys
    def metadata(self) -> dict:
        with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_SECONDS:
                url = self.options.get("discovery_url") or \
                    self.issuer.rstrip("/") + "/.well-known/openid-configuration"
                try:
                    answer = self._http.get(url, timeout=TIMEOUT)
                    answer.raise_for_status()
                    metadata = answer.json()
                except (requests.RequestException, ValueError) as exc:
                    raise SignInRefused("provider_unreachable", type(exc).__name__) from None
                # OpenID Connect Discovery 1.0 §4.3: the issuer in the metadata must be the one configured
                if metadata.get("issuer") != self.issuer:
                    raise SignInRefused("wrong_issuer", f"metadata names {metadata.get('issuer')!r}")
                self._metadata, self._metadata_at = metadata, time.monotonic()
            return self._metadata

    def _key_set(self, refresh: bool = False) -> KeySet:
        with self._lock:
            stale = time.monotonic() - self._keys_at > METADATA_SECONDS
            if self._keys is None or refresh or stale:
                try:
                    answer = self._http.get(self._metadata["jwks_uri"], timeout=TIMEOUT)
                    answer.raise_for_status()
                    self._keys, self._keys_at = KeySet.import_key_set(answer.json()), time.monotonic()
                except (requests.RequestException, ValueError, JoseError) as exc:
                    raise SignInRefused("provider_unreachable", f"keys: {type(exc).__name__}") from None
            return self._keys

    # ------------------------------------------------------------------ the flow
    def _session(self, state: str | None = None) -> OAuth2Session:
        return OAuth2Session(self.client_id, self._secret, scope=" ".join(self.options["scopes"]),
                             redirect_uri=self.redirect_uri, code_challenge_method="S256", state=state)

    def start(self, acr_values: list[str] | None = None) -> Started:
        """Where to send the browser, and what to remember until it comes back."""
        metadata = self.metadata()
        nonce, verifier = generate_token(32), generate_token(64)
        extra = {"acr_values": " ".join(acr_values)} if acr_values else {}
        with self._session() as session:
            url, state = session.create_authorization_url(metadata["authorization_endpoint"], nonce=nonce,
                                                          code_verifier=verifier, **extra)
        return Started(url, state, nonce, verifier)

    def finish(self, callback_url: str, args: dict, state: str, nonce: str, code_verifier: str,
               now: float | None = None) -> tuple[dict, str]:
        """Redeem the code the browser brought back: (the ID token's claims, with the userinfo's
        where the ID token lacks them; the raw ID token, kept for signing out)."""
        if args.get("error"):
            raise SignInRefused("provider_error", str(args.get("error"))[:100])
        metadata = self.metadata()
        with self._session(state=state) as session:
            try:
                token = session.fetch_token(metadata["token_endpoint"], authorization_response=callback_url,
                                            code_verifier=code_verifier, timeout=TIMEOUT)
            except MismatchingStateException:
                raise SignInRefused("state") from None
            except (OAuthError, OAuth2Error) as exc:  # invalid_grant: an expired, used or foreign code
                raise SignInRefused("code_refused", getattr(exc, "error", "") or "") from None
            except requests.RequestException as exc:
                raise SignInRefused("provider_unreachable", type(exc).__name__) from None
            id_token = token.get("id_token")
            if not id_token:
                raise SignInRefused("no_id_token")
            claims = self.verify_id_token(id_token, nonce, now)
            if self.options["roles_claim"] not in claims and metadata.get("userinfo_endpoint"):
                claims = {**self._userinfo(session, metadata["userinfo_endpoint"], claims["sub"]), **claims}
        return claims, id_token

    def verify_id_token(self, id_token: str, nonce: str, now: float | None = None) -> dict:
        allowed = [a for a in self.metadata().get("id_token_signing_alg_values_supported", ["RS256"])
                   if a in SIGNING_ALGORITHMS]
        try:
            try:
                decoded = jwt.decode(id_token, self._key_set(), algorithms=allowed)
            except (JoseError, ValueError):
                decoded = jwt.decode(id_token, self._key_set(refresh=True), algorithms=allowed)  # rotated keys
        except (JoseError, ValueError) as exc:
            raise SignInRefused("id_token", type(exc).__name__) from None
        registry = jwt.JWTClaimsRegistry(
            now=int(now if now is not None else time.time()), leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": self.issuer}, aud={"essential": True, "value": self.client_id},
            exp={"essential": True}, iat={"essential": True}, sub={"essential": True},
            nonce={"essential": True, "value": nonce})
        try:
            registry.validate(decoded.claims)
        except JoseError as exc:
            reason = "wrong_issuer" if getattr(exc, "claim", None) == "iss" else "id_token"
            raise SignInRefused(reason, f"{exc.error} {getattr(exc, 'claim', '')}".strip()) from None
        audience = decoded.claims.get("aud")
        if isinstance(audience, list) and len(audience) > 1 and decoded.claims.get("azp") != self.client_id:
            raise SignInRefused("id_token", "azp")
        return decoded.claims

    def _userinfo(self, session, url: str, sub: str) -> dict:
        try:
            answer = session.get(url, timeout=TIMEOUT)
            answer.raise_for_status()
            info = answer.json()
        except (requests.RequestException, ValueError, OAuthError):
            return {}
        return info if info.get("sub") == sub else {}  # OpenID Connect Core §5.3.2

    def logout_url(self, id_token: str | None, post_logout_redirect_uri: str) -> str | None:
        """RP-initiated logout at the provider, when it offers it."""
        try:
            endpoint = self.metadata().get("end_session_endpoint")
        except SignInRefused:
            return None
        if not endpoint:
            return None
        params = {"client_id": self.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        if id_token:
            params["id_token_hint"] = id_token
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"
