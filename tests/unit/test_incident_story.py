"""One incident's whole story through the services' real handlers, in memory (tests/fakes.py): report →
triage → referral → care plan → statistics, and the override, the withdrawal, the repeat and a second
delivery. The same story through RabbitMQ and PostgreSQL is tests/integration/test_incident_path.py."""
from __future__ import annotations

import pytest

from shared.errors import Invalid, NotFound
from shared.events import CATALOGUE

from tests import fakes
from tests.fakes import InMemoryHub, case_ref, intake, triage

CODE = "GM0687"
CONSENT = {"contact": True, "police_referral": True, "inform_manager": True, "employer_reports": True}


def report(**overrides) -> dict:
    """A report as intake's schema loads it: a threat at the counter, the README's example."""
    from services.intake.schemas import IncidentReportSchema

    body = {
        "occurred_at": "2026-11-20T14:05:00+01:00",
        "description": "Een bezoeker schreeuwde aan de balie van het Stadskantoor dat hij mij iets zou aandoen "
                       "als ik zijn aanvraag niet goedkeur.",
        "location_type": "balie", "target_role": "ambtenaar", "categories": ["bedreiging", "verbale_agressie"],
        "reporter": {"name": "Sanne Jansen", "email": "s.jansen@example.nl"},
        "perpetrators": [{"name": "Kees Bakker", "birth_date": "1975-04-12"}],
        "consent": CONSENT,
    }
    return IncidentReportSchema().load({**body, **overrides})


def reported(hub: InMemoryHub, code: str = CODE, **overrides):
    with hub.case_store(code, "intake") as uow:
        case_id = intake.report_incident(report(**overrides), "api", uow, "apikey:k1 (balie)",
                                         store=fakes.STORES["intake"])
    hub.deliver()
    return case_id


def test_the_catalogue_and_the_in_memory_bus_agree():
    consumed = {(consumer, name) for name, spec in CATALOGUE.items() for consumer in spec.consumers}
    assert consumed == set(fakes.HANDLERS)


def test_an_incident_travels_from_report_to_statistics():
    hub = InMemoryHub()
    case_id = reported(hub)
    db = hub.databases[CODE]

    assert [e.event_type for e in db.events()] == ["incident_reported", "incident_triaged", "referral_created",
                                                   "aftercare_planned", "signal_raised"]  # inform_manager
    (signal,) = db.rows("signals.signals")
    assert (signal["kind"], signal["owner_role"], signal["state"]) == ("inform_manager", "staff", "open")
    assert len({e.correlation_id for e in db.events()}) == 1  # one story, one correlation id
    result = db.tables["triage.results"][case_id]
    assert (result["urgency"], result["status"]) == ("hoog", "voorstel")
    assert {"police_referral", "aftercare", "inform_manager"} <= set(result["decisions"])
    (referral,) = db.rows("police_liaison.referrals")
    assert (referral["case_id"], referral["police_unit"], referral["status"]) == (case_id, "zwb-walcheren", "created")
    assert referral["employer_aangifte"] is True  # the consent came with incident_triaged, not from intake's table
    (plan,) = db.rows("aftercare.care_plans")
    assert (plan["case_id"], plan["urgency"], plan["status"]) == (case_id, "hoog", "open")
    facts = hub.statistics.tables["statistics.incident_facts"][(CODE, case_ref(case_id))]
    assert (facts["urgency"], facts["referred"], facts["aftercare_planned"]) == ("hoog", True, True)
    assert not any(isinstance(v, str) and "Kees" in v for v in facts.values())  # codes and counts only
    assert [a["actor"] for a in db.audit] == ["apikey:k1 (balie)", "service:triage"]


def test_the_reporter_sees_how_far_the_case_has_come():
    hub = InMemoryHub()
    case_id = reported(hub)
    with hub.case_store(CODE) as uow:
        assert intake.status(uow, case_id, views=fakes.VIEWS) == "nazorg"


def test_staff_override_replans_aftercare_and_is_counted():
    hub = InMemoryHub()
    case_id = reported(hub)
    change = {"categories": ["bedreiging"], "urgency": "acuut", "decisions": ["police_referral", "aftercare"],
              "reason": "dreigt met geweld thuis"}
    with hub.case_store(CODE, "triage") as uow:
        triage.override(case_id, uow, "apikey:k2 (staff)", change, hub.now, store=fakes.STORES["triage"],
                        views=fakes.VIEWS)
    hub.deliver()

    db = hub.databases[CODE]
    assert db.tables["triage.results"][case_id]["status"] == "overschreven"
    (overridden,) = db.events("triage_overridden")
    assert (overridden.payload["previous_urgency"], overridden.payload["urgency"]) == ("hoog", "acuut")
    planned = db.events("aftercare_planned")
    assert [e.payload["urgency"] for e in planned] == ["hoog", "acuut"]  # re-planned
    assert db.rows("aftercare.care_plans")[0]["urgency"] == "acuut"
    facts = hub.statistics.tables["statistics.incident_facts"][(CODE, case_ref(case_id))]
    assert facts["overridden"] is True and facts["urgency"] == "acuut"


def test_an_override_the_reporter_did_not_consent_to_changes_nothing():
    hub = InMemoryHub()
    case_id = reported(hub, consent={**CONSENT, "contact": False})
    change = {"categories": ["bedreiging"], "urgency": "hoog", "decisions": ["aftercare"], "reason": "toch nazorg"}
    with pytest.raises(Invalid) as refused:
        with hub.case_store(CODE, "triage") as uow:
            triage.override(case_id, uow, "apikey:k2 (staff)", change, hub.now, store=fakes.STORES["triage"],
                            views=fakes.VIEWS)
    assert refused.value.invalid_params[0]["name"] == "decisions"
    db = hub.databases[CODE]
    assert db.tables["triage.results"][case_id]["status"] == "voorstel" and not db.events("triage_overridden")
    with pytest.raises(NotFound), hub.case_store(CODE, "triage") as uow:
        triage.confirm(fakes.uuid.uuid4(), uow, "apikey:k2 (staff)", "ok", hub.now, store=fakes.STORES["triage"])


def test_a_withdrawn_report_is_counted_as_withdrawn():
    hub = InMemoryHub()
    case_id = reported(hub)
    with hub.case_store(CODE, "intake") as uow:
        intake.withdraw(case_id, uow, "formulier", "reporter", store=fakes.STORES["intake"])
    hub.deliver()
    facts = hub.statistics.tables["statistics.incident_facts"][(CODE, case_ref(case_id))]
    assert facts["withdrawn"] is True
    with hub.case_store(CODE) as uow:
        assert intake.status(uow, case_id, views=fakes.VIEWS) == "ingetrokken"


def test_a_perpetrator_reported_again_is_a_repeat_here_and_elsewhere():
    hub = InMemoryHub()
    first = reported(hub)
    second = reported(hub)
    elsewhere = reported(hub, code="GM0664")

    repeats = {e.payload["kind"]: e for e in hub.databases[CODE].events("repeat_detected")}
    assert repeats["perpetrator"].case_id == second and repeats["perpetrator"].payload == {
        "kind": "perpetrator", "cases_in_municipality": 1, "other_municipalities": 0}
    assert repeats["victim"].payload["cases_in_municipality"] == 1  # the same reporter (keyed by e-mail)
    (there,) = hub.databases["GM0664"].events("repeat_detected")  # the victim is new there
    assert there.case_id == elsewhere and there.payload["kind"] == "perpetrator"
    assert there.payload["other_municipalities"] == 1
    assert first != second
    facts = hub.statistics.tables["statistics.incident_facts"]
    assert facts[(CODE, case_ref(second))].get("repeat_perpetrator") is True
    assert facts[("GM0664", case_ref(elsewhere))].get("repeat_elsewhere") is True


def test_a_second_delivery_changes_nothing():
    hub = InMemoryHub()
    reported(hub)
    db = hub.databases[CODE]
    before = (len(db.outbox), len(db.rows("police_liaison.referrals")), len(db.rows("aftercare.care_plans")))
    for consumer, event in list(hub.delivered):
        hub.redeliver(consumer, event)
    assert (len(db.outbox), len(db.rows("police_liaison.referrals")), len(db.rows("aftercare.care_plans"))) == before


def test_a_form_report_and_an_import_take_the_same_step_in():
    hub = InMemoryHub()
    with hub.case_store(CODE, "intake") as uow:
        by_form = intake.report_by_form(report(), [], uow, "AB12-CD34", "hash", store=fakes.STORES["intake"])
        draft = intake.receive(uow, report(), "email", "imap", draft=True, store=fakes.STORES["intake"])
    hub.deliver()
    reported_cases = [e.case_id for e in hub.databases[CODE].events("incident_reported")]
    assert reported_cases == [by_form]  # a draft is reported when staff complete it
    with hub.case_store(CODE, "intake") as uow:
        assert intake.complete_draft(draft, report(), uow, "apikey:k2 (staff)", "email", store=fakes.STORES["intake"])
    hub.deliver()
    assert [e.case_id for e in hub.databases[CODE].events("incident_reported")] == [by_form, draft]
