"""What the workbench decides, as plain code: who a signed-in person is to the hub, whether a
session still holds, and what a page offers. No nameko, HTTP or SQL here; tested on its own."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared import auth
from shared import vocabulary

from services.workbench.options import parse_role


class NotAllowedIn(Exception):
    """The provider signed the person in, but the hub cannot let them in; `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Person:
    sub: str            # "<domain>/<the provider's subject>": unique across the region's providers
    display_name: str
    email: str | None
    home: str           # a municipality code, or region
    domain: str         # whose provider signed them in
    roles: tuple
    unit: str | None

    @property
    def role(self) -> str:
        return self.roles[0]


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [item for item in value if isinstance(item, str)]
    return []


def mfa_proven(claims: dict, provider: dict) -> bool:
    """Whether the ID token shows the multi-factor sign-in the region file asks for: one of the
    `required_acr` values as `acr`, or one of the `required_amr` methods in `amr`."""
    acr_ok = bool(provider["required_acr"]) and claims.get("acr") in provider["required_acr"]
    amr_ok = bool(provider["required_amr"]) and bool(set(_as_list(claims.get("amr"))) & set(provider["required_amr"]))
    return acr_ok or amr_ok


def person_from_claims(claims: dict, domain: str, provider: dict) -> Person:
    """The hub's person for a verified ID token: MFA proven, at least one mapped role."""
    if not mfa_proven(claims, provider):
        raise NotAllowedIn("mfa")
    roles, units = [], set()
    for group in _as_list(claims.get(provider["roles_claim"])):
        mapped = provider["roles"].get(group)
        if mapped is None:
            continue
        role, unit = parse_role(mapped)
        if role not in roles:
            roles.append(role)
        if unit:
            units.add(unit)
    if not roles:
        raise NotAllowedIn("no_role")
    if len(units) > 1:
        raise NotAllowedIn("two_units")
    ordered = tuple(sorted(roles, key=auth.PERSON_ROLES.index))
    name = claims.get(provider["name_claim"]) or claims.get("preferred_username") or claims["sub"]
    email = claims.get(provider["email_claim"])
    return Person(sub=f"{domain}/{claims['sub']}", display_name=str(name)[:200],
                  email=email if isinstance(email, str) else None, home=domain, domain=domain,
                  roles=ordered, unit=next(iter(units), None))


# ------------------------------------------------------------------ sessions

@dataclass(frozen=True)
class SessionRules:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def of(cls, options: dict) -> "SessionRules":
        return cls(timedelta(minutes=options["session_idle_minutes"]),
                   timedelta(hours=options["session_absolute_hours"]))

    def state(self, created_at: datetime, last_seen_at: datetime, now: datetime) -> str:
        """`active`, `idle` (nothing done for longer than the idle time) or `expired` (older than the
        absolute limit, however busy)."""
        if now - created_at >= self.absolute:
            return "expired"
        if now - last_seen_at >= self.idle:
            return "idle"
        return "active"


def any_of(needs) -> tuple:
    """A page's permission: one (`"case:work"`), or any of several (a case page serves the meldpunt and
    the aftercare worker, each their part)."""
    return tuple(needs) if isinstance(needs, (tuple, list)) else (needs,)


def safe_next(path: str | None) -> str:
    """Where to go after signing in: only a path of the workbench itself (no open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or "://" in path:
        return "/"
    return path[:500]


# ------------------------------------------------------------------ the case list

STATUSES = ("ontvangen", "in_behandeling", "doorverwezen", "nazorg", "afgesloten", "ingetrokken")
OPEN_STATUSES = STATUSES[:4]  # the list shows the work still to do unless the person asks for the rest
ASSIGNED = ("all", "mine", "unassigned")


@dataclass
class CaseQuery:
    """The case list's filters as the page's form gives them, checked; errors per field."""
    status: list = field(default_factory=list)
    category: list = field(default_factory=list)
    urgency: list = field(default_factory=list)
    channel: list = field(default_factory=list)
    assigned: str = "all"
    closed_too: bool = False
    q: str = ""
    page: int = 1
    errors: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, args) -> "CaseQuery":
        query = cls()
        for name, allowed in (("status", STATUSES), ("category", vocabulary.CATEGORIES), ("urgency", vocabulary.URGENCIES),
                              ("channel", vocabulary.CHANNELS)):
            chosen = [value for value in args.getlist(name) if value]
            wrong = [value for value in chosen if value not in allowed]
            if wrong:
                query.errors[name] = "choice"
            setattr(query, name, [value for value in chosen if value in allowed])
        assigned = args.get("assigned") or "all"
        if assigned not in ASSIGNED:
            query.errors["assigned"] = "choice"
            assigned = "all"
        query.assigned = assigned
        query.closed_too = args.get("gesloten") == "1"
        query.q = (args.get("q") or "").strip()[:100]
        try:
            query.page = max(1, min(10000, int(args.get("page") or 1)))
        except ValueError:
            query.errors["page"] = "number"
        return query

    def api_params(self, me: str, page_size: int) -> list[tuple[str, str]]:
        """The same filters as query parameters of intake's GET /api/v1/cases."""
        params = [(name, value) for name in ("status", "category", "urgency", "channel")
                  for value in getattr(self, name)]
        if not self.status and not self.closed_too and not self.q:  # a search finds a closed case too
            params = [("status", s) for s in OPEN_STATUSES] + params
        if self.assigned == "mine":
            params.append(("assigned_to", me))
        elif self.assigned == "unassigned":
            params.append(("unassigned", "true"))
        if self.q:
            params.append(("q", self.q))
        params += [("limit", str(page_size)), ("offset", str((self.page - 1) * page_size))]
        return params

    def link(self, **changes) -> str:
        """The list's own URL with these filters (and `changes`), for paging links."""
        from urllib.parse import urlencode

        values = {"status": self.status, "category": self.category, "urgency": self.urgency,
                  "channel": self.channel, "assigned": self.assigned, "q": self.q, "page": self.page,
                  "gesloten": "1" if self.closed_too else ""}
        values.update(changes)
        pairs = [(k, x) for k, val in values.items() for x in (val if isinstance(val, list) else [val])
                 if x not in ("", None) and not (k == "assigned" and x == "all") and not (k == "page" and x == 1)]
        return "/zaken" + (f"?{urlencode(pairs)}" if pairs else "")


def page_number(value) -> int:
    """The `page` asked for in a page's address: 1 when missing or not a number, at most 10000."""
    try:
        return max(1, min(10000, int(value or 1)))
    except (TypeError, ValueError):
        return 1


def pages(total: int, page: int, page_size: int) -> dict:
    last = max(1, -(-total // page_size))
    return {"page": min(page, last), "last": last, "previous": page - 1 if page > 1 else None,
            "next": page + 1 if page < last else None, "total": total}


# ------------------------------------------------------------------ what a case page offers

def case_actions(principal: auth.Principal, case: dict) -> dict:
    """Which parts of a case a person's role may see and which actions it may take."""
    is_open = case.get("status") not in ("afgesloten", "ingetrokken")
    return {
        "report": auth.may(principal, "incident:read"),
        "triage": auth.may(principal, "triage:read"),
        "decide": auth.may(principal, "triage:decide") and is_open,
        "referral": auth.may(principal, "referral:read"),
        "aftercare": auth.may(principal, "aftercare:read"),
        "aftercare_write": auth.may(principal, "aftercare:write") and is_open,
        "assign": auth.may(principal, "case:work") and is_open,
        "notes": auth.may(principal, "case:work"),
        "close": auth.may(principal, "case:work") and is_open,
        "conflict": auth.may(principal, "case:work") and is_open,
    }


NAVIGATION = (
    # (path, label, permission): a person sees the entries their role may open.
    ("/zaken", "Zaken", "case:work"),
    ("/triage", "Triage", "triage:read"),
    ("/nazorg", "Nazorg", "aftercare:read"),
    ("/verwijzingen", "Verwijzingen", "referral:read"),
    ("/regio", "Regio", "case:work"),
    ("/signalen", "Signalen", "signals:read"),
    ("/dashboard", "Statistiek", "statistics:read"),
)


REGIONAL_PAGES = ("/regio", "/signalen", "/dashboard")  # a person of the region works across municipalities
REGION_ONLY = ("/regio",)


def navigation(principal: auth.Principal) -> list[tuple[str, str]]:
    """The menu: the pages a person's role may open; the regional view only for the region's people,
    the pages of one municipality's work only for a municipality's people (and police liaisons)."""
    regional = principal.home == auth.REGION and not principal.has_role(auth.POLICE_LIAISON)
    return [(path, label) for path, label, permission in NAVIGATION
            if auth.may(principal, permission)
            and ((path in REGIONAL_PAGES) if regional else (path not in REGION_ONLY))]


def home_path(principal: auth.Principal) -> str:
    """The first page a person's role has."""
    entries = navigation(principal)
    return entries[0][0] if entries else "/geen-toegang"


# ------------------------------------------------------------------ the case page's forms
# Each form becomes the body of the API call it stands for, or errors per field (Dutch texts, the
# catalogue translates them where they are shown). The services check again; these keep a person's
# mistakes on the page, next to the field, instead of a problem+json.

MESSAGES = {
    "required": "Vul dit veld in.",
    "choose": "Maak een keuze.",
    "choice": "Kies een van de mogelijkheden.",
    "too_long": "Dit is te lang.",
    "too_short": "Schrijf iets meer (minstens 3 tekens).",
    "colleague": "Kies een collega uit de lijst.",
    "category": "Kies minstens één categorie.",
    "email": "Vul geldige e-mailadressen in, gescheiden door komma's.",
    "number": "Vul een getal in.",
    "phone": "Vul een telefoonnummer in (6 tot 40 tekens).",
    "moment": "Vul een datum en tijd in, niet in de toekomst.",
    "consent": "Zonder toestemming van de persoon zelf kan dit niet.",
    "partner": "Deze hulp kan niet voor deze persoon: het Ondersteuningsteam Weerbaar Bestuur is alleen voor "
               "politieke ambtsdragers (burgemeester, wethouder, raadslid).",
    "track": "Kies een getuige of collega uit de lijst.",
    "handover": "Kies een overdracht uit de lijst.",
}


def _one_of(form, name: str, allowed, errors: dict, required: bool = True) -> str | None:
    value = (form.get(name) or "").strip()
    if not value:
        if required:
            errors[name] = "choose"
        return None
    if value not in allowed:
        errors[name] = "choice"
        return None
    return value


def _text(form, name: str, errors: dict, *, required: bool, minimum: int = 1, maximum: int = 4000) -> str | None:
    value = (form.get(name) or "").strip()
    if not value:
        if required:
            errors[name] = "required"
        return None
    if len(value) < minimum:
        errors[name] = "too_short"
    elif len(value) > maximum:
        errors[name] = "too_long"
    return value


def confirm_form(form) -> tuple[dict, dict]:
    errors: dict = {}
    reason = _text(form, "confirm_reason", errors, required=False, maximum=1000)
    return {"reason": reason}, errors


def override_form(form) -> tuple[dict, dict]:
    """Triage changed by a person: categories, urgency, decisions and why."""
    errors: dict = {}
    categories = [c for c in form.getlist("categories") if c]
    if not categories:
        errors["categories"] = "category"
    elif not all(vocabulary.is_category(c) for c in categories):
        errors["categories"] = "choice"
    urgency = _one_of(form, "urgency", vocabulary.URGENCIES, errors)
    decisions = [d for d in form.getlist("decisions") if d]
    if not all(d in vocabulary.DECISIONS for d in decisions):
        errors["decisions"] = "choice"
    reason = _text(form, "override_reason", errors, required=True, minimum=3, maximum=1000)
    return {"categories": categories, "urgency": urgency, "decisions": decisions, "reason": reason}, errors


def assign_form(form, colleagues: list[dict]) -> tuple[dict, dict]:
    """Assign to a colleague who signed in before (or to nobody); a sub from elsewhere is refused."""
    errors: dict = {}
    chosen = (form.get("assignee") or "").strip()
    if chosen == "":
        return {"assignee": None}, errors
    known = {c["sub"]: c["display_name"] for c in colleagues}
    if chosen not in known:
        errors["assignee"] = "colleague"
        return {}, errors
    return {"assignee": chosen, "assignee_name": known[chosen]}, errors


def note_form(form) -> tuple[dict, dict]:
    errors: dict = {}
    return {"text": _text(form, "note", errors, required=True, maximum=4000)}, errors


def message_form(form) -> tuple[dict, dict]:
    """A message to the reporter: it appears on their follow-up page."""
    errors: dict = {}
    return {"text": _text(form, "message", errors, required=True, maximum=4000)}, errors


def end_form(form) -> tuple[str | None, dict, dict]:
    """Close or withdraw a case: (which, the body, errors)."""
    errors: dict = {}
    kind = _one_of(form, "end_kind", ("afgesloten", "ingetrokken"), errors)
    reason = _one_of(form, "end_reason", vocabulary.STAFF_CLOSE_REASONS, errors)
    note = _text(form, "end_note", errors, required=reason == "other", maximum=1000)
    return kind, {"reason": reason, "note": note}, errors


def conflict_form(form, colleagues: list[dict]) -> tuple[dict, dict]:
    """A conflict of interest: its kind, the colleagues and e-mail addresses to exclude."""
    errors: dict = {}
    kind = _one_of(form, "conflict_kind", vocabulary.CONFLICT_KINDS, errors)
    known = {c["sub"] for c in colleagues}
    persons = [p for p in form.getlist("exclude_persons") if p]
    if not all(p in known for p in persons):
        errors["exclude_persons"] = "colleague"
    emails = [e.strip() for e in (form.get("exclude_emails") or "").replace(";", ",").split(",") if e.strip()]
    if len(emails) > 20 or not all(_EMAIL.match(e) for e in emails):
        errors["exclude_emails"] = "email"
    return {"kind": kind, "exclude_persons": persons[:20], "exclude_emails": emails}, errors


_EMAIL = __import__("re").compile(r"^[^@\s,;]{1,64}@[^@\s,;]{1,189}\.[^@\s,;]{2,}$")


def staff_code(sub: str) -> str:
    """The code aftercare records a worker by (2-40 of a-z 0-9 . _ -), made from the person's sub:
    `GM0687/nazorg-gm0687` becomes `gm0687.nazorg-gm0687`."""
    import re

    code = re.sub(r"[^a-z0-9._-]", "-", sub.lower().replace("/", "."))
    code = re.sub(r"^[^a-z0-9]+", "", code)[:40]
    return code if len(code) >= 2 else "onbekend"


def contact_form(form, open_moments, sub: str, now: datetime) -> tuple[dict, dict]:
    """A contact moment closed (recorded as it went): which moment, how, what came of it."""
    errors: dict = {}
    moment = _one_of(form, "moment", tuple(open_moments) + ("extra",), errors)
    method = _one_of(form, "method", vocabulary.CONTACT_METHODS, errors)
    outcome = _one_of(form, "contact_outcome", vocabulary.CONTACT_OUTCOMES, errors)
    notes = _text(form, "contact_notes", errors, required=False, maximum=4000)
    body = {"moment": moment, "contacted_at": now.isoformat(), "contacted_by": staff_code(sub), "method": method,
            "outcome": outcome}
    if notes:
        body["notes"] = notes
    return body, errors


# ------------------------------------------------------------------ witnesses' tracks and handovers (issue 20)
# The aftercare service decides who may add them and checks every rule again (consent, Weerbaar Bestuur only for
# political office holders, which step may follow which); its 422 comes back next to the field.

CARE_CLOSE_REASONS = ("completed", "no_contact_possible", "referred_elsewhere", "other")  # its CloseSchema


def consent_moment(value: str | None, errors: dict, name: str, now: datetime) -> datetime:
    """When the person gave consent, as the page's date-and-time field gives it (Dutch time); empty: now."""
    from zoneinfo import ZoneInfo

    value = (value or "").strip()
    if not value:
        return now
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        errors[name] = "moment"
        return now
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("Europe/Amsterdam"))
    if moment > now + timedelta(minutes=5):
        errors[name] = "moment"
    return moment


def witness_form(form, now: datetime) -> tuple[dict, dict]:
    """A witness or colleague gets a care track of their own: role, who, and their own consent (yes or no: a "no"
    goes to the service, which refuses it next to the field)."""
    errors: dict = {}
    role = _one_of(form, "witness_role", vocabulary.WITNESS_ROLES, errors)
    name = _text(form, "witness_name", errors, required=False, maximum=120)
    phone = (form.get("witness_phone") or "").strip()
    if phone and not 6 <= len(phone) <= 40:
        errors["witness_phone"] = "phone"
    consent = _one_of(form, "witness_consent", ("yes", "no"), errors)
    moment = consent_moment(form.get("witness_consent_at"), errors, "witness_consent_at", now)
    body = {"role": role, "consent": consent == "yes", "consent_at": moment.isoformat()}
    if name:
        body["name"] = name
    if phone:
        body["phone"] = phone
    return body, errors


def _listed(form, name: str, ids, errors: dict, code: str) -> str | None:
    value = (form.get(name) or "").strip().lower()
    if value not in {str(i) for i in ids}:
        errors[name] = code
        return None
    return value


def witness_contact_form(form, track_ids, sub: str, now: datetime) -> tuple[str | None, dict, dict]:
    """A contact with a witness or colleague: (which track, the body, errors); no moment named is the track's
    earliest open one (the service's default)."""
    errors: dict = {}
    track = _listed(form, "wc_track", track_ids, errors, "track")
    moment = _one_of(form, "wc_moment", vocabulary.CONTACT_MOMENTS, errors, required=False)
    method = _one_of(form, "wc_method", vocabulary.CONTACT_METHODS, errors)
    outcome = _one_of(form, "wc_outcome", vocabulary.CONTACT_OUTCOMES, errors)
    notes = _text(form, "wc_notes", errors, required=False, maximum=4000)
    body = {"contacted_at": now.isoformat(), "contacted_by": staff_code(sub), "method": method, "outcome": outcome}
    if moment:
        body["moment"] = moment
    if notes:
        body["notes"] = notes
    return track, body, errors


def witness_close_form(form, track_ids) -> tuple[str | None, dict, dict]:
    errors: dict = {}
    track = _listed(form, "wclose_track", track_ids, errors, "track")
    reason = _one_of(form, "wclose_reason", CARE_CLOSE_REASONS, errors)
    return track, {"reason": reason}, errors


def handover_form(form, track_ids) -> tuple[dict, dict]:
    """A handover proposed: to which partner, for whom (the victim, or a witness's or colleague's track), and
    the person's consent (a "no" is the service's to refuse)."""
    errors: dict = {}
    partner = _one_of(form, "handover_partner", vocabulary.HANDOVER_PARTNERS, errors)
    consent = _one_of(form, "handover_consent", ("yes", "no"), errors)
    body = {"partner": partner, "consent": consent == "yes"}
    if (form.get("handover_for") or "").strip():
        body["track_id"] = _listed(form, "handover_for", track_ids, errors, "track")
    return body, errors


def handover_step_form(form, handover_ids) -> tuple[str | None, dict, dict]:
    """The handover's next step; with `overgedragen` the fields the partner got (a disclosure ledger row)."""
    errors: dict = {}
    handover = _listed(form, "step_handover", handover_ids, errors, "handover")
    status = _one_of(form, "handover_status", vocabulary.HANDOVER_STATUSES[1:], errors)
    shared = [f for f in form.getlist("shared_fields") if f]
    if not all(f in vocabulary.HANDOVER_FIELDS for f in shared):
        errors["shared_fields"] = "choice"
    body = {"status": status}
    if status == "overgedragen":
        body["shared_fields"] = shared
    return handover, body, errors


def handover_partners(target_role: str | None) -> list[str]:
    """The partners the form offers: Weerbaar Bestuur only when the case is known to be against a political office
    holder, or when the page cannot see the case's target (the aftercare service decides then)."""
    return [p for p in vocabulary.HANDOVER_PARTNERS
            if p != "weerbaar_bestuur" or target_role is None or target_role in vocabulary.POLITICAL_ROLES]


def open_moments(plan: dict | None) -> list[str]:
    """A care plan's contact moments not yet done, in the order they are planned."""
    if not plan or plan.get("status") not in (None, "open"):
        return []
    return [m["kind"] for m in sorted(plan.get("moments") or [], key=lambda m: str(m.get("due_at") or ""))
            if not m.get("done_at") and m.get("kind") in vocabulary.CONTACT_MOMENTS]


def ela_form(form) -> dict:
    """The ELA checklist as ticked on the page: every item the page offered to tick (`ela_codes`, the region's
    checklist less the items that follow the aangifte option), ticked or not (a checkbox left empty is false)."""
    return {code: form.get(f"ela_{code}") == "on" for code in form.getlist("ela_codes")}



def offered_steps(referral: dict) -> list[str]:
    """The steps the referral page offers: only those police_liaison's answer says are allowed from the
    referral's current status (`next_steps`, its domain.TRANSITIONS); none once it is final, withdrawn,
    or when the answer does not say (the service decides every step anyway)."""
    allowed = referral.get("next_steps") or ()
    return [s for s in vocabulary.REFERRAL_STATUSES if s in allowed and s not in ("created", "ingetrokken")]


def step_form(form) -> tuple[dict, dict]:
    """A police liaison moves a referral a step: the status, and what that step needs (the service
    checks which step is allowed from where the referral stands)."""
    errors: dict = {}
    status = _one_of(form, "step_status", tuple(s for s in vocabulary.REFERRAL_STATUSES if s not in ("created", "ingetrokken")),
                     errors)
    body = {"status": status}
    number = _text(form, "registration_number", errors, required=False, maximum=40)
    if number:
        body["registration_number"] = number
    outcome = _one_of(form, "step_outcome", vocabulary.REFERRAL_OUTCOMES, errors, required=False)
    if outcome:
        body["outcome"] = outcome
    reason = _text(form, "step_reason", errors, required=status == "afgewezen", minimum=3, maximum=500)
    if reason:
        body["reason"] = reason
    return body, errors


def api_errors(invalid_params: dict, fields: dict, codes: dict | None = None) -> dict:
    """A service's 422 `invalid-params` as the page's field errors (`fields`: API name → form name; `codes`:
    API name → the message a refusal of that field gets, "choice" unless named)."""
    return {fields.get(name, name): (codes or {}).get(name, "choice") for name in invalid_params if name in fields}


def is_case_id(value: str) -> bool:
    import uuid

    try:
        return str(uuid.UUID(value)) == value.lower()
    except (ValueError, AttributeError):
        return False


NOTICES = {
    "bevestigd": "De triage is bevestigd.", "gewijzigd": "De triage is aangepast.",
    "toegewezen": "De toewijzing is opgeslagen.", "notitie": "De notitie is opgeslagen.",
    "afgesloten": "De zaak is afgesloten.", "ingetrokken": "De zaak is ingetrokken.",
    "contact": "Het contactmoment is vastgelegd.", "conflict": "Het belangenconflict is vastgelegd; de zaak is "
    "doorgezet en de genoemde personen zijn uitgesloten.", "ela": "De ELA-checklist is bijgewerkt.",
    "stap": "De verwijzing is bijgewerkt.", "bericht": "Het bericht staat klaar op de volgpagina van de melder.",
    "getuige": "De getuige of collega heeft een eigen nazorgtraject.",
    "getuigecontact": "Het contact met de getuige of collega is vastgelegd.",
    "getuigeklaar": "Het nazorgtraject van de getuige of collega is afgesloten.",
    "overdracht": "De overdracht is voorgesteld.", "overdrachtstap": "De overdracht is bijgewerkt.",
}


# ------------------------------------------------------------------ evidence and contact details

def evidence_may_be_served(answered_type: str | None, disposition: str | None) -> bool:
    """An evidence file goes to the browser only as an attachment of a kind on the hub's list (intake
    checked its content against the kind it recorded): never as HTML or script, whatever the file holds."""
    kind = (answered_type or "").split(";")[0].strip().lower()
    return kind in vocabulary.EVIDENCE_MEDIA_TYPES and (disposition or "").startswith("attachment")


def shows_contact_details(principal: auth.Principal) -> bool:
    """Whom to call, with the contact details the reporter allowed: for the aftercare worker only."""
    return principal.has_role(auth.AFTERCARE_WORKER)


# ------------------------------------------------------------------ where a person's work is

def liaison_municipalities(principal: auth.Principal, region) -> list[str]:
    """The municipalities of a police liaison's unit (their referrals); a person of a municipality works
    in their own."""
    if principal.has_role(auth.POLICE_LIAISON) and principal.unit:
        return [code for code in region.codes if region.municipality(code).police_unit == principal.unit]
    return [] if principal.home == auth.REGION else [principal.home]


def regional_rows(region, counts: dict, signals: dict, routed: dict, signal_totals: dict | None = None) -> list[dict]:
    """The regional view's table: per municipality its cases per status, its open (and acute) signals and
    how many cases were routed to the region; numbers only, never a case's content. `signal_totals`: the
    signals service's count where the list it gave was a first page (acute ones come first in it)."""
    rows = []
    for code in region.codes:
        per_status = counts.get(code) or {}
        open_signals = signals.get(code) or []
        rows.append({"code": code, "name": region.municipality(code).name, "counts": per_status,
                     "open": sum(n for s, n in per_status.items() if s not in ("afgesloten", "ingetrokken")),
                     "total": sum(per_status.values()),
                     "signals": (signal_totals or {}).get(code, len(open_signals)),
                     "acute_signals": sum(1 for s in open_signals if s.get("acute")),
                     "routed": routed.get(code, 0)})
    return rows


def conflict_sources(region, home: str) -> list[str]:
    """The municipalities whose conflicts of interest the region file routes to the meldpunt of `home`
    (`municipalities[].conflicts_to`): the meldpunt works those cases with `?gemeente=<code>`. None for
    the region's own people (their cases routed to the region are on /regio)."""
    if home == auth.REGION:
        return []
    return [m.code for m in region.municipalities if m.conflicts_to == home and m.code != home]


def act_in(principal: auth.Principal, region, code: str | None) -> str | None:
    """Whose case store a page acts in: a person of the region (or a second meldpunt) names the municipality
    (`?gemeente=`); the services decide what the person may see there. None: the person's own."""
    if code and region.knows(code) and code != principal.home:
        return code
    return None
