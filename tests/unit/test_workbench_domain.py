"""What the workbench decides, without a browser or a server (services/workbench/domain.py)."""
from datetime import datetime, timedelta, timezone

import pytest
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from shared import auth
from services.workbench import domain, options

PROVIDER = options.ProviderSchema().load({
    "issuer": "https://login.example.nl/tenant/v2.0", "client_id": "wb", "client_secret_env": "WB_SECRET",
    "roles_claim": "groups", "required_amr": ["mfa", "otp"],
    "roles": {"meldpunt-coord": "coordinator", "nazorg": "aftercare_worker", "politie": "police_liaison:zwb-walcheren"}})


def claims(**extra):
    return {"sub": "abc", "name": "Cora", "email": "c@x.nl", "groups": ["meldpunt-coord"], "amr": ["pwd", "mfa"],
            **extra}


def test_a_person_needs_the_multi_factor_the_region_file_names():
    assert domain.person_from_claims(claims(), "GM0687", PROVIDER).sub == "GM0687/abc"
    with pytest.raises(domain.NotAllowedIn, match="mfa"):
        domain.person_from_claims(claims(amr=["pwd"]), "GM0687", PROVIDER)
    with pytest.raises(domain.NotAllowedIn, match="mfa"):
        domain.person_from_claims(claims(amr=None, acr="urn:mfa"), "GM0687", PROVIDER)


def test_groups_map_to_roles_and_a_liaison_gets_a_unit():
    person = domain.person_from_claims(claims(groups=["nazorg", "meldpunt-coord", "kantine"]), "GM0687", PROVIDER)
    assert person.roles == ("coordinator", "aftercare_worker") and person.unit is None
    liaison = domain.person_from_claims(claims(groups=["politie"]), "GM0687", PROVIDER)
    assert liaison.roles == ("police_liaison",) and liaison.unit == "zwb-walcheren"
    with pytest.raises(domain.NotAllowedIn, match="no_role"):
        domain.person_from_claims(claims(groups=["kantine"]), "GM0687", PROVIDER)


@pytest.mark.parametrize("section, message", [
    ({"roles": {"g": "intake_channel"}}, "not a role a person may hold"),
    ({"roles": {"g": "police_liaison"}}, "unit"),
    ({"required_amr": [], "required_acr": []}, "multi-factor"),
    ({"client_secret_env": None}, "client_secret_file or client_secret_env"),
])
def test_provider_settings_are_checked(section, message):
    raw = {"issuer": "https://idp.example.nl", "client_id": "wb", "client_secret_env": "X", "required_amr": ["mfa"],
           "roles": {"g": "staff"}, **section}
    with pytest.raises(ValidationError, match=message):
        options.ProviderSchema().load(raw)


def test_sessions_end_when_idle_or_too_old():
    rules = domain.SessionRules(timedelta(minutes=30), timedelta(hours=8))
    start = datetime(2026, 12, 7, 9, tzinfo=timezone.utc)
    assert rules.state(start, start, start + timedelta(minutes=29)) == "active"
    assert rules.state(start, start, start + timedelta(minutes=30)) == "idle"
    assert rules.state(start, start + timedelta(hours=7, minutes=59), start + timedelta(hours=8)) == "expired"


@pytest.mark.parametrize("target, safe", [("/zaken?x=1", "/zaken?x=1"), ("//evil.example", "/"),
                                          ("https://evil.example", "/"), ("/\\evil", "/"), (None, "/")])
def test_after_sign_in_only_the_workbench_itself(target, safe):
    assert domain.safe_next(target) == safe


def test_the_case_list_filters_become_the_api_s_and_bad_ones_are_named():
    query = domain.CaseQuery.parse(MultiDict([("urgency", "acuut"), ("urgency", "heel"), ("assigned", "mine"),
                                              ("page", "3")]))
    assert query.errors == {"urgency": "choice"} and query.urgency == ["acuut"]
    open_ones = [("status", s) for s in domain.OPEN_STATUSES]  # without a status filter: the open cases
    assert query.api_params("GM0687/cora", 25) == open_ones + [("urgency", "acuut"), ("assigned_to", "GM0687/cora"),
                                                               ("limit", "25"), ("offset", "50")]
    everything = domain.CaseQuery.parse(MultiDict([("gesloten", "1")]))
    assert everything.api_params("x", 25) == [("limit", "25"), ("offset", "0")]
    assert everything.link() == "/zaken?gesloten=1"
    assert ("status", "ontvangen") not in domain.CaseQuery.parse(MultiDict([("q", "K7QM-3XRA")])).api_params("x", 25)
    assert query.link(page=4) == "/zaken?urgency=acuut&assigned=mine&page=4"
    assert domain.pages(51, 3, 25) == {"page": 3, "last": 3, "previous": 2, "next": None, "total": 51}


def person(roles, home="GM0687", unit=None):
    return auth.Principal(home, roles[0], None, "x", kind=auth.PERSON, sub="s", display_name="x", home=home,
                          roles=tuple(roles), unit=unit)


def test_the_menu_follows_the_role():
    assert [p for p, _ in domain.navigation(person(["coordinator"]))] == \
        ["/zaken", "/triage", "/nazorg", "/verwijzingen", "/signalen", "/dashboard"]
    assert [p for p, _ in domain.navigation(person(["aftercare_worker"]))] == ["/nazorg", "/signalen"]
    assert [p for p, _ in domain.navigation(person(["police_liaison"], unit="zwb-walcheren"))] == [
        "/verwijzingen", "/signalen"]
    assert [p for p, _ in domain.navigation(person(["coordinator"], home="region"))] == [
        "/regio", "/signalen", "/dashboard"]
    assert [p for p, _ in domain.navigation(person(["analyst"], home="region"))] == ["/dashboard"]


# ------------------------------------------------------------------ the case page's decisions

COLLEAGUES = [{"sub": "GM0687/sem", "display_name": "Sem Jansen"}, {"sub": "GM0687/cora", "display_name": "Cora"}]


def test_a_form_becomes_the_api_s_body_or_errors_next_to_its_fields():
    body, errors = domain.override_form(MultiDict([("categories", "bedreiging"), ("urgency", "hoog"),
                                                   ("decisions", "aftercare"), ("override_reason", "Dreigde met mes")]))
    assert errors == {} and body == {"categories": ["bedreiging"], "urgency": "hoog", "decisions": ["aftercare"],
                                     "reason": "Dreigde met mes"}
    _, errors = domain.override_form(MultiDict([("categories", "geen"), ("urgency", ""), ("override_reason", "x")]))
    assert errors == {"categories": "choice", "urgency": "choose", "override_reason": "too_short"}
    assert domain.assign_form(MultiDict({"assignee": "GM0687/sem"}), COLLEAGUES) == (
        {"assignee": "GM0687/sem", "assignee_name": "Sem Jansen"}, {})
    assert domain.assign_form(MultiDict({"assignee": ""}), COLLEAGUES) == ({"assignee": None}, {})
    assert domain.assign_form(MultiDict({"assignee": "GM0718/vera"}), COLLEAGUES)[1] == {"assignee": "colleague"}
    assert domain.note_form(MultiDict({"note": "  "}))[1] == {"note": "required"}
    assert domain.message_form(MultiDict({"message": "Wij bellen u."})) == ({"text": "Wij bellen u."}, {})
    assert domain.note_form(MultiDict({"note": "x" * 4001}))[1] == {"note": "too_long"}
    kind, body, errors = domain.end_form(MultiDict({"end_kind": "ingetrokken", "end_reason": "other"}))
    assert kind == "ingetrokken" and errors == {"end_note": "required"}  # "other" needs a word of explanation
    assert domain.end_form(MultiDict({"end_kind": "afgesloten", "end_reason": "handled"}))[1:] == (
        {"reason": "handled", "note": None}, {})
    body, errors = domain.conflict_form(MultiDict([("conflict_kind", "manager"), ("exclude_persons", "GM0687/sem"),
                                                   ("exclude_emails", "a@b.nl; c@d.nl")]), COLLEAGUES)
    assert errors == {} and body == {"kind": "manager", "exclude_persons": ["GM0687/sem"],
                                     "exclude_emails": ["a@b.nl", "c@d.nl"]}
    assert domain.conflict_form(MultiDict({"conflict_kind": "manager", "exclude_emails": "geen adres"}),
                                COLLEAGUES)[1] == {"exclude_emails": "email"}
    assert all(code in domain.MESSAGES for code in ("choice", "choose", "too_short", "too_long", "colleague", "email"))


def test_closing_a_care_moment_names_the_worker_by_a_staff_code():
    now = datetime(2026, 12, 7, 9, 30, tzinfo=timezone.utc)
    plan = {"status": "open", "moments": [
        {"kind": "follow_up_week", "due_at": "2026-12-14T09:00:00+00:00", "done_at": None},
        {"kind": "first_contact", "due_at": "2026-12-08T09:00:00+00:00", "done_at": None},
        {"kind": "follow_up_weeks_4_6", "due_at": "2027-01-10T09:00:00+00:00", "done_at": "2026-12-07T09:00:00+00:00"}]}
    assert domain.open_moments(plan) == ["first_contact", "follow_up_week"]
    assert domain.open_moments({**plan, "status": "closed"}) == [] and domain.open_moments(None) == []
    body, errors = domain.contact_form(MultiDict({"moment": "first_contact", "method": "phone",
                                                  "contact_outcome": "reached"}), ["first_contact"], "GM0687/Noor V", now)
    assert errors == {} and body["contacted_by"] == "gm0687.noor-v" and body["contacted_at"] == now.isoformat()
    assert domain.contact_form(MultiDict({"moment": "follow_up_weeks_4_6", "method": "phone",
                                          "contact_outcome": "reached"}), ["first_contact"], "s", now)[1] == {
        "moment": "choice"}
    assert domain.staff_code("region/" + "x" * 80).startswith("region.") and len(domain.staff_code("a" * 99)) == 40
    # only the items the page offered (ela_codes: not those that follow the aangifte option), ticked or not
    offered = [("ela_codes", c) for c in ("vpt_registered", "priority_handling", "snelrecht", "strafeis_200")]
    assert domain.ela_form(MultiDict(offered + [("ela_vpt_registered", "on"), ("ela_snelrecht", "on"),
                                                ("ela_domiciliekeuze", "on")])) == {
        "vpt_registered": True, "priority_handling": False, "snelrecht": True, "strafeis_200": False}


@pytest.mark.parametrize("kind, disposition, served", [
    ("image/png", 'attachment; filename="foto.png"', True), ("application/pdf", "attachment", True),
    ("text/html", "attachment", False), ("image/svg+xml", "attachment", False), ("image/png", "inline", False),
    (None, None, False)])
def test_evidence_goes_out_only_as_an_attachment_of_a_known_kind(kind, disposition, served):
    assert domain.evidence_may_be_served(kind, disposition) is served


def test_who_sees_what_of_the_work():
    class Region:
        codes = ("GM0687", "GM0718", "GM0664")
        units = {"GM0687": "zwb-walcheren", "GM0718": "zwb-walcheren", "GM0664": "zwb-de-bevelanden"}

        def municipality(self, code):
            return type("M", (), {"police_unit": self.units[code], "name": code.lower()})()

        def knows(self, code):
            return code in self.codes

    region = Region()
    assert domain.shows_contact_details(person(["aftercare_worker"]))
    assert not domain.shows_contact_details(person(["coordinator"]))
    assert domain.liaison_municipalities(person(["police_liaison"], unit="zwb-walcheren"), region) == [
        "GM0687", "GM0718"]
    assert domain.liaison_municipalities(person(["coordinator"]), region) == ["GM0687"]
    assert domain.act_in(person(["coordinator"], home="region"), region, "GM0718") == "GM0718"
    assert domain.act_in(person(["coordinator"]), region, "GM9999") is None
    assert domain.act_in(person(["coordinator"]), region, "GM0687") is None
    rows = domain.regional_rows(region, {"GM0687": {"ontvangen": 2, "afgesloten": 3}},
                                {"GM0687": [{"acute": True}, {"acute": False}]}, {"GM0718": 1})
    assert rows[0] == {"code": "GM0687", "name": "gm0687", "counts": {"ontvangen": 2, "afgesloten": 3}, "open": 2,
                       "total": 5, "signals": 2, "acute_signals": 1, "routed": 0}
    assert rows[1]["routed"] == 1 and rows[2]["total"] == 0
    assert domain.regional_rows(region, {}, {"GM0687": [{"acute": True}]}, {}, {"GM0687": 250})[0]["signals"] == 250
    assert domain.is_case_id("2fcf102a-b0f0-48d2-9a96-fd81e3979631") and not domain.is_case_id("../etc")
    assert domain.any_of("case:work") == ("case:work",) and domain.any_of(("a", "b")) == ("a", "b")
    actions = domain.case_actions(person(["aftercare_worker"]), {"status": "nazorg"})
    assert actions["aftercare_write"] and not actions["report"] and not actions["assign"]
    assert not domain.case_actions(person(["coordinator"]), {"status": "afgesloten"})["close"]


def test_a_second_meldpunt_works_the_conflicts_the_region_file_routes_to_it():
    from shared.config import Municipality, Region
    region = Region("VR19", "Zeeland", "postgresql://x/s", (
        Municipality("GM0687", "Middelburg", "postgresql://x/a", "zwb-walcheren"),
        Municipality("GM0718", "Vlissingen", "postgresql://x/b", "zwb-walcheren", conflicts_to="GM0664"),
        Municipality("GM0715", "Terneuzen", "postgresql://x/d", "zwb-zeeuws-vlaanderen", conflicts_to="GM0664"),
        Municipality("GM0664", "Goes", "postgresql://x/c", "zwb-de-bevelanden")))
    assert domain.conflict_sources(region, "GM0664") == ["GM0718", "GM0715"]
    assert domain.conflict_sources(region, "GM0687") == []
    assert domain.conflict_sources(region, auth.REGION) == []  # the region's are on /regio
    assert domain.act_in(person(["coordinator"], home="GM0664"), region, "GM0718") == "GM0718"


def test_the_referral_page_offers_only_the_steps_police_liaison_allows():
    assert domain.offered_steps({"status": "created", "next_steps": ["accepted", "afgewezen"]}) == ["accepted", "afgewezen"]
    assert domain.offered_steps({"status": "aangifte_gedaan", "next_steps": ["afgesloten", "bij_om"]}) == [
        "bij_om", "afgesloten"]  # in the lifecycle's order
    for final in ("afgesloten", "afgewezen", "ingetrokken"):
        assert domain.offered_steps({"status": final, "next_steps": []}) == []
    assert domain.offered_steps({"status": "created"}) == []  # an answer that does not say offers nothing
    assert domain.offered_steps({"status": "created", "next_steps": ["ingetrokken", "created"]}) == []  # never a liaison's


def test_a_favicon_for_every_page():
    from services.workbench import web
    from services.workbench.service import WorkbenchService
    from shared import icons
    html = web.render("nl", "error.html", title="x", message="y")
    assert '<link rel="icon" href="/favicon.ico">' in html
    assert WorkbenchService.favicon and icons.bar_chart()[:4] == b"\0\0\1\0"


def test_the_triage_queue_page_asks_triage_for_one_page():
    assert [domain.page_number(x) for x in (None, "", "3", "0", "-2", "abc", "99999")] == [1, 1, 3, 1, 1, 1, 10000]
    assert domain.pages(51, 2, 25) == {"page": 2, "last": 3, "previous": 1, "next": 3, "total": 51}
    assert domain.pages(0, 1, 25) == {"page": 1, "last": 1, "previous": None, "next": None, "total": 0}


def test_a_liaison_s_step_names_what_it_needs():
    assert domain.step_form(MultiDict({"step_status": "aangifte_gedaan", "registration_number": "PL1900-2026"})) == (
        {"status": "aangifte_gedaan", "registration_number": "PL1900-2026"}, {})
    assert domain.step_form(MultiDict({"step_status": "afgewezen"}))[1] == {"step_reason": "required"}
    assert domain.step_form(MultiDict({"step_status": "ingetrokken"}))[1] == {"step_status": "choice"}


TRACK = "0b9f3c52-4f7e-4d39-9d0c-6f0f7a1e2b33"


def test_the_witness_form_sends_a_no_to_the_service_and_reads_the_consent_moment_in_dutch_time():
    now = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
    body, errors = domain.witness_form(MultiDict({"witness_role": "colleague", "witness_name": " Merel ",
                                                  "witness_phone": "0612345678", "witness_consent": "no",
                                                  "witness_consent_at": "2026-12-06T09:30"}), now)
    assert errors == {}
    assert body == {"role": "colleague", "name": "Merel", "phone": "0612345678", "consent": False,
                    "consent_at": "2026-12-06T09:30:00+01:00"}
    assert domain.witness_form(MultiDict({"witness_consent": "yes"}), now)[0]["consent_at"] == now.isoformat()
    _, errors = domain.witness_form(MultiDict({"witness_role": "buurman", "witness_phone": "06", "witness_consent": "",
                                               "witness_consent_at": "2027-01-01T10:00"}), now)
    assert errors == {"witness_role": "choice", "witness_phone": "phone", "witness_consent": "choose",
                      "witness_consent_at": "moment"}


def test_track_and_handover_forms_name_only_the_cases_own_tracks_and_handovers():
    now = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
    track, body, errors = domain.witness_contact_form(
        MultiDict({"wc_track": TRACK.upper(), "wc_method": "phone", "wc_outcome": "reached"}), [TRACK], "GM0687/nazorg", now)
    assert (track, errors) == (TRACK, {}) and "moment" not in body and body["contacted_by"] == "gm0687.nazorg"
    assert domain.witness_contact_form(MultiDict({"wc_track": "elders"}), [TRACK], "x/y", now)[2]["wc_track"] == "track"
    assert domain.witness_close_form(MultiDict({"wclose_track": TRACK, "wclose_reason": "declined"}), [TRACK])[2] == {
        "wclose_reason": "choice"}
    assert domain.handover_form(MultiDict({"handover_partner": "bedrijfsarts", "handover_consent": "yes",
                                           "handover_for": TRACK}), [TRACK]) == (
        {"partner": "bedrijfsarts", "consent": True, "track_id": TRACK}, {})
    assert domain.handover_form(MultiDict({"handover_partner": "slachtofferhulp", "handover_consent": "no"}), []) == (
        {"partner": "slachtofferhulp", "consent": False}, {})
    handover, body, errors = domain.handover_step_form(MultiDict([("step_handover", TRACK), ("handover_status", "overgedragen"),
                                                                  ("shared_fields", "name")]), [TRACK])
    assert (handover, body, errors) == (TRACK, {"status": "overgedragen", "shared_fields": ["name"]}, {})
    assert domain.handover_step_form(MultiDict({"handover_status": "voorgesteld"}), [])[2] == {
        "step_handover": "handover", "handover_status": "choice"}


def test_weerbaar_bestuur_is_offered_for_political_office_holders_or_when_the_page_cannot_tell():
    assert "weerbaar_bestuur" in domain.handover_partners("wethouder")
    assert "weerbaar_bestuur" in domain.handover_partners(None)
    assert "weerbaar_bestuur" not in domain.handover_partners("ambtenaar")
    assert domain.api_errors({"consent": "no", "other": "x"}, {"consent": "witness_consent"}, {"consent": "consent"}) == {
        "witness_consent": "consent"}
