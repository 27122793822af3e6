"""The workbench's door to the other services: their HTTP APIs, called on a signed-in person's
behalf with a person assertion (shared/assertion.py). The workbench reads no other service's
tables; what a person may see is decided by the service answering (shared/auth.py)."""
from __future__ import annotations

import logging
import time

import requests

from shared import assertion

log = logging.getLogger(__name__)

TIMEOUT = 15


class HubRefused(Exception):
    """A service said no: 404 (no such case, or one this person may not see), 403, 409, 422."""

    def __init__(self, status: int, problem: dict):
        super().__init__(f"{status}: {problem.get('detail') or problem.get('title')}")
        self.status = status
        self.problem = problem

    @property
    def invalid_params(self) -> dict:
        return {p.get("name"): p.get("reason") for p in self.problem.get("invalid-params") or []}


class HubUnavailable(Exception):
    """A service did not answer, or answered 5xx."""


class Hub:
    def __init__(self, base_urls: dict, region_secret: bytes, person, session_ref: str, now=time.time):
        self._urls = base_urls
        self._secret = region_secret
        self._person = person
        self._session_ref = session_ref
        self._now = now
        self._http = requests.Session()

    def assertion(self, service: str, act_in: str | None = None) -> str:
        person = self._person
        return assertion.issue(self._secret, service, sub=person.sub, name=person.display_name,
                               municipality=person.home, roles=list(person.roles), unit=person.unit,
                               session=self._session_ref, email=person.email, act_in=act_in, now=self._now())

    def call(self, service: str, method: str, path: str, *, act_in: str | None = None, params=None, json=None,
             accept_language: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.assertion(service, act_in)}"}
        if accept_language:
            headers["Accept-Language"] = accept_language
        try:
            answer = self._http.request(method, self._urls[service] + path, params=params, json=json,
                                        headers=headers, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise HubUnavailable(f"{service}: {type(exc).__name__}") from None
        if answer.status_code >= 500:
            raise HubUnavailable(f"{service} answered {answer.status_code}")
        if answer.status_code >= 400:
            try:
                problem = answer.json()
            except ValueError:
                problem = {"title": answer.reason}
            raise HubRefused(answer.status_code, problem if isinstance(problem, dict) else {})
        return answer

    def get(self, service: str, path: str, **kwargs):
        return self.call(service, "GET", path, **kwargs).json()

    def post(self, service: str, path: str, body: dict, **kwargs):
        return self.call(service, "POST", path, json=body, **kwargs).json()

    def patch(self, service: str, path: str, body: dict, **kwargs):
        return self.call(service, "PATCH", path, json=body, **kwargs).json()

    def close(self):
        self._http.close()
