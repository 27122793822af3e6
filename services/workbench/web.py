"""The workbench's page plumbing: the `page` entrypoint, language and Babel catalogues, rendering,
cookies and the answers pages give. Kept apart from service.py so the nameko shell stays thin."""
from __future__ import annotations

import functools
import io
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.wrappers import Response

from shared import auth
from shared.http import PAGE_HEADERS, ApiRequestHandler

from services.workbench import domain, labels

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
CATALOGUES = HERE / "locale"
LANGUAGES = ("nl", "en")  # Dutch is the source language; English comes from the catalogue

SESSION_COOKIE = "meldpunt_sessie"
SIGN_IN_COOKIE = "meldpunt_aanmelding"
LANG_COOKIE = "meldpunt_taal"


class PageHandler(ApiRequestHandler):
    """nameko's HTTP entrypoint for a workbench page; `needs` is the permission (shared/auth.py
    PERMISSIONS) a signed-in person must hold to open it, None for the few pages anyone may open
    (signing in and out, the stylesheet, the icon)."""

    def __init__(self, method, url, needs=None, **kwargs):
        self.needs = needs
        super().__init__(method, url, **kwargs)


def page(method: str, url: str, needs: str | None = None):
    """Declare a page. The service's `_serve` checks the session, the CSRF token of a form and the
    permission in one place, then calls the page with a `Visit` (who, language, the hub's APIs)."""
    def decorate(fn):
        @functools.wraps(fn)
        def serve(self, request, **values):
            return self._serve(request, fn, needs, values)
        return PageHandler.decorator(method, url, needs=needs)(serve)
    return decorate


# ------------------------------------------------------------------ language

def _catalogue(lang: str):
    path = CATALOGUES / lang / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


TRANSLATIONS = {lang: _catalogue(lang) for lang in LANGUAGES}


def language(request) -> str:
    """?lang= first (and it is remembered in a cookie), then that cookie, then Accept-Language; Dutch."""
    chosen = (request.args.get("lang") or request.cookies.get(LANG_COOKIE) or "").lower()
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "nl"


def _env(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(TRANSLATIONS[lang], newstyle=True)
    env.filters["when"] = when
    env.globals["ela_items"] = labels.ela_items
    return env


AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def when(value, with_time: bool = True) -> str:
    """An ISO 8601 moment as Dutch readers write it, in Dutch time: 06-12-2026 14:05."""
    if not value:
        return ""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(AMSTERDAM)
    return moment.strftime("%d-%m-%Y %H:%M" if with_time else "%d-%m-%Y")


ENVIRONMENTS = {lang: _env(lang) for lang in LANGUAGES}


def gettext(lang: str, message: str, **values) -> str:
    text = TRANSLATIONS[lang].gettext(message)
    return text % values if values else text


def render(lang: str, template: str, **context) -> str:
    return ENVIRONMENTS[lang].get_template(template).render(lang=lang, **context)


# ------------------------------------------------------------------ answers

def page_headers(form_targets=()) -> dict:
    """The hub's page policy; a form may also post to (or be redirected to) the identity providers,
    for signing out there."""
    headers = dict(PAGE_HEADERS)
    if form_targets:
        headers["Content-Security-Policy"] = headers["Content-Security-Policy"].replace(
            "form-action 'self'", "form-action 'self' " + " ".join(sorted(set(form_targets))))
    return headers


def html(body: str, status: int = 200, headers: dict | None = None) -> Response:
    return Response(body, status=status, content_type="text/html; charset=utf-8",
                    headers={**page_headers(), **(headers or {})})


def redirect(location: str, headers: dict | None = None) -> Response:
    return Response("", status=303, headers={"Location": location, **page_headers(), **(headers or {})})


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def set_cookie(response: Response, name: str, value: str, secure: bool, max_age: int | None = None) -> None:
    """The workbench's cookies: HttpOnly, SameSite=Lax (the provider's redirect back is a top-level
    GET from another site, which Lax lets through and Strict would not), Secure behind TLS."""
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="Lax", secure=secure)


def clear_cookie(response: Response, name: str, secure: bool) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="Lax", secure=secure)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class Visit:
    """One request of a page: who asks, in which language, and the hub's APIs on their behalf."""
    lang: str
    csrf: str = ""
    person: domain.Person | None = None
    principal: auth.Principal | None = None
    hub: object = None  # services.workbench.hub.Hub, on the person's behalf
    headers: dict = field(default_factory=dict)

    def _(self, message: str, **values) -> str:
        return gettext(self.lang, message, **values)

    def enter(self, person: domain.Person, csrf: str) -> None:
        """The signed-in person, as the hub's permission checks see them."""
        self.person, self.csrf = person, csrf
        self.principal = auth.Principal(person.home, person.role, None, person.display_name, kind=auth.PERSON,
                                        sub=person.sub, display_name=person.display_name, home=person.home,
                                        roles=person.roles, unit=person.unit)

    def refused(self, status: int) -> Response:
        """403, 404 (also for a case the person may not see: it looks like no case) or 503."""
        title, message = {
            403: ("Geen toegang", "Uw rol geeft geen toegang tot deze pagina."),
            404: ("Niet gevonden", "Deze pagina of zaak bestaat niet, of u heeft er geen toegang toe."),
            503: ("Even niet beschikbaar", "Een onderdeel van Meldpunt Hub antwoordt niet. Probeer het zo opnieuw."),
        }[status]
        return self.page("error.html", status, title=self._(title), message=self._(message))

    def page(self, template: str, status: int = 200, **context) -> Response:
        nav = domain.navigation(self.principal) if self.principal else []
        role_name = self._(labels.label("role", self.person.role)) if self.person else ""
        body = render(self.lang, template, visit=self, person=self.person, nav=nav, csrf=self.csrf, role_name=role_name,
                          errors=context.pop("errors", {}), **context)
        return html(body, status, self.headers)
