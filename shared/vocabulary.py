"""The domain's code lists, shared by the intake contract, the events and statistics.

Codes are Dutch where the Dutch word is the domain's word; docs/glossary.md explains each.
"""

# A municipality is named by its CBS gemeentecode (GM and four digits); a police unit (basisteam) by
# a code of lower-case letters, digits and dashes. The marshmallow validators are in shared/schemas.py.
MUNICIPALITY_CODE_PATTERN = r"^GM\d{4}$"
POLICE_UNIT_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
# A partner subscriber's name (docs/partners.md): riec-zeeland, slachtofferhulp-zeeland.
SUBSCRIBER_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,39}$"

LOCATION_TYPES = ("balie", "kantoor", "woning", "openbare_ruimte", "raadsvergadering",
                  "telefoon", "email_brief", "online", "overig")

TARGET_ROLES = ("ambtenaar", "burgemeester", "wethouder", "raadslid", "griffier",
                "handhaver", "overig")

# Political office holders: incidents against them are reported to the burgemeester.
POLITICAL_OFFICE_HOLDERS = ("burgemeester", "wethouder", "raadslid")

# Roles a municipality has one holder of: a count of incidents against one is about one person,
# so statistics never shows another municipality's or the region's count of them.
SINGLE_HOLDER_ROLES = ("burgemeester", "griffier")

CATEGORIES = ("verbale_agressie", "bedreiging", "intimidatie", "fysiek_geweld",
              "discriminatie", "vernieling", "ondermijning", "seksuele_intimidatie", "doxing", "overig")

# A region may add categories of its own in its triage rules file (`own_categories`). Their codes
# travel in events and statistics like the fixed ones, so they are held to a code's shape (never
# free text) and accepted only when the region's rules declare them (use_own_categories).
CATEGORY_CODE = r"^[a-z][a-z0-9_]{2,31}$"
MAX_OWN_CATEGORIES = 20
_own_categories: tuple = ()


def use_own_categories(codes) -> None:
    """The region's own categories, from its rules file; set when the region is loaded (one region per
    process), so that events, the intake contract and statistics accept exactly these beside CATEGORIES."""
    global _own_categories
    _own_categories = tuple(c for c in codes if c not in CATEGORIES)


def own_categories() -> tuple:
    return _own_categories


def category_codes() -> tuple:
    """The fixed categories, then the region's own."""
    return CATEGORIES + _own_categories


def is_category(code: str) -> bool:
    return code in CATEGORIES or code in _own_categories


def category_validators() -> list:
    """marshmallow validators of one category code: a code's shape first (so nothing else can pass
    as one), then one of CATEGORIES or of the region's own."""
    from marshmallow import ValidationError, validate

    def known(code):
        if not is_category(code):
            raise ValidationError(f"Must be one of: {', '.join(category_codes())}.")

    return [validate.Regexp(CATEGORY_CODE, error="must be a category code"), known]

URGENCIES = ("acuut", "hoog", "normaal", "laag")

DECISIONS = ("police_referral", "aftercare", "inform_mayor", "riec_signal",
             "inform_manager", "safety_advice")

# What a repeat links: the same perpetrator, or the same victim (within one municipality).
REPEAT_KINDS = ("perpetrator", "victim")

# What kinds of evidence file the hub takes in (and serves back, as the kind it recorded).
EVIDENCE_MEDIA_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain",
                        "message/rfc822")

CHANNELS = ("api", "formulier", "telefoon", "balie", "brief", "email", "import")

CONSENTS = ("contact", "police_referral", "inform_manager", "employer_reports")

REFERRAL_STATUSES = ("created", "accepted", "aangifte_gepland", "aangifte_gedaan",
                     "bij_om", "afgesloten", "afgewezen", "ingetrokken")

# Why the hub withdrew a referral from the police (`referral_withdrawn`): the reporter or staff
# withdrew the report, a person removed the decision to refer, or staff closed the case.
REFERRAL_WITHDRAWAL_REASONS = ("reporter_withdrew", "staff_withdrew", "decision_removed", "case_closed")

# The ELA checklist of a police referral (docs/police-liaison.md#ela-checklist).
ELA_FLAGS = ("vpt_registered", "domiciliekeuze", "employer_aangifte", "priority_handling", "claim_damages")

REFERRAL_OUTCOMES = ("veroordeling", "sepot", "schikking", "other")

# Who makes the aangifte (issue 20): the victim, or the employer on the victim's behalf with a mandate.
AANGIFTE_BY = ("victim", "employer")

# The police status in plain words, for the case and the reporter's follow-up page.
REFERRAL_STATUS_WORDS = {
    "created": "Doorverwezen naar de politie; wacht op een reactie van het basisteam.",
    "accepted": "De politie heeft de doorverwijzing in behandeling genomen.",
    "aangifte_gepland": "Er is een afspraak gepland om aangifte te doen.",
    "aangifte_gedaan": "De aangifte is opgenomen door de politie.",
    "bij_om": "De zaak ligt bij het Openbaar Ministerie.",
    "afgesloten": "De politie heeft de zaak afgesloten.",
    "afgewezen": "De politie heeft de doorverwijzing niet in behandeling genomen.",
    "ingetrokken": "De doorverwijzing naar de politie is ingetrokken.",
}
REFERRAL_OUTCOME_WORDS = {
    "veroordeling": "De dader is veroordeeld.",
    "sepot": "Het Openbaar Ministerie heeft de zaak geseponeerd (niet vervolgd).",
    "schikking": "De zaak is afgedaan met een schikking.",
    "other": "De zaak is op een andere manier afgedaan.",
}
NO_REFERRAL_WORDS = "Er is geen doorverwijzing naar de politie."


def referral_status_words(status: str, outcome: str | None = None) -> str:
    text = REFERRAL_STATUS_WORDS[status]
    if status == "afgesloten" and outcome:
        text = f"{text} {REFERRAL_OUTCOME_WORDS[outcome]}"
    return text

# AMQP message priority per urgency: acute incidents overtake any backlog.
URGENCY_PRIORITY = {"acuut": 9, "hoog": 5, "normaal": 0, "laag": 0}

# Aftercare (opvang en nazorg): contact moments of a care plan, how contact was made and
# how it went, the help a reporter can be referred to, and why a plan is closed.
# Plans made since issue 20 follow the Dutch practice (about two weeks, six to eight weeks); the two older
# kinds stay valid for plans made before.
CONTACT_MOMENTS = ("first_contact", "follow_up_week", "follow_up_weeks_4_6", "extra", "follow_up_2_weeks",
                   "follow_up_6_8_weeks")
CONTACT_METHODS = ("phone", "visit", "video", "mail")
CONTACT_OUTCOMES = ("reached", "not_reached", "rescheduled", "contact_refused")
REFERRAL_KINDS = ("collegiale_opvang", "bedrijfsmaatschappelijk_werk", "bedrijfsarts",
                  "slachtofferhulp", "huisarts")
REFERRAL_RESULTS = ("accepted", "declined", "completed", "not_reached")
# Issue 20: witnesses and colleagues get a care track of their own (with their own consent), and referrals to
# help are handovers to a partner with a status and a follow-up (docs/aftercare.md).
WITNESS_ROLES = ("witness", "colleague")
HANDOVER_PARTNERS = ("slachtofferhulp", "bedrijfsmaatschappelijk_werk", "bedrijfsarts", "weerbaar_bestuur")
HANDOVER_STATUSES = ("voorgesteld", "overgedragen", "afgerond", "afgewezen")
# Political office holders, for whom the Ondersteuningsteam Weerbaar Bestuur is there.
POLITICAL_ROLES = ("burgemeester", "wethouder", "raadslid")
# What of the person a handover may give the partner (field names; the values stay in the case store).
HANDOVER_FIELDS = ("name", "phone", "email", "target_role", "categories", "occurred_at")
CLOSE_REASONS = ("completed", "declined", "no_contact_possible", "referred_elsewhere", "other",
                 # closed by the hub when a person's decision changed (issue 19): the report was
                 # withdrawn, aftercare is no longer decided, or staff closed the case
                 "withdrawn", "decision_removed", "case_closed")

# How exact the reporter's "when" is; a window uses occurred_until.
OCCURRED_AT_PRECISIONS = ("exact", "hour", "day")

# Who is reporting, relative to the person the incident was aimed at.
REPORTER_RELATIONS = ("target", "witness", "manager")

# Who the perpetrator is to the target.
PERPETRATOR_RELATIONS = ("resident", "client", "colleague", "unknown")

# How the reporter wants to be contacted, when contact is allowed.
REPORTER_CONTACT_METHODS = ("email", "phone")

# What an incident_updated event says was added (never the content itself).
INCIDENT_CHANGES = ("description", "evidence", "perpetrators", "witnesses", "consent", "details")

# Who withdrew a report.
WITHDRAWERS = ("reporter", "staff")

# Conflicts of interest: the perpetrator or subject of a report is close to those who would handle
# it. Such a case goes to the regional coordinator or another municipality's meldpunt (docs/workbench.md).
CONFLICT_KINDS = ("colleague", "manager", "meldpunt_staff", "leadership")

# Why staff close or withdraw a case from the workbench.
STAFF_CLOSE_REASONS = ("handled", "no_follow_up_wanted", "duplicate", "not_an_incident", "other")


# ---------------------------------------------------------------- signals (services/signals)

# What a named role must act on (docs/signals.md). services/signals/domain.py maps events to these.
SIGNAL_KINDS = ("inform_burgemeester", "inform_manager", "riec_signal", "safety_advice", "triage_overdue",
                "care_contact_due", "care_contact_overdue", "repeat", "referral_escalated", "reporter_replied",
                "aangifte_reminder")
# The roles that own signals (shared/auth.py's roles held by people).
SIGNAL_OWNER_ROLES = ("coordinator", "staff", "aftercare_worker", "police_liaison")
# Where a signal belongs: the case's municipality, or the region (the regional coordinator).
SIGNAL_SCOPES = ("municipality", "region")
SIGNAL_STATES = ("open", "taken", "handled")
# How a person handled a signal.
SIGNAL_OUTCOMES_BY_PEOPLE = ("done", "not_needed", "contact_made", "not_reached", "forwarded")
# How the hub closed a signal itself: what it asked for happened (a contact recorded, the referral
# accepted), a person removed the decision, or the case was withdrawn or closed.
SIGNAL_OUTCOMES_BY_HUB = ("resolved", "decision_removed", "case_withdrawn", "case_closed")
SIGNAL_OUTCOMES = SIGNAL_OUTCOMES_BY_PEOPLE + SIGNAL_OUTCOMES_BY_HUB

# Two municipalities' coordinators who know the same perpetrator talked (never about what).
REPEAT_CONTACT_OUTCOMES = ("coordinated", "no_action_needed", "not_reached")
# Which of the two cases a repeat link names: the new case, or the earlier one elsewhere.
REPEAT_SIDES = ("new_case", "earlier_case")

# Messages between staff and the reporter on the follow-up page (their text stays encrypted in intake).
MESSAGE_DIRECTIONS = ("to_reporter", "from_reporter")
