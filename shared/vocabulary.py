"""The domain's code lists, shared by the intake contract, the events and statistics.

Codes are Dutch where the Dutch word is the domain's word; docs/glossary.md explains each.
"""

LOCATION_TYPES = ("balie", "kantoor", "woning", "openbare_ruimte", "raadsvergadering",
                  "telefoon", "email_brief", "online", "overig")

TARGET_ROLES = ("ambtenaar", "burgemeester", "wethouder", "raadslid", "griffier",
                "handhaver", "overig")

# Political office holders: incidents against them are reported to the burgemeester.
POLITICAL_OFFICE_HOLDERS = ("burgemeester", "wethouder", "raadslid")

CATEGORIES = ("verbale_agressie", "bedreiging", "intimidatie", "fysiek_geweld",
              "discriminatie", "vernieling", "ondermijning", "overig")

URGENCIES = ("acuut", "hoog", "normaal", "laag")

DECISIONS = ("police_referral", "aftercare", "inform_mayor", "riec_signal",
             "inform_manager", "safety_advice")

# What a repeat links: the same perpetrator, or the same victim (within one municipality).
REPEAT_KINDS = ("perpetrator", "victim")

CHANNELS = ("api", "formulier", "telefoon", "balie", "brief", "email", "import")

CONSENTS = ("contact", "police_referral", "inform_manager", "employer_reports")

REFERRAL_STATUSES = ("created", "accepted", "aangifte_gepland", "aangifte_gedaan",
                     "bij_om", "afgesloten", "afgewezen")

REFERRAL_OUTCOMES = ("veroordeling", "sepot", "schikking", "other")

# AMQP message priority per urgency: acute incidents overtake any backlog.
URGENCY_PRIORITY = {"acuut": 9, "hoog": 5, "normaal": 0, "laag": 0}

# Aftercare (opvang en nazorg): contact moments of a care plan, how contact was made and
# how it went, the help a reporter can be referred to, and why a plan is closed.
CONTACT_MOMENTS = ("first_contact", "follow_up_week", "follow_up_weeks_4_6", "extra")
CONTACT_METHODS = ("phone", "visit", "video", "mail")
CONTACT_OUTCOMES = ("reached", "not_reached", "rescheduled", "contact_refused")
REFERRAL_KINDS = ("collegiale_opvang", "bedrijfsmaatschappelijk_werk", "bedrijfsarts",
                  "slachtofferhulp", "huisarts")
REFERRAL_RESULTS = ("accepted", "declined", "completed", "not_reached")
CLOSE_REASONS = ("completed", "declined", "no_contact_possible", "referred_elsewhere", "other")

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
