"""The workbench's nameko shell: sign-in (OpenID Connect), sessions, and the pages people work in.

Every page goes through `_serve`: the session (idle and absolute timeout), the CSRF token of a
form and the page's permission are checked there and nowhere else. What a person may see of a
case is decided by the service that holds it, answering the person's assertion (shared/auth.py).
"""
from __future__ import annotations

import logging
from urllib.parse import urlencode

from nameko.timer import timer
from werkzeug.wrappers import Response

from shared import auth, icons
from shared.dependencies import RegionSecret, Storage
from shared.names import SERVICES, WORKBENCH
from shared.service import HubService

from services.workbench import domain, handlers, oidc, options, store, web
from services.workbench.hub import Hub, HubRefused, HubUnavailable
from services.workbench.providers import SignIn
from services.workbench.case_pages import CasePages
from services.workbench.dashboard_pages import DashboardPages
from services.workbench.region_pages import RegionPages
from services.workbench.signal_pages import SignalPages
from services.workbench.work_pages import WorkPages
from services.workbench.web import Visit, page

log = logging.getLogger(__name__)

SIGNED_IN = "signed_in"  # a page for anyone signed in, whatever their role (signing out)
CSS = (web.HERE / "static" / "workbench.css").read_bytes()


def _own_database(region):
    return "workbench", options.options_of(region)["database_dsn"]


class WorkbenchService(CasePages, WorkPages, RegionPages, SignalPages, DashboardPages, HubService):
    name = WORKBENCH
    storage = Storage(relay_outbox=False, uses_case_stores=False, own_database=_own_database)
    region_secret = RegionSecret()
    sign_in = SignIn()

    @staticmethod
    def check_settings(settings):
        """Called by the runner before start: one clear line for what the workbench lacks."""
        options.check(settings)

    # ------------------------------------------------------------------ the one gate of every page
    @property
    def _options(self) -> dict:
        return self.sign_in.options

    def _serve(self, request, fn, needs, values):
        visit = Visit(lang=web.language(request), headers=web.page_headers(self.sign_in.provider_origins))
        if needs is None:
            return self._answer(request, fn(self, request, visit, **values), visit.lang)
        cookie = request.cookies.get(web.SESSION_COOKIE) or ""
        now = self.clock.now()
        with self.storage.own() as uow:
            session = handlers.resume(uow, cookie, domain.SessionRules.of(self._options), now)
        if not session.active:
            return self._to_sign_in(request, cookie, expired=session.state is not None)
        visit.enter(store.person_of(session.row), session.row["csrf_token"])
        if request.method == "POST" and not handlers.form_token_holds(session.row, request.form.get("csrf_token")):
            return visit.page("error.html", 403, title=visit._("Het formulier is verlopen"),
                              message=visit._("Ga terug, laad de pagina opnieuw en probeer het nog eens."))
        if needs != SIGNED_IN and not any(auth.may(visit.principal, n) for n in domain.any_of(needs)):
            return visit.refused(403)
        visit.hub = Hub(self._service_urls(), self.region_secret, visit.person, store.digest(cookie).hex()[:16],
                        now=lambda: self.clock.now().timestamp())
        try:
            return self._answer(request, fn(self, request, visit, **values), visit.lang)
        except HubRefused as refused:
            if refused.status in (403, 404):
                return visit.refused(refused.status)
            raise
        except HubUnavailable as down:
            log.warning("a service did not answer the workbench: %s", down)
            return visit.refused(503)
        finally:
            visit.hub.close()

    def _to_sign_in(self, request, cookie: str, expired: bool):
        back = request.full_path.rstrip("?") if request.method == "GET" else "/"
        response = web.redirect("/aanmelden?" + urlencode({"next": back, **({"verlopen": "1"} if expired else {})}))
        if cookie:
            web.clear_cookie(response, web.SESSION_COOKIE, self.sign_in.secure)
        return response

    def _answer(self, request, response, lang):
        if request.args.get("lang") in web.LANGUAGES:  # remember the language chosen
            response.set_cookie(web.LANG_COOKIE, lang, max_age=365 * 86400, path="/", httponly=True,
                                samesite="Lax", secure=self.sign_in.secure)
        return response

    def _service_urls(self) -> dict:
        settings = self.storage.settings
        return {name: settings.service_url(name) for name in SERVICES}

    # ------------------------------------------------------------------ signing in and out
    @page("GET", "/")
    def index(self, request, visit):
        return web.redirect("/start" if request.cookies.get(web.SESSION_COOKIE) else "/aanmelden")  # each role its own first page

    @page("GET", "/static/workbench.css")
    def stylesheet(self, request, visit):
        return Response(CSS, content_type="text/css; charset=utf-8",
                        headers={**web.page_headers(), "Cache-Control": "max-age=3600"})

    @page("GET", "/favicon.ico")
    def favicon(self, request, visit):
        return Response(icons.bar_chart(), content_type="image/x-icon",
                        headers={**web.page_headers(), "Cache-Control": "max-age=86400"})

    @page("GET", "/aanmelden")
    def sign_in_page(self, request, visit):
        region = self.storage.region
        choices = [(code, region.municipality(code).name if code != auth.REGION else
                    visit._("Regio %(name)s", name=region.name))
                   for code in self._options["identity_providers"]]
        return visit.page("sign_in.html", choices=choices, next_path=domain.safe_next(request.args.get("next")),
                          expired=request.args.get("verlopen") == "1")

    @page("GET", "/aanmelden/<domain_code>")
    def sign_in_start(self, request, visit, domain_code):
        if domain_code not in self._options["identity_providers"]:
            return visit.refused(404)
        try:
            with self.storage.own() as uow:
                cookie, url = handlers.begin_sign_in(uow, self.sign_in.provider(domain_code), domain_code,
                                                     request.args.get("next"), self.clock.now())
        except oidc.SignInRefused as refused:
            return self._refused(visit, refused.reason)
        response = web.redirect(url)
        web.set_cookie(response, web.SIGN_IN_COOKIE, cookie, self.sign_in.secure, max_age=900)
        return response

    @page("GET", "/aanmelden/terug")
    def sign_in_callback(self, request, visit):
        now = self.clock.now()
        with self.storage.own() as uow:
            pending = handlers.take_sign_in(uow, request.cookies.get(web.SIGN_IN_COOKIE), request.args.get("state"),
                                            now)
        if pending is None:
            return self._refused(visit, "state")
        try:
            person, id_token = handlers.finish_sign_in(
                self.sign_in.provider(pending["domain"]), self._options["identity_providers"][pending["domain"]],
                pending, request.url, request.args.to_dict(), now)
        except (oidc.SignInRefused, domain.NotAllowedIn) as refused:
            log.warning("sign-in refused at %s: %s", pending["domain"], refused)
            return self._refused(visit, refused.reason)
        with self.storage.own() as uow:
            session_id = handlers.open_session(uow, person, id_token, request.cookies.get(web.SESSION_COOKIE), now)
        log.info("signed in", extra={"person": person.sub, "roles": ",".join(person.roles)})
        response = web.redirect(pending["next_path"] if pending["next_path"] != "/" else "/start")
        web.set_cookie(response, web.SESSION_COOKIE, session_id, self.sign_in.secure)
        web.clear_cookie(response, web.SIGN_IN_COOKIE, self.sign_in.secure)
        return response

    def _refused(self, visit, reason: str):
        messages = {
            "mfa": visit._("Uw organisatie heeft u aangemeld zonder tweede factor. Meld u aan met meerfactor-"
                           "authenticatie (bijvoorbeeld een code of sleutel) en probeer het opnieuw."),
            "no_role": visit._("U heeft geen rol in Meldpunt Hub. Vraag uw beheerder om toegang."),
            "wrong_issuer": visit._("De identiteitsprovider is niet die van uw organisatie. De aanmelding is geweigerd."),
            "code_refused": visit._("De aanmelding is verlopen of al gebruikt. Meld u opnieuw aan."),
            "state": visit._("De aanmelding is verlopen of al gebruikt. Meld u opnieuw aan."),
        }
        message = messages.get(reason, visit._("Aanmelden is niet gelukt. Probeer het opnieuw."))
        return visit.page("error.html", 403 if reason in ("mfa", "no_role", "wrong_issuer") else 400,
                          title=visit._("Aanmelden is niet gelukt"), message=message, sign_in_again=True)

    @page("GET", "/start", needs=SIGNED_IN)
    def start(self, request, visit):
        return web.redirect(domain.home_path(visit.principal))

    @page("POST", "/afmelden", needs=SIGNED_IN)
    def sign_out(self, request, visit):
        with self.storage.own() as uow:
            target = handlers.sign_out(uow, request.cookies.get(web.SESSION_COOKIE), self._options["identity_providers"],
                                       self.sign_in, f"{self.sign_in.public_url}/afgemeld")
        response = web.redirect(target, visit.headers)
        web.clear_cookie(response, web.SESSION_COOKIE, self.sign_in.secure)
        return response

    @page("GET", "/afgemeld")
    def signed_out(self, request, visit):
        return visit.page("signed_out.html")

    @page("GET", "/geen-toegang", needs=SIGNED_IN)
    def no_pages(self, request, visit):
        return visit.refused(403)

    # ------------------------------------------------------------------ housekeeping
    @timer(interval=300)
    def prune_sessions(self):
        """Sessions past their idle or absolute limit go, whether or not their browser comes back."""
        rules = domain.SessionRules.of(self._options)
        now = self.clock.now()
        with self.storage.own() as uow:
            store.prune(uow, now - rules.idle, now - rules.absolute)


SERVICE = WorkbenchService
