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

CHANNELS = ("api", "formulier", "telefoon", "balie", "brief", "email", "import")

CONSENTS = ("contact", "police_referral", "inform_manager", "employer_reports")

REFERRAL_STATUSES = ("created", "accepted", "aangifte_gepland", "aangifte_gedaan",
                     "bij_om", "afgesloten", "afgewezen")

# AMQP message priority per urgency: acute incidents overtake any backlog.
URGENCY_PRIORITY = {"acuut": 9, "hoog": 5, "normaal": 0, "laag": 0}

# How exact the reporter's "when" is; a window uses occurred_until.
OCCURRED_AT_PRECISIONS = ("exact", "hour", "day")

# Who is reporting, relative to the person the incident was aimed at.
REPORTER_RELATIONS = ("target", "witness", "manager")

# Who the perpetrator is to the target.
PERPETRATOR_RELATIONS = ("resident", "client", "colleague", "unknown")

# How the reporter wants to be contacted, when contact is allowed.
CONTACT_METHODS = ("email", "phone")

# What an incident_updated event says was added (never the content itself).
INCIDENT_CHANGES = ("description", "evidence", "perpetrators", "witnesses", "consent", "details")

# Who withdrew a report.
WITHDRAWERS = ("reporter", "staff")
