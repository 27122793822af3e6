"""The words the workbench shows for the hub's codes, in Dutch (the source language of the Babel
catalogue; English comes from locale/en). One table per code list of shared/vocabulary.py."""
from __future__ import annotations

STATUS = {
    "ontvangen": "Ontvangen", "in_behandeling": "In behandeling", "doorverwezen": "Doorverwezen",
    "nazorg": "Nazorg", "afgesloten": "Afgesloten", "ingetrokken": "Ingetrokken",
}
URGENCY = {"acuut": "Acuut", "hoog": "Hoog", "normaal": "Normaal", "laag": "Laag"}
CATEGORY = {
    "verbale_agressie": "Verbale agressie", "bedreiging": "Bedreiging", "intimidatie": "Intimidatie",
    "fysiek_geweld": "Fysiek geweld", "discriminatie": "Discriminatie", "vernieling": "Vernieling",
    "ondermijning": "Ondermijning", "seksuele_intimidatie": "Seksuele intimidatie", "doxing": "Doxing",
    "overig": "Overig",
}
CHANNEL = {
    "api": "Koppeling", "formulier": "Webformulier", "telefoon": "Telefoon", "balie": "Balie", "brief": "Brief",
    "email": "E-mail", "import": "Import",
}
TRIAGE_STATUS = {"voorstel": "Voorstel", "bevestigd": "Bevestigd", "overschreven": "Aangepast"}
DECISION = {
    "police_referral": "Doorverwijzen naar de politie", "aftercare": "Nazorg", "inform_mayor": "Burgemeester informeren",
    "riec_signal": "Signaal aan het RIEC", "inform_manager": "Leidinggevende informeren",
    "safety_advice": "Veiligheidsadvies",
}
CLOSE_REASON = {
    "handled": "Afgehandeld", "no_follow_up_wanted": "Melder wil geen vervolg", "duplicate": "Dubbele melding",
    "not_an_incident": "Geen incident", "other": "Anders",
}
END_KIND = {"afgesloten": "Afsluiten", "ingetrokken": "Intrekken"}
CONFLICT_KIND = {
    "colleague": "Een collega", "manager": "Een leidinggevende", "meldpunt_staff": "Iemand van het meldpunt",
    "leadership": "De gemeentelijke top",
}
MOMENT = {
    "first_contact": "Eerste contact", "follow_up_week": "Na een week", "follow_up_weeks_4_6": "Na 4 tot 6 weken",
    "extra": "Extra contact", "follow_up_2_weeks": "Na twee weken", "follow_up_6_8_weeks": "Na 6 tot 8 weken",
}
METHOD = {"phone": "Telefoon", "visit": "Bezoek", "video": "Video", "mail": "Mail"}
OUTCOME = {"reached": "Bereikt", "not_reached": "Niet bereikt", "rescheduled": "Verzet",
           "contact_refused": "Contact geweigerd"}
ELA = {
    "vpt_registered": "Geregistreerd als VPT-zaak", "domiciliekeuze": "Domiciliekeuze (adres van de werkgever)",
    "employer_aangifte": "Aangifte door de werkgever", "priority_handling": "Voorrang bij behandeling",
    "claim_damages": "Schade verhalen",
}
REFERRAL_STATUS = {
    "created": "Verstuurd", "accepted": "Opgepakt", "aangifte_gepland": "Aangifte gepland",
    "aangifte_gedaan": "Aangifte gedaan", "bij_om": "Bij het OM", "afgesloten": "Afgesloten",
    "afgewezen": "Afgewezen", "ingetrokken": "Ingetrokken",
}
LOCATION = {
    "balie": "Balie", "kantoor": "Kantoor", "woning": "Woning", "openbare_ruimte": "Openbare ruimte",
    "raadsvergadering": "Raadsvergadering", "telefoon": "Telefoon", "email_brief": "E-mail of brief",
    "online": "Online", "overig": "Overig",
}
TARGET = {
    "ambtenaar": "Ambtenaar", "burgemeester": "Burgemeester", "wethouder": "Wethouder", "raadslid": "Raadslid",
    "griffier": "Griffier", "handhaver": "Handhaver", "overig": "Overig",
}
ROLE = {
    "coordinator": "coördinator", "staff": "medewerker", "aftercare_worker": "nazorgmedewerker",
    "police_liaison": "politie-contactpersoon", "analyst": "analist", "operator": "beheerder",
}

PARTNER = {
    "slachtofferhulp": "Slachtofferhulp Nederland", "bedrijfsmaatschappelijk_werk": "Bedrijfsmaatschappelijk werk",
    "bedrijfsarts": "Bedrijfsarts", "weerbaar_bestuur": "Ondersteuningsteam Weerbaar Bestuur",
}
HANDOVER = {"voorgesteld": "Voorgesteld", "overgedragen": "Overgedragen", "afgerond": "Afgerond",
            "afgewezen": "Afgewezen"}
WITNESS = {"witness": "Getuige", "colleague": "Collega"}
CARE_CLOSE = {"completed": "Afgerond", "no_contact_possible": "Geen contact mogelijk",
              "referred_elsewhere": "Elders naar hulp verwezen", "other": "Anders"}
SHARED_FIELD = {"name": "Naam", "phone": "Telefoonnummer", "email": "E-mailadres", "target_role": "Functie",
                "categories": "Soort incident", "occurred_at": "Wanneer het gebeurde"}

TABLES = {
    "status": STATUS, "urgency": URGENCY, "category": CATEGORY, "channel": CHANNEL, "triage": TRIAGE_STATUS,
    "decision": DECISION, "close_reason": CLOSE_REASON, "end_kind": END_KIND, "conflict": CONFLICT_KIND,
    "moment": MOMENT, "method": METHOD, "outcome": OUTCOME, "ela": ELA, "referral": REFERRAL_STATUS,
    "location": LOCATION, "target": TARGET, "role": ROLE, "partner": PARTNER, "handover": HANDOVER,
    "witness": WITNESS, "care_close": CARE_CLOSE, "shared_field": SHARED_FIELD,
}


def label(table: str, code) -> str:
    """The Dutch words for a code (to be translated where shown); the code itself when unknown (a
    region's own category)."""
    if code is None:
        return ""
    return TABLES[table].get(code, str(code))


def all_texts() -> list[str]:
    """Every label, for the catalogue test (each must be in both catalogues)."""
    return sorted({text for table in TABLES.values() for text in table.values()})


def ela_items(referral: dict) -> list[dict]:
    """The referral's ELA checklist items as police_liaison answers them (`ela_checklist`: the region's versioned
    checklist), or the five flags of an older answer with the labels above."""
    items = (referral.get("ela_checklist") or {}).get("items")
    if items:
        return items
    return [{"code": flag, "label": ELA.get(flag, flag), "checked": on,
             "follows": "aangifte_option" if flag in ("domiciliekeuze", "employer_aangifte") else None}
            for flag, on in (referral.get("ela") or {}).items()]
