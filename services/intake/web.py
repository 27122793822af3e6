"""The public form's plumbing: language, texts, CSRF tokens, rate limit, rendering and form-to-report mapping.

Kept apart from service.py so the nameko shell stays thin and these pieces are unit-tested without a server.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from shared import vocabulary as v
from shared.ratelimit import TokenBucket  # noqa: F401 — the public form's limiter per address

TEMPLATES = Path(__file__).with_name("templates")
LANGUAGES = ("nl", "en")

FORM_COOKIE = "meld_form"

_env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)


def render(name: str, **context) -> str:
    return _env.get_template(name).render(**context)


def language(request) -> str:
    """?lang= (or the form's lang field) first, then Accept-Language; Dutch by default."""
    chosen = (request.args.get("lang") or request.form.get("lang") or "").lower() if request.method == "POST" \
        else (request.args.get("lang") or "").lower()
    if chosen in LANGUAGES:
        return chosen
    best = request.accept_languages.best_match(LANGUAGES)
    return best or "nl"


def api_language(request) -> str:
    """APIs answer in English unless the caller prefers Dutch (the foundation's answers were English)."""
    return request.accept_languages.best_match(("en", "nl")) or "en"


# ---------------------------------------------------------------- CSRF

class FormGuard:
    """A CSRF token is HMAC(secret, cookie nonce + municipality): a page from another site cannot know it."""

    def __init__(self, secret: str | None):
        self.secret = (secret or secrets.token_urlsafe(32)).encode("utf-8")

    def token(self, nonce: str, code: str) -> str:
        return hmac.new(self.secret, f"{nonce}|{code}".encode("utf-8"), hashlib.sha256).hexdigest()

    def valid(self, nonce: str | None, code: str, token: str | None) -> bool:
        return bool(nonce and token) and hmac.compare_digest(self.token(nonce, code), token)


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


# ---------------------------------------------------------------- texts

TEXTS = {
    "nl": {
        "title": "Agressie of geweld melden", "picker_title": "Kies uw gemeente",
        "picker_intro": "Bent u als ambtenaar of bestuurder bedreigd, geïntimideerd of aangevallen? Meld het hier.",
        "intro": "Meld agressie, geweld, bedreiging of intimidatie tegen u of een collega. Velden met * zijn verplicht. "
                 "U mag ook anoniem melden.",
        "what": "Wat is er gebeurd?", "own_kind": "Wat voor voorval was het, in uw eigen woorden",
        "description": "Beschrijving *", "categories": "Soort voorval (kies wat past)",
        "when": "Wanneer?", "occurred_date": "Datum *", "occurred_time": "Tijd (als u die weet)",
        "approximate": "De tijd is bij benadering",
        "where": "Waar?", "location_type": "Soort plek", "location_detail": "Adres of plek (optioneel)",
        "target": "Tegen wie was het gericht?", "target_role": "Functie van degene tegen wie het gericht was",
        "target_department": "Afdeling", "target_function": "Functie",
        "reporter_relation": "U bent", "perpetrator": "Dader (voor zover bekend)",
        "perp_name": "Naam", "perp_description": "Beschrijving", "perp_relation": "Relatie",
        "perp_online_handle": "Account online", "perp_phone": "Telefoonnummer", "perp_vehicle": "Voertuig of kenteken",
        "consequences": "Gevolgen", "injuries": "Letsel", "damage": "Schade",
        "witness": "Getuige", "witness_name": "Naam getuige", "witness_contact": "Contact getuige",
        "evidence": "Bewijs (foto, pdf, tekst of e-mail)", "evidence_hint": "Maximaal {size} per bestand.",
        "you": "Over u", "anonymous": "Ik meld anoniem (u krijgt wel een meldcode om de melding te volgen)",
        "reporter_name": "Uw naam", "reporter_email": "E-mailadres", "reporter_phone": "Telefoonnummer",
        "choices": "Uw keuzes", "consent_contact": "Het meldpunt mag contact met mij opnemen",
        "contact_method": "Hoe?", "by_email": "per e-mail", "by_phone": "per telefoon",
        "consent_inform_manager": "Mijn leidinggevende mag worden ingelicht",
        "aangifte_help": "Ik wil hulp bij het doen van aangifte",
        "consent_police_referral": "De melding mag aan de politie worden doorgegeven",
        "consent_employer_reports": "Mijn werkgever mag namens mij aangifte doen",
        "honeypot": "Laat dit veld leeg", "submit": "Melding versturen",
        "errors_title": "Controleer de volgende velden:",
        "received_title": "Uw melding is ontvangen",
        "receipt_intro": "Bewaar deze gegevens goed. Met de meldcode en de geheime code kunt u uw melding volgen, "
                         "aanvullen of intrekken. De geheime code wordt niet opnieuw getoond.",
        "receipt_code": "Meldcode", "secret": "Geheime code", "follow_link": "Melding volgen",
        "follow_title": "Uw melding volgen", "show": "Bekijken",
        "status": "Status", "police_status": "Politie", "add_title": "Informatie toevoegen", "add_text": "Aanvulling", "add_submit": "Toevoegen",
        "withdraw_title": "Melding intrekken", "withdraw_confirm": "Ja, ik wil mijn melding intrekken",
        "withdraw_submit": "Intrekken", "added": "Uw aanvulling is toegevoegd.", "withdrawn": "Uw melding is ingetrokken.",
        "not_found": "Deze combinatie van meldcode en geheime code kennen wij niet.",
        "closed": "Deze melding is afgesloten of ingetrokken en kan niet meer worden gewijzigd.",
        "too_many": "U heeft te veel verzoeken gedaan. Probeer het over een paar minuten opnieuw.",
        "expired": "Het formulier is verlopen. Verstuur het opnieuw.",
        "other_language": "English", "other_lang_code": "en", "choose": "— kies —",
        "rel_target": "degene tegen wie het gericht was", "rel_witness": "getuige",
        "rel_manager": "leidinggevende, en meldt voor een medewerker",
    },
    "en": {
        "title": "Report aggression or violence", "picker_title": "Choose your municipality",
        "picker_intro": "Were you threatened, intimidated or attacked as a civil servant or office holder? Report it here.",
        "intro": "Report aggression, violence, threats or intimidation against you or a colleague. Fields marked * are "
                 "required. You may report anonymously.",
        "what": "What happened?", "own_kind": "What kind of incident was it, in your own words",
        "description": "Description *", "categories": "Kind of incident (tick what fits)",
        "when": "When?", "occurred_date": "Date *", "occurred_time": "Time (if you know it)",
        "approximate": "The time is approximate",
        "where": "Where?", "location_type": "Kind of place", "location_detail": "Address or place (optional)",
        "target": "Who was it aimed at?", "target_role": "Role of the person it was aimed at",
        "target_department": "Department", "target_function": "Job title",
        "reporter_relation": "You are", "perpetrator": "Perpetrator (as far as known)",
        "perp_name": "Name", "perp_description": "Description", "perp_relation": "Relation",
        "perp_online_handle": "Online account", "perp_phone": "Phone number", "perp_vehicle": "Vehicle or licence plate",
        "consequences": "Consequences", "injuries": "Injuries", "damage": "Damage",
        "witness": "Witness", "witness_name": "Witness name", "witness_contact": "Witness contact",
        "evidence": "Evidence (photo, PDF, text or e-mail)", "evidence_hint": "At most {size} per file.",
        "you": "About you", "anonymous": "I report anonymously (you still get a receipt code to follow up)",
        "reporter_name": "Your name", "reporter_email": "E-mail address", "reporter_phone": "Phone number",
        "choices": "Your choices", "consent_contact": "The meldpunt may contact me",
        "contact_method": "How?", "by_email": "by e-mail", "by_phone": "by phone",
        "consent_inform_manager": "My manager may be informed",
        "aangifte_help": "I want help with reporting to the police (aangifte)",
        "consent_police_referral": "The report may be passed on to the police",
        "consent_employer_reports": "My employer may report to the police on my behalf",
        "honeypot": "Leave this field empty", "submit": "Send report",
        "errors_title": "Please check these fields:",
        "received_title": "Your report has been received",
        "receipt_intro": "Keep these safe. With the receipt code and the secret you can follow, add to or withdraw "
                         "your report. The secret is not shown again.",
        "receipt_code": "Receipt code", "secret": "Secret", "follow_link": "Follow your report",
        "follow_title": "Follow your report", "show": "Show",
        "status": "Status", "police_status": "Police", "add_title": "Add information", "add_text": "Addition", "add_submit": "Add",
        "withdraw_title": "Withdraw report", "withdraw_confirm": "Yes, I want to withdraw my report",
        "withdraw_submit": "Withdraw", "added": "Your addition has been added.", "withdrawn": "Your report has been withdrawn.",
        "not_found": "We do not know this combination of receipt code and secret.",
        "closed": "This report is closed or withdrawn and can no longer be changed.",
        "too_many": "Too many requests. Please try again in a few minutes.",
        "expired": "The form has expired. Please send it again.",
        "other_language": "Nederlands", "other_lang_code": "nl", "choose": "— choose —",
        "rel_target": "the person it was aimed at", "rel_witness": "a witness",
        "rel_manager": "a manager, reporting for an employee",
    },
}

CODE_LABELS = {
    "nl": {"balie": "balie", "kantoor": "kantoor", "woning": "woonadres", "openbare_ruimte": "openbare ruimte",
           "raadsvergadering": "raadsvergadering", "telefoon": "telefoon", "email_brief": "e-mail of brief",
           "online": "sociale media of online", "overig": "anders",
           "ambtenaar": "ambtenaar", "burgemeester": "burgemeester", "wethouder": "wethouder", "raadslid": "raadslid",
           "griffier": "griffier", "handhaver": "handhaver/BOA",
           "verbale_agressie": "verbale agressie", "bedreiging": "bedreiging", "intimidatie": "intimidatie",
           "fysiek_geweld": "fysiek geweld", "discriminatie": "discriminatie", "vernieling": "vernieling",
           "ondermijning": "ondermijning",
           "resident": "inwoner", "client": "klant of cliënt", "colleague": "collega", "unknown": "onbekend"},
    "en": {"balie": "counter", "kantoor": "office", "woning": "home address", "openbare_ruimte": "public space",
           "raadsvergadering": "council meeting", "telefoon": "phone", "email_brief": "e-mail or letter",
           "online": "social media or online", "overig": "other",
           "ambtenaar": "civil servant", "burgemeester": "mayor", "wethouder": "alderman", "raadslid": "councillor",
           "griffier": "council clerk", "handhaver": "enforcement officer (BOA)",
           "verbale_agressie": "verbal aggression", "bedreiging": "threat", "intimidatie": "intimidation",
           "fysiek_geweld": "physical violence", "discriminatie": "discrimination", "vernieling": "vandalism",
           "ondermijning": "ondermijning (organised crime undermining)",
           "resident": "resident", "client": "client", "colleague": "colleague", "unknown": "unknown"},
}

# marshmallow's messages (and ours) in the caller's language; anything else gets the generic message.
MESSAGES = {
    "required": {"nl": "Vul dit veld in.", "en": "Please fill in this field."},
    "invalid": {"nl": "Deze invoer klopt niet.", "en": "This value is not valid."},
    "length": {"nl": "Deze tekst is te lang.", "en": "This text is too long."},
    "choice": {"nl": "Kies een van de opties.", "en": "Choose one of the options."},
    "email": {"nl": "Dit is geen geldig e-mailadres.", "en": "This is not a valid e-mail address."},
    "phone": {"nl": "Dit is geen geldig telefoonnummer.", "en": "This is not a valid phone number."},
    "date": {"nl": "Vul een geldige datum in (jjjj-mm-dd).", "en": "Enter a valid date (yyyy-mm-dd)."},
    "time": {"nl": "Vul een geldige tijd in (uu:mm).", "en": "Enter a valid time (hh:mm)."},
    "future": {"nl": "Deze datum ligt in de toekomst.", "en": "This date lies in the future."},
    "contact_route": {"nl": "Geef een e-mailadres of telefoonnummer als wij contact mogen opnemen.",
                      "en": "Give an e-mail address or phone number if we may contact you."},
    "contact_method": {"nl": "Vul het bijbehorende e-mailadres of telefoonnummer in.",
                       "en": "Fill in the matching e-mail address or phone number."},
    "too_large": {"nl": "Dit bestand is te groot (maximaal {limit}).", "en": "This file is too large (at most {limit})."},
    "case_full": {"nl": "Er is al te veel bewijs bij deze melding (maximaal {limit} in totaal).",
                  "en": "This report already holds too much evidence (at most {limit} in total)."},
    "wrong_type": {"nl": "Dit soort bestand kunnen wij niet aannemen: alleen foto's, pdf, tekst of e-mail.",
                   "en": "We cannot accept this kind of file: only photos, PDF, text or e-mail."},
    "empty": {"nl": "Dit bestand is leeg.", "en": "This file is empty."},
    "confirm": {"nl": "Vink aan dat u de melding wilt intrekken.", "en": "Tick the box to confirm the withdrawal."},
    "staff_channel": {"nl": "Een registratie door een medewerker noemt het kanaal: telefoon, balie of brief.",
                      "en": "Staff registration needs one of telefoon, balie, brief."},
    "api_channel": {"nl": "Een gemeentekanaal meldt als api.", "en": "A municipality channel reports as api."},
    "idempotency_key_format": {"nl": "1 tot 200 zichtbare ASCII-tekens", "en": "1 to 200 visible ASCII characters"},
    "idempotency_key_used": {"nl": "al gebruikt voor een andere inhoud", "en": "already used for a different body"},
    "not_a_draft": {"nl": "Deze melding is geen concept (meer).", "en": "This case is not a draft (any more)."},
    "json_type": {"nl": "stuur de inhoud als application/json", "en": "send the body as application/json"},
    "body_size": {"nl": "de inhoud mag hoogstens {limit} bytes zijn", "en": "the body may be at most {limit} bytes"},
    "json_syntax": {"nl": "de inhoud is geen geldige JSON", "en": "the body is not valid JSON"},
    "case_closed": {"nl": "Deze melding is afgesloten of ingetrokken.", "en": "This case is closed or withdrawn."},
}

# The problem+json `detail` of an API refusal, in the caller's language.
API_DETAILS = {
    400: {"nl": "het verzoek klopt niet", "en": "the request is malformed"},
    409: {"nl": "dit kan niet in de huidige toestand van de melding", "en": "not possible in the case's current state"},
    413: {"nl": "te groot", "en": "too large"},
    415: {"nl": "dit soort inhoud wordt niet aangenomen", "en": "this kind of content is not accepted"},
    422: {"nl": "een of meer velden kloppen niet", "en": "one or more fields are invalid"},
}
_EVIDENCE_STATUS = {"too_large": (413, "Content Too Large"), "case_full": (413, "Content Too Large"),
                    "wrong_type": (415, "Unsupported Media Type"), "empty": (422, "Unprocessable Content")}


def api_problem(status: int, title: str, lang: str, key: str, field: str, **params):
    """A problem+json refusal naming `field`, its reason (MESSAGES[key]) in the caller's language."""
    from shared.http import Problem

    return Problem(status, title, API_DETAILS[status][lang],
                   invalid_params=[{"name": field, "reason": MESSAGES[key][lang].format(**params)}])


_AUTH_NL = {"missing Authorization header": "de kopregel Authorization ontbreekt",
            "use Authorization: Bearer <key>": "gebruik Authorization: Bearer <sleutel>",
            "unknown API key": "onbekende API-sleutel"}


def auth_reason(reason: str, lang: str) -> str:
    """shared.auth's refusal (401/403) in the caller's language."""
    if lang != "nl":
        return reason
    if reason in _AUTH_NL:
        return _AUTH_NL[reason]
    match = re.match(r"a key with role (\w+) lacks the permission (\S+)$", reason)
    return f"een sleutel met rol {match[1]} heeft het recht {match[2]} niet" if match else reason


def evidence_problem(refused, lang: str):
    """An evidence file the API refuses (domain.EvidenceRefused): 413, 415 or 422 naming the field `file`."""
    status, title = _EVIDENCE_STATUS[refused.code]
    limit = refused.params.get("limit")
    return api_problem(status, title, lang, refused.code, "file", limit=human_size(limit) if limit else "")


def message(reason: str, lang: str) -> str:
    """One marshmallow (or intake) reason in the caller's language."""
    r = reason.lower()
    if "missing data" in r or "field may not be null" in r:
        key = "required"
    elif "in the future" in r:
        key = "future"
    elif "needs reporter.email or reporter.phone" in r:
        key = "contact_route"
    elif "contact_method" in r:
        key = "contact_method"
    elif "must be one of" in r:
        key = "choice"
    elif "email" in r:
        key = "email"
    elif "phone" in r:
        key = "phone"
    elif "length" in r or "shorter" in r or "longer" in r:
        key = "length"
    elif "datetime" in r or "date" in r:
        key = "date"
    else:
        key = "invalid"
    return MESSAGES[key][lang]


def human_size(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 else f"{n // 1024} kB"


# ---------------------------------------------------------------- form <-> report

FORM_TEXT_FIELDS = ("own_kind", "description", "occurred_date", "occurred_time", "location_type", "location_detail",
                    "target_role", "target_department", "target_function", "reporter_relation", "perp_name",
                    "perp_description", "perp_relation", "perp_online_handle", "perp_phone", "perp_vehicle",
                    "injuries", "damage", "witness_name", "witness_contact", "reporter_name", "reporter_email",
                    "reporter_phone", "contact_method")
FORM_FLAGS = ("anonymous", "approximate", "consent_contact", "consent_inform_manager", "aangifte_help",
              "consent_police_referral", "consent_employer_reports")

# Where an API field's error is shown on the form.
ERROR_FIELD = {
    "occurred_at": "occurred_date", "description": "description", "own_kind": "own_kind",
    "location_type": "location_type", "location_detail": "location_detail", "target_role": "target_role",
    "target.department": "target_department", "target.function": "target_function",
    "reporter_relation": "reporter_relation", "reporter.name": "reporter_name", "reporter.email": "reporter_email",
    "reporter.phone": "reporter_phone", "consent.contact": "consent_contact",
    "consent.contact_method": "contact_method", "injuries": "injuries", "damage": "damage",
    "categories": "categories", "witnesses.0.name": "witness_name", "witnesses.0.contact": "witness_contact",
}
for _name in ("name", "description", "relation", "online_handle", "phone", "vehicle"):
    ERROR_FIELD[f"perpetrators.0.{_name}"] = f"perp_{_name}"


def form_values(form) -> dict:
    values = {name: (form.get(name) or "").strip() for name in FORM_TEXT_FIELDS}
    values.update({name: form.get(name) == "on" for name in FORM_FLAGS})
    values["categories"] = [c for c in form.getlist("categories") if c in v.CATEGORIES]
    return values


def report_from_form(values: dict) -> tuple[dict, dict]:
    """The API body for IncidentReportSchema, plus form-level errors (field -> message key) found before it."""
    errors = {}
    body: dict = {"description": values["description"] or None}
    date, clock = values["occurred_date"], values["occurred_time"]
    if not date:
        errors["occurred_date"] = "required"
    elif clock and not _looks_like_time(clock):
        errors["occurred_time"] = "time"
    else:
        body["occurred_at"] = f"{date}T{clock or '00:00'}:00"
        body["occurred_at_precision"] = "day" if not clock else ("hour" if values["approximate"] else "exact")
    for name in ("own_kind", "location_detail", "injuries", "damage"):
        if values[name]:
            body[name] = values[name]
    for name in ("location_type", "target_role", "reporter_relation"):
        if values[name]:
            body[name] = values[name]
    if values["target_department"] or values["target_function"]:
        body["target"] = {k: values[f"target_{k}"] for k in ("department", "function") if values[f"target_{k}"]}
    perpetrator = {k: values[f"perp_{k}"] for k in ("name", "description", "relation", "online_handle", "phone",
                                                      "vehicle") if values[f"perp_{k}"]}
    if set(perpetrator) - {"relation"}:
        body["perpetrators"] = [perpetrator]
    if values["witness_name"] or values["witness_contact"]:
        body["witnesses"] = [{k: values[f"witness_{k}"] for k in ("name", "contact") if values[f"witness_{k}"]}]
    if not values["anonymous"]:
        reporter = {k: values[f"reporter_{k}"] for k in ("name", "email", "phone") if values[f"reporter_{k}"]}
        if reporter:
            body["reporter"] = reporter
    consent = {"contact": values["consent_contact"] and not values["anonymous"],
               "inform_manager": values["consent_inform_manager"],
               "police_referral": values["consent_police_referral"],
               "employer_reports": values["consent_employer_reports"]}
    if consent["contact"] and values["contact_method"] in v.REPORTER_CONTACT_METHODS:
        consent["contact_method"] = values["contact_method"]
    body["consent"] = consent
    body["aangifte_help"] = values["aangifte_help"]
    if values["categories"]:
        body["categories"] = values["categories"]
    return body, errors


def _looks_like_time(text: str) -> bool:
    parts = text.split(":")
    return len(parts) == 2 and all(p.isdigit() for p in parts) and int(parts[0]) < 24 and int(parts[1]) < 60


def form_errors(invalid_params: list[dict], lang: str) -> dict:
    out = {}
    for param in invalid_params:
        field = ERROR_FIELD.get(param["name"])
        if field is None:
            field = ERROR_FIELD.get(param["name"].rsplit(".", 1)[0], "description")
        out.setdefault(field, message(param["reason"], lang))
    return out
