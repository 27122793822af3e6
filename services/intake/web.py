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

from shared import i18n
from shared import vocabulary
from shared.i18n import N_
from shared.ratelimit import TokenBucket  # noqa: F401 — the public form's limiter per address

TEMPLATES = Path(__file__).with_name("templates")
LOCALE = Path(__file__).with_name("locale")
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

# The form's texts by key, in the source language (English); the Dutch are in locale/nl. Templates
# read them as `t.<key>` from TEXTS[lang].
SOURCE_TEXTS = {
    # the privacy statement (AVG art. 13), the accessibility statement, the pages' meta description (issue 21)
    "meta_description": N_("Report aggression, threats or violence against civil servants and office holders to the"
                           " regional meldpunt of your municipality. You may report anonymously."),
    "privacy_link": N_("Privacy statement"),
    "accessibility_link": N_("Accessibility statement"),
    "privacy_who_h": N_("Who processes your data"),
    "privacy_who": N_("The municipality you report to is responsible for your report (the controller). The meldpunt"
                      " of {region} handles the reports of these municipalities:"),
    "privacy_why_h": N_("Why"),
    "privacy_why": N_("To record and handle reports of aggression and violence against people with a public task, "
                      "to offer aftercare, to refer a report to the police when you agree to it, and to count "
                      "incidents for the region without names. The basis is the municipality's legal duty to "
                      "protect its staff (AVG art. 6(1)(c)) and its public task (art. 6(1)(e)); information about "
                      "injuries is used for aftercare only (art. 9(2)(b) and (h))."),
    "privacy_what_h": N_("What we keep"),
    "privacy_what": N_("What you write in the form: what happened, when and where, who was involved, your contact "
                       "details if you give them, and the files you add. You may report anonymously. We do not use "
                       "cookies other than one that protects the form against misuse, and no trackers."),
    "privacy_how_long_h": N_("How long"),
    "privacy_how_long": N_("Your personal data is erased when the retention period of your municipality has passed "
                           "after your report was closed or withdrawn. Counts without names are kept."),
    "years_after_closure": N_("{years} years after closure"),
    "privacy_shared_h": N_("Who receives it"),
    "privacy_shared": N_("Only the staff of the meldpunt who handle reports, aftercare workers for aftercare, and "
                         "the police if you agreed to a referral. Every look at your data is recorded. Nothing is "
                         "sent outside the European Union."),
    "privacy_rights_h": N_("Your rights"),
    "privacy_rights": N_("You may ask to see, correct or erase your data, to restrict its use or to object to it "
                         "(AVG art. 15 to 21), and withdraw your consent to a police referral. Use the follow-up "
                         "page with your receipt code and secret, or write to the data protection officer. You may "
                         "also complain to the Autoriteit Persoonsgegevens (autoriteitpersoonsgegevens.nl)."),
    "privacy_officer_h": N_("Data protection officer (FG)"),
    "privacy_officer": N_("Questions about your data: {contact}."),
    "privacy_officer_default": N_("the data protection officer of your municipality (see its website)"),
    "accessibility_intro": N_("The meldpunt of {region} wants everyone to be able to use these pages, as the "
                              "Besluit digitale toegankelijkheid overheid asks. This statement covers the public "
                              "form and the follow-up page under /meld."),
    "accessibility_status_h": N_("Compliance status"),
    "accessibility_status": N_("Partially compliant. The pages are built to meet WCAG 2.1 level AA (EN 301 549): "
                               "they work without JavaScript and with a keyboard alone, text has a contrast of at "
                               "least 4.5:1, every field has a label and errors are named at the field. Each change"
                               " is checked with axe-core in a real browser. No independent audit has been done "
                               "yet."),
    "accessibility_problem_h": N_("Found a problem?"),
    "accessibility_problem": N_("Tell us at {contact}. We answer within five working days."),
    "accessibility_date": N_("This statement was drawn up on {date}."),
    "title": N_("Report aggression or violence"), "picker_title": N_("Choose your municipality"),
    "picker_intro": N_("Were you threatened, intimidated or attacked as a civil servant or office "
                       "holder? Report it here."),
    "intro": N_("Report aggression, violence, threats or intimidation against you or a colleague. "
                "Fields marked * are required. You may report anonymously."),
    "what": N_("What happened?"), "own_kind": N_("What kind of incident was it, in your own words"),
    "description": N_("Description *"), "categories": N_("Kind of incident (tick what fits)"), "when": N_("When?"),
    "occurred_date": N_("Date *"), "occurred_time": N_("Time (if you know it)"),
    "approximate": N_("The time is approximate"), "where": N_("Where?"), "location_type": N_("Kind of place"),
    "location_detail": N_("Address or place (optional)"), "target": N_("Who was it aimed at?"),
    "target_role": N_("Role of the person it was aimed at"), "target_department": N_("Department"),
    "target_function": N_("Job title"), "reporter_relation": N_("You are"),
    "perpetrator": N_("Perpetrator (as far as known)"), "perp_name": N_("Name"),
    "perp_description": N_("Description"), "perp_relation": N_("Relation"),
    "perp_online_handle": N_("Online account"), "perp_phone": N_("Phone number"),
    "perp_vehicle": N_("Vehicle or licence plate"), "consequences": N_("Consequences"), "injuries": N_("Injuries"),
    "damage": N_("Damage"), "witness": N_("Witness"), "witness_name": N_("Witness name"),
    "witness_contact": N_("Witness contact"), "evidence": N_("Evidence (photo, PDF, text or e-mail)"),
    "evidence_hint": N_("At most {size} per file."), "you": N_("About you"),
    "anonymous": N_("I report anonymously (you still get a receipt code to follow up)"),
    "reporter_name": N_("Your name"), "reporter_email": N_("E-mail address"), "reporter_phone": N_("Phone number"),
    "choices": N_("Your choices"), "consent_contact": N_("The meldpunt may contact me"),
    "contact_method": N_("How?"), "by_email": N_("by e-mail"), "by_phone": N_("by phone"),
    "consent_inform_manager": N_("My manager may be informed"),
    "aangifte_help": N_("I want help with reporting to the police (aangifte)"),
    "consent_police_referral": N_("The report may be passed on to the police"),
    "consent_employer_reports": N_("My employer may report to the police on my behalf"),
    "honeypot": N_("Leave this field empty"), "submit": N_("Send report"),
    "errors_title": N_("Please check these fields:"), "received_title": N_("Your report has been received"),
    "receipt_intro": N_("Keep these safe. With the receipt code and the secret you can follow, add to or "
                        "withdraw your report. The secret is not shown again."),
    "receipt_code": N_("Receipt code"), "secret": N_("Secret"), "follow_link": N_("Follow this report"),
    "follow_title": N_("Follow your report"), "show": N_("Show"), "status": N_("Status"),
    "police_status": N_("Police"), "add_title": N_("Add information"), "add_text": N_("Addition"),
    "add_submit": N_("Add"), "withdraw_title": N_("Withdraw report"),
    "withdraw_confirm": N_("Yes, I want to withdraw my report"), "withdraw_submit": N_("Withdraw"),
    "added": N_("Your addition has been added."), "withdrawn": N_("Your report has been withdrawn."),
    "messages_title": N_("Messages"), "from_meldpunt": N_("The meldpunt"), "from_you": N_("You"),
    "answer": N_("Your answer to the meldpunt"), "answer_submit": N_("Send answer"),
    "answered": N_("Your answer has been sent to the meldpunt."),
    "not_found": N_("We do not know this combination of receipt code and secret."),
    "closed": N_("This report is closed or withdrawn and can no longer be changed."),
    "too_many": N_("Too many requests. Please try again in a few minutes."),
    "expired": N_("The form has expired. Please send it again."), "choose": N_("— choose —"),
    "rel_target": N_("the person it was aimed at"), "rel_witness": N_("a witness"),
    "rel_manager": N_("a manager, reporting for an employee"), "notice_112": N_("In danger right now? Call 112."),
    "notice_112_more": N_("This form is not for emergencies: the meldpunt does not read it at once."),
    "danger": N_("Is there danger right now?"), "danger_no": N_("No"), "danger_yes": N_("Yes"),
    "danger_call": N_("Call 112 now."),
    "danger_call_more": N_("Are you or someone else in danger right now? Call 112 (police) first. Fill in "
                           "this form afterwards, when it is safe."),
    "receipt_danger": N_("You said there is danger right now. Is it still there? Call 112."),
}
# Each language's name in itself (not translated): the link that switches to it.
LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English"}

SOURCE_LABELS = {
    "balie": N_("counter"), "kantoor": N_("office"), "woning": N_("home address"),
    "openbare_ruimte": N_("public space"), "raadsvergadering": N_("council meeting"), "telefoon": N_("phone"),
    "email_brief": N_("e-mail or letter"), "online": N_("social media or online"), "overig": N_("other"),
    "ambtenaar": N_("civil servant"), "burgemeester": N_("mayor"), "wethouder": N_("alderman"),
    "raadslid": N_("councillor"), "griffier": N_("council clerk"), "handhaver": N_("enforcement officer (BOA)"),
    "verbale_agressie": N_("verbal aggression"), "bedreiging": N_("threat"), "intimidatie": N_("intimidation"),
    "fysiek_geweld": N_("physical violence"), "discriminatie": N_("discrimination"), "vernieling": N_("vandalism"),
    "ondermijning": N_("ondermijning (organised crime undermining)"),
    "seksuele_intimidatie": N_("sexual harassment"), "doxing": N_("doxing (personal data spread)"),
    "resident": N_("resident"), "client": N_("client"), "colleague": N_("colleague"), "unknown": N_("unknown"),
}

# marshmallow's messages (and ours) in the caller's language; anything else gets the generic message.
SOURCE_MESSAGES = {
    "required": N_("Please fill in this field."), "invalid": N_("This value is not valid."),
    "length": N_("This text is too long."), "choice": N_("Choose one of the options."),
    "email": N_("This is not a valid e-mail address."), "phone": N_("This is not a valid phone number."),
    "date": N_("Enter a valid date (yyyy-mm-dd)."), "time": N_("Enter a valid time (hh:mm)."),
    "future": N_("This date lies in the future."),
    "contact_route": N_("Give an e-mail address or phone number if we may contact you."),
    "contact_method": N_("Fill in the matching e-mail address or phone number."),
    "too_large": N_("This file is too large (at most {limit})."),
    "case_full": N_("This report already holds too much evidence (at most {limit} in total)."),
    "wrong_type": N_("We cannot accept this kind of file: only photos, PDF, text or e-mail."),
    "empty": N_("This file is empty."), "confirm": N_("Tick the box to confirm the withdrawal."),
    "staff_channel": N_("Staff registration needs one of telefoon, balie, brief."),
    "api_channel": N_("A municipality channel reports as api."),
    "idempotency_key_format": N_("1 to 200 visible ASCII characters"),
    "idempotency_key_used": N_("already used for a different body"),
    "not_a_draft": N_("This case is not a draft (any more)."),
    "json_type": N_("send the body as application/json"), "body_size": N_("the body may be at most {limit} bytes"),
    "json_syntax": N_("the body is not valid JSON"), "case_closed": N_("This case is closed or withdrawn."),
}

# The problem+json `detail` of an API refusal, in the caller's language.
SOURCE_API_DETAILS = {
    400: N_("the request is malformed"),
    409: N_("not possible in the case's current state"),
    413: N_("too large"),
    415: N_("this kind of content is not accepted"),
    422: N_("one or more fields are invalid"),
}
_EVIDENCE_STATUS = {"too_large": (413, "Content Too Large"), "case_full": (413, "Content Too Large"),
                    "wrong_type": (415, "Unsupported Media Type"), "empty": (422, "Unprocessable Content")}


def api_problem(status: int, title: str, lang: str, key: str, field: str, **params):
    """A problem+json refusal naming `field`, its reason (MESSAGES[key]) in the caller's language."""
    from shared.http import Problem

    return Problem(status, title, API_DETAILS[status][lang],
                   invalid_params=[{"name": field, "reason": MESSAGES[key][lang].format(**params)}])


_AUTH_REASONS = (N_("missing Authorization header"), N_("use Authorization: Bearer <key>"),
                 N_("unknown API key"))

# How the case's status reads on the follow-up page (domain.STATUSES).
SOURCE_STATUS_WORDS = {
    "ontvangen": N_("received"), "in_behandeling": N_("being handled"), "doorverwezen": N_("referred to the police"),
    "nazorg": N_("aftercare"), "afgesloten": N_("closed"), "ingetrokken": N_("withdrawn"),
}


def _translated(source: dict, lang: str) -> dict:
    gettext = i18n.translations(LOCALE, lang).gettext
    return {key: gettext(text) for key, text in source.items()}


# The same texts per language, as the templates and handlers read them.
TEXTS = {lang: {**_translated(SOURCE_TEXTS, lang), "other_lang_code": other, "other_language": LANGUAGE_NAMES[other]}
         for lang, other in (("nl", "en"), ("en", "nl"))}
CODE_LABELS = {lang: _translated(SOURCE_LABELS, lang) for lang in LANGUAGES}
STATUS_WORDS = {lang: _translated(SOURCE_STATUS_WORDS, lang) for lang in LANGUAGES}
MESSAGES = {key: {lang: _translated(SOURCE_MESSAGES, lang)[key] for lang in LANGUAGES} for key in SOURCE_MESSAGES}
API_DETAILS = {status: {lang: _translated(SOURCE_API_DETAILS, lang)[status] for lang in LANGUAGES}
               for status in SOURCE_API_DETAILS}
_AUTH_NL = _translated({reason: reason for reason in _AUTH_REASONS}, "nl")


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
    "categories": "categories", "direct_danger": "direct_danger", "witnesses.0.name": "witness_name", "witnesses.0.contact": "witness_contact",
}
for _name in ("name", "description", "relation", "online_handle", "phone", "vehicle"):
    ERROR_FIELD[f"perpetrators.0.{_name}"] = f"perp_{_name}"


def form_values(form) -> dict:
    values = {name: (form.get(name) or "").strip() for name in FORM_TEXT_FIELDS}
    values.update({name: form.get(name) == "on" for name in FORM_FLAGS})
    values["categories"] = [c for c in form.getlist("categories") if vocabulary.is_category(c)]
    values["direct_danger"] = form.get("direct_danger") == "ja"
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
    if consent["contact"] and values["contact_method"] in vocabulary.REPORTER_CONTACT_METHODS:
        consent["contact_method"] = values["contact_method"]
    body["consent"] = consent
    body["aangifte_help"] = values["aangifte_help"]
    body["direct_danger"] = bool(values.get("direct_danger"))
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
