"""The Zaken API (ZGW 1.5) as the hub uses it: find or create a case's zaak, set a status, give a resultaat.
Each request carries the JWT the ZGW APIs require (HS256 over the client id, signed with the client's secret)
and the headers the API's document asks for. Every step is safe to repeat: a second attempt finds what the
first one made (by the zaak's identificatie, the hub's case reference) and adds nothing twice."""
from __future__ import annotations

import time
from datetime import datetime

import jwt
import requests

from services.zaaksysteem import domain
from services.zaaksysteem.options import secret as read_secret

CRS = "EPSG:4326"  # the API asks for it on /zaken even when a zaak has no geometry


class DeliveryFailed(Exception):
    """The zaaksysteem did not take a request now (unreachable, 5xx, refused); tried again later."""


def token(client_id: str, client_secret: str, now: float | None = None) -> str:
    """The ZGW JWT: `iss` and `client_id` the client, `iat` now, signed HS256 with the client's secret."""
    issued = int(time.time() if now is None else now)
    claims = {"iss": client_id, "iat": issued, "client_id": client_id, "user_id": client_id,
              "user_representation": "Meldpunt Hub"}
    return jwt.encode(claims, client_secret, algorithm="HS256")


class ZakenClient:
    def __init__(self, config: dict, session: requests.Session | None = None, environ=None):
        self.config = config
        self.root = config["zaken_api"].rstrip("/")
        self.http = session or requests.Session()
        self.environ = environ

    def _headers(self, crs: bool = False) -> dict:
        headers = {"Authorization": "Bearer " + token(self.config["client_id"],
                                                      read_secret(self.config["secret"], self.environ)),
                   "Accept": "application/json"}
        if crs:
            headers.update({"Accept-Crs": CRS, "Content-Crs": CRS})
        return headers

    def _call(self, method: str, path_or_url: str, *, crs=False, **kwargs) -> dict:
        url = path_or_url if path_or_url.startswith("http") else self.root + path_or_url
        try:
            answer = self.http.request(method, url, headers=self._headers(crs), timeout=self.config["timeout_seconds"],
                                       **kwargs)
        except requests.RequestException as exc:
            raise DeliveryFailed(f"{method} {url}: {type(exc).__name__}") from None
        if answer.status_code >= 300:
            raise DeliveryFailed(f"{method} {url}: HTTP {answer.status_code} {answer.text[:300]}")
        return answer.json() if answer.content else {}

    def find_zaak(self, case_id: str) -> dict | None:
        found = self._call("GET", "/zaken", crs=True, params={
            "identificatie": str(case_id), "bronorganisatie": self.config["rsin"]})
        results = found.get("results") or []
        return results[0] if results else None

    def ensure_zaak(self, case_id: str, day: str, values: dict, retry: bool) -> str:
        """The url of the case's zaak, made now. On a retry the first attempt may have made it before its
        answer was lost: then the zaak is looked up by its identificatie (the hub's case reference) first."""
        existing = self.find_zaak(case_id) if retry else None
        if existing is not None:
            return existing["url"]
        return self._call("POST", "/zaken", crs=True, json=domain.zaak(case_id, self.config, day, values))["url"]

    def set_status(self, zaak_url: str, stage: str, at: datetime) -> str:
        made = self._call("POST", "/statussen",
                          json=domain.status(zaak_url, self.config["statustypen"][stage], at))
        return made["url"]

    def close(self, zaak_url: str, outcome: str, at: datetime, retry: bool) -> None:
        """The resultaat, then the eindstatus, which closes the zaak. A zaak has one resultaat: on a retry
        the one an earlier attempt gave is looked up first."""
        given = retry and self._call("GET", "/resultaten", params={"zaak": zaak_url}).get("results")
        if not given:
            self._call("POST", "/resultaten", json=domain.resultaat(zaak_url, self.config["resultaattypen"][outcome]))
        self.set_status(zaak_url, "afgesloten", at)
