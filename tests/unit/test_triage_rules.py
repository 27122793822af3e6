"""services/triage/domain.py: the basic triage rules, as a table of Dutch cases."""
from __future__ import annotations

import copy
import itertools
import uuid

import pytest

from services.triage.domain import RULES_VERSION, triage
from shared import vocabulary as v
from shared.events import new_event
from tests.unit.samples import consent, incident

ALL_CONSENT = consent(contact=True, police_referral=True, inform_manager=True, employer_reports=True)

# (case, incident_reported payload, categories, urgency, decisions)
SCENARIOS = [
    ("wethouder bedreigd aan de voordeur, wil aangifte en nazorg",
     incident(location_type="woning", target_role="wethouder", reported_categories=["bedreiging"],
              consent=consent(contact=True, police_referral=True)),
     ["bedreiging"], "acuut", ["police_referral", "aftercare", "inform_mayor", "safety_advice"]),

    ("wethouder bedreigd aan huis, anoniem en zonder toestemming",
     incident(location_type="woning", target_role="wethouder", reported_categories=["bedreiging"],
              anonymous=True),
     ["bedreiging"], "acuut", ["inform_mayor", "safety_advice"]),

    ("baliemedewerker uitgescholden, wil alleen nazorg",
     incident(location_type="balie", target_role="ambtenaar", reported_categories=["verbale_agressie"],
              consent=consent(contact=True)),
     ["verbale_agressie"], "normaal", ["aftercare"]),

    ("handhaver geduwd op straat, wil aangifte, nazorg en leidinggevende informeren",
     incident(location_type="openbare_ruimte", target_role="handhaver", reported_categories=["fysiek_geweld"],
              perpetrator_count=2, consent=consent(contact=True, police_referral=True, inform_manager=True)),
     ["fysiek_geweld"], "hoog", ["police_referral", "aftercare", "inform_manager"]),

    ("raadslid online gediscrimineerd, wil aangifte maar geen contact",
     incident(channel="formulier", location_type="online", target_role="raadslid",
              reported_categories=["discriminatie"], perpetrator_count=0,
              consent=consent(police_referral=True)),
     ["discriminatie"], "normaal", ["police_referral", "inform_mayor"]),

    ("vergunningverlener ziet signalen van ondermijning",
     incident(location_type="kantoor", target_role="ambtenaar", reported_categories=["ondermijning"],
              consent=consent(contact=True)),
     ["ondermijning"], "hoog", ["aftercare", "riec_signal"]),

    ("burgemeester geïntimideerd bij de woning (fakkels voor de deur)",
     incident(location_type="woning", target_role="burgemeester", reported_categories=["intimidatie"],
              perpetrator_count=15, consent=consent(contact=True, police_referral=True)),
     ["intimidatie"], "normaal", ["police_referral", "aftercare", "inform_mayor", "safety_advice"]),

    ("griffier meldt iets zonder categorie tijdens de raadsvergadering",
     incident(location_type="raadsvergadering", target_role="griffier", reported_categories=[]),
     ["overig"], "normaal", []),

    ("ambtenaar kiest zelf 'overig' voor een vervelend telefoontje",
     incident(channel="telefoon", location_type="telefoon", target_role="ambtenaar",
              reported_categories=["overig"], consent=consent(contact=True)),
     ["overig"], "laag", ["aftercare"]),

    ("ruit van het kantoor van de wethouder ingegooid na een bedreiging (dubbel gemeld)",
     incident(location_type="kantoor", target_role="wethouder",
              reported_categories=["vernieling", "bedreiging", "vernieling"],
              consent=consent(police_referral=True)),
     ["bedreiging", "vernieling"], "hoog", ["police_referral", "inform_mayor"]),

    ("wethouder bedreigd aan huis door criminelen, alle toestemming",
     incident(location_type="woning", target_role="wethouder", reported_categories=["ondermijning", "bedreiging"],
              consent=ALL_CONSENT),
     ["bedreiging", "ondermijning"], "acuut",
     ["police_referral", "aftercare", "inform_mayor", "riec_signal", "inform_manager", "safety_advice"]),

    ("handhaver thuis geslagen, wil aangifte maar geen contact",
     incident(location_type="woning", target_role="handhaver", reported_categories=["fysiek_geweld"],
              consent=consent(police_referral=True)),
     ["fysiek_geweld"], "acuut", ["police_referral", "safety_advice"]),

    ("auto van raadslid bij de woning bekrast",
     incident(location_type="woning", target_role="raadslid", reported_categories=["vernieling"],
              perpetrator_count=0, consent=consent(police_referral=True)),
     ["vernieling"], "normaal", ["police_referral", "inform_mayor"]),

    ("dreigbrief aan een ambtenaar, alleen leidinggevende informeren",
     incident(channel="brief", location_type="email_brief", target_role="ambtenaar",
              reported_categories=["bedreiging"], consent=consent(inform_manager=True)),
     ["bedreiging"], "hoog", ["inform_manager"]),

    ("werkgever mag melden, verder niets: geen gevolgen voor triage",
     incident(location_type="balie", target_role="ambtenaar", reported_categories=["verbale_agressie"],
              consent=consent(employer_reports=True)),
     ["verbale_agressie"], "normaal", []),
]


@pytest.mark.parametrize("case, reported, categories, urgency, decisions", SCENARIOS,
                         ids=[s[0] for s in SCENARIOS])
def test_scenario(case, reported, categories, urgency, decisions):
    result = triage(reported)

    assert result.categories == categories
    assert result.urgency == urgency
    assert result.decisions == decisions


@pytest.mark.parametrize("reported", [s[1] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS])
def test_every_result_explains_itself_and_fits_the_triaged_event(reported):
    result = triage(reported)

    assert result.reasons and all(isinstance(r, str) and r for r in result.reasons)
    assert result.rules_version == RULES_VERSION
    assert len(set(result.decisions)) == len(result.decisions)
    event = new_event("incident_triaged", "GM0687", uuid.uuid4(), {
        "categories": result.categories, "urgency": result.urgency, "decisions": result.decisions,
        "rules_version": result.rules_version, "occurred_at": reported["occurred_at"],
        "location_type": reported["location_type"], "target_role": reported["target_role"]})
    assert event.payload["decisions"] == result.decisions


def test_missing_consent_for_police_is_explained():
    result = triage(incident(location_type="woning", target_role="wethouder", reported_categories=["bedreiging"]))

    assert "police_referral" not in result.decisions
    assert any("geen toestemming" in r and "politie" in r for r in result.reasons)


def test_no_category_asks_staff_to_look():
    result = triage(incident(reported_categories=[]))

    assert result.categories == ["overig"]
    assert any("'overig'" in r and "medewerker" in r for r in result.reasons)


def test_acute_results_get_the_highest_message_priority():
    acute = triage(SCENARIOS[0][1])

    assert acute.priority == v.URGENCY_PRIORITY["acuut"] == max(v.URGENCY_PRIORITY.values())
    assert triage(SCENARIOS[2][1]).priority == v.URGENCY_PRIORITY["normaal"]


def test_triage_leaves_the_incident_untouched():
    reported = SCENARIOS[9][1]
    before = copy.deepcopy(reported)

    triage(reported)

    assert reported == before


@pytest.mark.parametrize("category", v.CATEGORIES)
def test_never_a_police_referral_without_consent(category):
    for location, role in itertools.product(v.LOCATION_TYPES, v.TARGET_ROLES):
        reported = incident(location_type=location, target_role=role, reported_categories=[category],
                            consent=consent(contact=True, inform_manager=True, employer_reports=True))
        assert "police_referral" not in triage(reported).decisions, (location, role)


@pytest.mark.parametrize("role", v.TARGET_ROLES)
def test_mayor_is_informed_exactly_for_political_office_holders(role):
    decisions = triage(incident(target_role=role)).decisions

    assert ("inform_mayor" in decisions) == (role in ("burgemeester", "wethouder", "raadslid"))
