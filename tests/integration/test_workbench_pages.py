"""The workbench's pages through the real hub: people signed in at the real OpenID provider
(tests/oidc.py), every page reading and changing cases through the services' APIs. A coordinator's
day, need to know (another municipality, an excluded colleague, a police liaison's unit), and the
form token on every form of the case page."""
import html
import re
import uuid
from datetime import datetime, timedelta, timezone

import requests

from tests.support import incident_body, query, wait_for

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _case(hub, code, **overrides):
    key = hub.key(code)
    answer = hub.report(key, incident_body(**overrides))
    assert answer.status_code == 201, answer.text
    return answer.json(), key


def _addition(hub, code, receipt, secret, text):
    """The reporter adds to the report on the follow-up page (the public form's session and token)."""
    session = requests.Session()
    page = session.get(hub.url("intake", f"/meld/{code}/volg"), timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    added = session.post(hub.url("intake", f"/meld/{code}/volg"), timeout=10,
                         data={"csrf_token": token, "receipt_code": receipt, "secret": secret, "action": "add",
                               "addition": text})
    assert added.status_code == 200, added.text[:300]


def _ready(hub, code, case_id):
    store = hub.case_store(code)
    for table in ("triage.results", "police_liaison.referrals", "aftercare.care_plans"):
        wait_for(lambda t=table: query(store, f"SELECT 1 FROM {t} WHERE case_id = %s", (case_id,)), what=table)


def _forms(page_text):
    return re.findall(r'<form method="post" action="([^"]+)"', page_text)


def test_a_coordinators_day(workbench_hub):
    hub, code = workbench_hub, "GM0687"
    wb = hub.workbench
    acute, key = _case(hub, code, direct_danger=True, description="Hij stond met een mes bij de balie.")
    calm, _ = _case(hub, code, description="Een boze mail over een parkeerboete.", categories=["verbale_agressie"],
                    consent={"contact": False, "police_referral": False, "inform_manager": False,
                             "employer_reports": False})
    case_id = acute["case_id"]
    uploaded = requests.post(hub.url("intake", f"/api/v1/incidents/{case_id}/evidence"), data=PNG, timeout=10,
                             headers={"Authorization": f"Bearer {key}", "X-Filename": "foto.png",
                                      "Content-Type": "application/octet-stream"})
    assert uploaded.status_code == 201, uploaded.text
    _addition(hub, code, acute["receipt_code"], acute["secret"], "Vanochtend stond hij er weer.")
    _ready(hub, code, case_id)
    wait_for(lambda: query(hub.case_store(code), "SELECT 1 FROM triage.results WHERE case_id = %s", (calm["case_id"],)),
             what="the calm case's triage")

    browser, first = hub.signed_in(code, "coordinator-gm0687")
    assert first.url.endswith("/zaken") and 'aria-current="page">Zaken<' in first.text
    rows = re.findall(r'<tr id="case-([0-9a-f-]+)"', first.text)
    assert rows.index(case_id) < rows.index(calm["case_id"])  # the acute case on top
    acute_only = browser.get(f"{wb}/zaken?urgency=acuut&status=ontvangen&status=in_behandeling&status=doorverwezen"
                             f"&status=nazorg")
    assert case_id in acute_only.text and calm["case_id"] not in acute_only.text
    wrong = browser.get(f"{wb}/zaken?urgency=heel-erg")
    assert wrong.status_code == 200 and 'id="summary"' in wrong.text and 'href="#urgency"' in wrong.text

    page = browser.get(f"{wb}/zaken/{case_id}")
    assert page.status_code == 200
    assert "met een mes" in page.text and "Vanochtend stond hij er weer." in page.text
    assert 'id="ela"' in page.text and "ELA-checklist" in page.text and 'id="moments"' in page.text
    evidence = re.search(rf'href="(/zaken/{case_id}/bewijs/[0-9a-f-]+)"', page.text).group(1)
    download = browser.get(wb + evidence)
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["Content-Type"] == "image/png"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"

    # every form of the case page carries the session's token; without it nothing changes
    forms = _forms(page.text)
    assert len(forms) >= 8, forms
    for action in forms:
        assert browser.post(wb + action, {}).status_code == 403, action
    token = browser.csrf(page)

    confirmed = browser.post(f"{wb}/zaken/{case_id}/triage/bevestigen", {"csrf_token": token})
    assert confirmed.status_code == 303
    shown = browser.follow(confirmed)
    assert 'id="triage-status">Bevestigd<' in shown.text and 'id="notice"' in shown.text

    # the region's whole ELA checklist: the items to tick (not those that follow the aangifte option)
    offered = re.findall(r'name="ela_codes" value="([a-z0-9_]+)"', page.text)
    assert {"snelrecht", "strafeis_200", "feedback_victim"} <= set(offered) and "domiciliekeuze" not in offered
    referral_id = re.search(rf'action="/zaken/{case_id}/verwijzing/([0-9a-f-]+)/ela"', page.text).group(1)
    ticked = browser.post(f"{wb}/zaken/{case_id}/verwijzing/{referral_id}/ela",
                          {"csrf_token": token, "ela_codes": offered, "ela_snelrecht": "on",
                           "ela_priority_handling": "on"})
    assert ticked.status_code == 303, ticked.text[:500]
    assert 'id="ela_snelrecht" name="ela_snelrecht" checked' in browser.follow(ticked).text

    # the aftercare section shows the case's handovers to help and the witnesses' and colleagues' own tracks
    care = {"Authorization": f"Bearer {hub.key(code, 'aftercare_worker')}"}
    consent_at = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    assert requests.post(hub.url("aftercare", f"/api/v1/aftercare/cases/{case_id}/witnesses"), headers=care, json={
        "role": "colleague", "name": "Collega Kanarie", "consent": True, "consent_at": consent_at},
        timeout=10).status_code == 201
    assert requests.post(hub.url("aftercare", f"/api/v1/aftercare/cases/{case_id}/handovers"), headers=care, json={
        "partner": "slachtofferhulp", "consent": True}, timeout=10).status_code == 201
    care_part = browser.get(f"{wb}/zaken/{case_id}").text
    assert 'id="handovers"' in care_part and "Slachtofferhulp Nederland" in care_part and "0900 0101" in care_part
    assert 'id="witness-tracks"' in care_part and "Collega: Collega Kanarie" in care_part

    assigned = browser.post(f"{wb}/zaken/{case_id}/toewijzen",
                            {"csrf_token": token, "assignee": "GM0687/coordinator-gm0687"})
    assert assigned.status_code == 303
    mine = browser.get(f"{wb}/zaken?assigned=mine")
    assert case_id in mine.text and calm["case_id"] not in mine.text
    unassigned = browser.get(f"{wb}/zaken?assigned=unassigned")
    assert calm["case_id"] in unassigned.text and case_id not in unassigned.text
    stranger = browser.post(f"{wb}/zaken/{case_id}/toewijzen", {"csrf_token": token, "assignee": "GM0718/iemand"})
    assert stranger.status_code == 422 and 'id="err-assignee"' in stranger.text

    noted = browser.post(f"{wb}/zaken/{case_id}/notities", {"csrf_token": token, "note": "Melder teruggebeld."})
    assert noted.status_code == 303 and "Melder teruggebeld." in browser.follow(noted).text
    stored = query(hub.case_store(code), "SELECT personal FROM intake.notes WHERE case_id = %s", (case_id,))
    assert stored and b"teruggebeld" not in bytes(stored[0]["personal"])  # encrypted at rest

    told = browser.post(f"{wb}/zaken/{case_id}/berichten", {"csrf_token": token, "text": "", "message": "Wij bellen u morgen."})
    assert told.status_code == 303 and "Wij bellen u morgen." in browser.follow(told).text

    plan_id = re.search(rf'action="/zaken/{case_id}/nazorg/([0-9a-f-]+)/contact"', page.text).group(1)
    closed = browser.post(f"{wb}/zaken/{case_id}/nazorg/{plan_id}/contact",
                          {"csrf_token": token, "moment": "first_contact", "method": "phone",
                           "contact_outcome": "reached"})
    assert closed.status_code == 303, closed.text[:500]
    assert query(hub.case_store(code), "SELECT done_at FROM aftercare.contact_moments WHERE plan_id = %s AND "
                 "kind = 'first_contact'", (plan_id,))[0]["done_at"] is not None

    empty_end = browser.post(f"{wb}/zaken/{case_id}/afsluiten", {"csrf_token": token})
    assert empty_end.status_code == 422 and 'id="summary"' in empty_end.text and 'id="err-end_reason"' in empty_end.text
    ended = browser.post(f"{wb}/zaken/{case_id}/afsluiten",
                         {"csrf_token": token, "end_kind": "afgesloten", "end_reason": "handled"})
    assert ended.status_code == 303
    after = browser.follow(ended)
    assert 'id="case-status">Afgesloten<' in after.text and "/afsluiten" not in after.text

    # every read of personal data is audited with the person's sub and name
    actors = {row["subject"] for row in query(
        hub.case_store(code), "SELECT subject FROM hub.audit_log WHERE case_id = %s AND actor LIKE %s",
        (case_id, "person:GM0687/coordinator-gm0687 (Cora de Wit, coordinator)"))}
    assert {"incident", "additions and evidence list", "evidence file", "case timeline", "internal notes"} <= actors

    # the triage queue and the referrals page, as the coordinator sees them; every form elsewhere wants its token too
    assert browser.get(f"{wb}/triage").status_code == 200
    signals = browser.get(f"{wb}/signalen?toon=all")
    for action in _forms(signals.text):
        assert browser.post(wb + action, {"outcome": "done"}).status_code == 403, action
    referrals = browser.get(f"{wb}/verwijzingen")
    assert referrals.status_code == 200 and f'href="/zaken/{case_id}#verwijzing"' in referrals.text

    # a coordinator of another municipality: the same URLs are no case at all
    other, _ = hub.signed_in("GM0718", "coordinator-gm0718")
    assert other.get(f"{wb}/zaken/{case_id}").status_code == 404
    assert other.get(wb + evidence).status_code == 404
    assert case_id not in other.get(f"{wb}/zaken").text


def test_aftercare_worker_sees_whom_to_call_and_a_police_liaison_only_their_unit(workbench_hub):
    hub = workbench_hub
    wb = hub.workbench
    middelburg, _ = _case(hub, "GM0687", reporter={"name": "Ans Pieters", "phone": "0611122233"})
    goes, _ = _case(hub, "GM0664")
    _ready(hub, "GM0687", middelburg["case_id"])
    _ready(hub, "GM0664", goes["case_id"])

    worker, first = hub.signed_in("GM0687", "nazorg-gm0687")
    assert first.url.endswith("/nazorg")
    # the module's other tests made plans too: the newest may be on a later page of the worklist
    pages, url = [], f"{wb}/nazorg?toon=open"
    while url and len(pages) < 20:
        pages.append(worker.get(url))
        assert pages[-1].status_code == 200
        more = re.search(r'<a href="([^"]+)" rel="next"', pages[-1].text)
        url = f"{wb}{html.unescape(more.group(1))}" if more else None
    assert any("Ans Pieters" in p.text and "0611122233" in p.text for p in pages)
    assert worker.get(f"{wb}/zaken").status_code == 403  # no case list for this role
    care = worker.get(f"{wb}/zaken/{middelburg['case_id']}")
    assert care.status_code == 200 and 'id="moments"' in care.text and "De melding" not in care.text

    liaison, first = hub.signed_in("GM0687", "politie-walcheren")
    assert first.url.endswith("/verwijzingen") or first.url.endswith("/signalen")
    page = liaison.get(f"{wb}/verwijzingen")
    assert page.status_code == 200
    shown = set(re.findall(r'<tr id="referral-([0-9a-f-]+)"', page.text))
    walcheren = query(hub.case_store("GM0687"), "SELECT referral_id FROM police_liaison.referrals WHERE case_id = %s",
                      (middelburg["case_id"],))[0]["referral_id"]
    bevelanden = query(hub.case_store("GM0664"), "SELECT referral_id FROM police_liaison.referrals WHERE case_id = %s",
                       (goes["case_id"],))[0]["referral_id"]
    assert str(walcheren) in shown and str(bevelanden) not in shown
    assert "Ans Pieters" not in page.text and "0611122233" not in page.text  # what the police may not see
    assert liaison.get(f"{wb}/zaken/{middelburg['case_id']}").status_code == 403

    one = liaison.get(f"{wb}/verwijzingen/GM0687/{walcheren}")
    assert one.status_code == 200 and 'id="show-details"' in one.text and 'id="details"' not in one.text
    details = liaison.get(f"{wb}/verwijzingen/GM0687/{walcheren}?gegevens=1")
    assert 'id="details"' in details.text and "Een bezoeker dreigde" in details.text
    assert "Ans Pieters" not in details.text and "0611122233" not in details.text
    assert query(hub.case_store("GM0687"), "SELECT count(*) AS n FROM hub.audit_log WHERE case_id = %s AND subject = "
                 "'incident details (police referral)' AND actor LIKE 'person:GM0687/politie-walcheren (%%'",
                 (middelburg["case_id"],))[0]["n"] == 1
    offered = re.search(r'<select[^>]*name="step_status".*?</select>', one.text, re.S).group(0)
    assert re.findall(r'<option value="([a-z_]+)"', offered) == ["accepted", "afgewezen"]  # what `created` allows
    token = liaison.csrf(one)
    assert liaison.post(f"{wb}/verwijzingen/GM0687/{walcheren}/stap", {"step_status": "accepted"}).status_code == 403
    stepped = liaison.post(f"{wb}/verwijzingen/GM0687/{walcheren}/stap", {"csrf_token": token, "step_status": "accepted"})
    assert stepped.status_code == 303, stepped.text[:500]
    accepted = liaison.follow(stepped).text
    assert 'id="referral-status">Opgepakt' in accepted
    offered = re.search(r'<select[^>]*name="step_status".*?</select>', accepted, re.S).group(0)
    assert re.findall(r'<option value="([a-z_]+)"', offered) == ["aangifte_gepland", "afgewezen"]
    assert liaison.get(f"{wb}/verwijzingen/GM0664/{bevelanden}").status_code == 404  # not their unit
    other_unit, _ = hub.signed_in("GM0664", "politie-bevelanden")
    assert other_unit.get(f"{wb}/verwijzingen/GM0687/{walcheren}").status_code == 404


def test_an_excluded_colleague_finds_the_case_nowhere_and_the_region_takes_it(workbench_hub):
    hub, code = workbench_hub, "GM0687"
    wb = hub.workbench
    colleague, _ = hub.signed_in(code, "medewerker-gm0687")  # signed in once: a colleague one can name
    case, _ = _case(hub, code, description="Mijn eigen leidinggevende schreeuwde tegen mij.")
    case_id = case["case_id"]
    _ready(hub, code, case_id)
    assert colleague.get(f"{wb}/zaken/{case_id}").status_code == 200

    coordinator, page = hub.signed_in(code, "coordinator-gm0687")
    page = coordinator.get(f"{wb}/zaken/{case_id}")
    marked = coordinator.post(f"{wb}/zaken/{case_id}/belangenconflict",
                              {"csrf_token": coordinator.csrf(page), "conflict_kind": "manager",
                               "exclude_persons": "GM0687/medewerker-gm0687"})
    assert marked.status_code == 303, marked.text[:500]

    for browser in (colleague, coordinator):  # excluded, and routed away from the municipality's own meldpunt
        assert browser.get(f"{wb}/zaken/{case_id}").status_code == 404
        assert case_id not in browser.get(f"{wb}/zaken").text
        assert case_id not in browser.get(f"{wb}/triage").text
        assert case_id not in browser.get(f"{wb}/signalen?toon=all").text

    region, first = hub.signed_in("region", "regiocoordinator")
    assert first.url.endswith("/regio")
    assert 'id="municipality-GM0687"' in first.text and 'id="routed"' in first.text
    assert f"/zaken/{case_id}?gemeente={code}" in first.text
    other_cases = query(hub.case_store(code), "SELECT case_id FROM intake.incidents WHERE case_id <> %s LIMIT 1",
                        (case_id,))
    assert all(str(row["case_id"]) not in first.text for row in other_cases)  # counts only, never other cases
    taken = region.get(f"{wb}/zaken/{case_id}?gemeente={code}")
    assert taken.status_code == 200 and "leidinggevende schreeuwde" in taken.text
    assert region.get(f"{wb}/zaken/{uuid.uuid4()}?gemeente={code}").status_code == 404


def _region_row(page_text, code):
    """The regional view's numbers of one municipality: open, all, signals, acute signals, routed."""
    cells = re.search(rf'<tr id="municipality-{code}"><th scope="row">[^<]*</th>((?:<td>\d+</td>){{5}})</tr>', page_text)
    return [int(n) for n in re.findall(r"<td>(\d+)</td>", cells.group(1))]


def test_a_second_meldpunt_lists_the_conflict_cases_routed_to_it(workbench_hub):
    """The test region routes Terneuzen's (GM0715) conflicts of interest to Goes' meldpunt (GM0664)."""
    hub = workbench_hub
    wb = hub.workbench
    case, _ = _case(hub, "GM0715", description="De wethouder zelf bedreigde mij.")
    case_id = case["case_id"]
    terneuzen, page = hub.signed_in("GM0715", "coordinator-gm0715")
    assert 'id="routed-heading"' not in page.text  # nobody routes their conflicts to Terneuzen
    marked = terneuzen.post(f"{wb}/zaken/{case_id}/belangenconflict",
                            {"csrf_token": terneuzen.csrf(page), "conflict_kind": "leadership"})
    assert marked.status_code == 303, marked.text[:500]
    assert case_id not in terneuzen.get(f"{wb}/zaken").text

    goes, page = hub.signed_in("GM0664", "coordinator-gm0664")
    routed = re.search(r'<table id="routed".*?</table>', page.text, re.S).group(0)
    assert f'<tr id="routed-{case_id}"><td><a href="/zaken/{case_id}?gemeente=GM0715">' in routed
    assert "Terneuzen" in routed
    assert f'id="case-{case_id}"' not in page.text  # not one of Goes' own cases
    taken = goes.get(f"{wb}/zaken/{case_id}?gemeente=GM0715")
    assert taken.status_code == 200 and "wethouder zelf" in taken.text

    middelburg, page = hub.signed_in("GM0687", "coordinator-gm0687")  # no municipality routes to Middelburg
    assert 'id="routed-heading"' not in page.text and case_id not in page.text


def test_an_excluded_person_does_not_find_the_case_in_the_regional_counts(workbench_hub):
    hub, code = workbench_hub, "GM0718"
    wb = hub.workbench
    region, first = hub.signed_in("region", "regiocoordinator")
    case, _ = _case(hub, code, description="De teamleider en de regio kennen elkaar.")
    case_id = case["case_id"]
    counted = _region_row(region.get(f"{wb}/regio").text, code)

    coordinator, page = hub.signed_in(code, "coordinator-gm0718")
    marked = coordinator.post(f"{wb}/zaken/{case_id}/belangenconflict",
                              {"csrf_token": coordinator.csrf(page), "conflict_kind": "manager",
                               "exclude_emails": "regiocoordinator@demo.meldpunt.test"})
    assert marked.status_code == 303, marked.text[:500]

    after = region.get(f"{wb}/regio").text
    open_, total, _, _, routed = _region_row(after, code)
    assert (open_, total) == (counted[0] - 1, counted[1] - 1)  # the case counts nowhere for them
    assert routed == counted[4] and case_id not in after  # routed to the region, yet not to this person
    assert region.get(f"{wb}/zaken/{case_id}?gemeente={code}").status_code == 404


def test_the_statistics_dashboard_behind_the_same_sign_in(workbench_hub):
    wb = workbench_hub.workbench
    analyst, first = workbench_hub.signed_in("region", "analist")
    assert first.url.endswith("/dashboard") and first.text.count('<svg class="bar-chart"') >= 11
    assert "Anouk Meijer (analyst)" in first.text and not [c for c in analyst.http.cookies if "statistic" in c.name]
    assert "/dashboard/logout" not in first.text and 'href="/dashboard/figures.csv?' in first.text
    assert analyst.get(f"{wb}/dashboard/dashboard.css").status_code == 200
    icon = requests.get(f"{wb}/favicon.ico", timeout=10)  # no sign-in needed; every page links it
    assert icon.status_code == 200 and icon.headers["Content-Type"] == "image/x-icon" and icon.content[:4] == b"\0\0\1\0"
    assert '<link rel="icon" href="/favicon.ico">' in first.text
    csv = analyst.get(f"{wb}/dashboard/figures.csv?period=2026")
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    english = analyst.get(f"{wb}/dashboard?period=2026&lang=en")
    assert english.status_code == 200 and 'lang="en"' in english.text
    worker, _ = workbench_hub.signed_in("GM0687", "nazorg-gm0687")
    assert worker.get(f"{wb}/dashboard").status_code == 403


def test_an_aftercare_worker_adds_witness_tracks_and_handovers_through_the_forms(workbench_hub):
    """Issue 20's care tracks and handovers, made in the browser: the aftercare service decides (consent, Weerbaar
    Bestuur only for political office holders, which step follows which) and its refusal shows next to the field."""
    hub, code = workbench_hub, "GM0687"
    wb, store = hub.workbench, hub.case_store(code)
    case, _ = _case(hub, code)  # against an ambtenaar
    case_id = case["case_id"]
    _ready(hub, code, case_id)

    worker, _ = hub.signed_in(code, "nazorg-gm0687")
    page = worker.get(f"{wb}/zaken/{case_id}")
    assert page.status_code == 200
    forms = _forms(page.text)
    assert {f"/zaken/{case_id}/nazorg/getuigen", f"/zaken/{case_id}/nazorg/overdrachten"} <= set(forms), forms
    assert '<label for="witness_role">' in page.text and '<fieldset class="checks" id="witness_consent">' in page.text
    token = worker.csrf(page)
    colleague = {"csrf_token": token, "witness_role": "colleague", "witness_name": "Collega Merel",
                 "witness_phone": "0612345678"}
    assert worker.post(f"{wb}/zaken/{case_id}/nazorg/getuigen",
                       {**colleague, "csrf_token": "", "witness_consent": "yes"}).status_code == 403

    # no consent: the service refuses, the page says so at the field and keeps what was typed
    refused = worker.post(f"{wb}/zaken/{case_id}/nazorg/getuigen", {**colleague, "witness_consent": "no"})
    assert refused.status_code == 422, refused.text[:500]
    assert 'id="summary"' in refused.text and 'href="#witness_consent"' in refused.text
    assert 'id="err-witness_consent"' in refused.text and "Zonder toestemming van de persoon zelf" in refused.text
    assert 'value="Collega Merel"' in refused.text and 'value="0612345678"' in refused.text
    assert 'id="witness_consent-no" name="witness_consent" value="no" checked' in refused.text
    assert not query(store, "SELECT 1 FROM aftercare.witness_tracks WHERE case_id = %s", (case_id,))

    added = worker.post(f"{wb}/zaken/{case_id}/nazorg/getuigen", {**colleague, "witness_consent": "yes"})
    assert added.status_code == 303 and added.headers["Location"].endswith("#getuigen"), added.text[:500]
    shown = worker.follow(added).text
    assert 'id="notice"' in shown and 'id="witness-tracks"' in shown and "Collega: Collega Merel" in shown
    track_id = re.search(r'name="wc_track"[^>]*>\s*<option value="([0-9a-f-]+)"', shown).group(1)
    assert query(store, "SELECT role FROM aftercare.witness_tracks WHERE track_id = %s", (track_id,))[0]["role"] \
        == "colleague"

    contacted = worker.post(f"{wb}/zaken/{case_id}/nazorg/getuigen/contact",
                            {"csrf_token": token, "wc_track": track_id, "wc_method": "phone", "wc_outcome": "reached"})
    assert contacted.status_code == 303, contacted.text[:500]
    assert query(store, "SELECT done_at FROM aftercare.witness_moments WHERE track_id = %s AND kind = 'first_contact'",
                 (track_id,))[0]["done_at"] is not None

    # Weerbaar Bestuur is for political office holders: the service refuses it for this case, at the field
    weerbaar = worker.post(f"{wb}/zaken/{case_id}/nazorg/overdrachten",
                           {"csrf_token": token, "handover_partner": "weerbaar_bestuur", "handover_consent": "yes"})
    assert weerbaar.status_code == 422 and 'id="err-handover_partner"' in weerbaar.text
    assert "alleen voor politieke ambtsdragers" in weerbaar.text
    proposed = worker.post(f"{wb}/zaken/{case_id}/nazorg/overdrachten",
                           {"csrf_token": token, "handover_partner": "bedrijfsmaatschappelijk_werk",
                            "handover_consent": "yes", "handover_for": track_id})
    assert proposed.status_code == 303, proposed.text[:500]
    listed = worker.follow(proposed).text
    assert 'id="handovers"' in listed and "Bedrijfsmaatschappelijk werk" in listed and "0118 000 100" in listed
    handover_id = re.search(r'name="step_handover"[^>]*>\s*<option value="([0-9a-f-]+)"', listed).group(1)
    stepped = worker.post(f"{wb}/zaken/{case_id}/nazorg/overdrachten/stap",
                          {"csrf_token": token, "step_handover": handover_id, "handover_status": "overgedragen",
                           "shared_fields": ["name", "phone"]})
    assert stepped.status_code == 303, stepped.text[:500]
    moved = worker.follow(stepped).text
    assert re.search(r'<td>Bedrijfsmaatschappelijk werk</td><td>Overgedragen</td>', moved)
    row = query(store, "SELECT status, track_id FROM aftercare.handovers WHERE handover_id = %s", (handover_id,))[0]
    assert row["status"] == "overgedragen" and str(row["track_id"]) == track_id

    ended = worker.post(f"{wb}/zaken/{case_id}/nazorg/getuigen/afsluiten",
                        {"csrf_token": token, "wclose_track": track_id, "wclose_reason": "completed"})
    assert ended.status_code == 303, ended.text[:500]
    assert query(store, "SELECT status FROM aftercare.witness_tracks WHERE track_id = %s", (track_id,))[0]["status"] \
        == "closed"
    assert 'name="wc_track"' not in worker.follow(ended).text  # no open track left to record a contact with

    # the coordinator (aftercare rights, and sees the case is against an ambtenaar) is not offered Weerbaar Bestuur
    coordinator, _ = hub.signed_in(code, "coordinator-gm0687")
    offered = re.search(r'<select[^>]*name="handover_partner".*?</select>',
                        coordinator.get(f"{wb}/zaken/{case_id}").text, re.S).group(0)
    assert "slachtofferhulp" in offered and "weerbaar_bestuur" not in offered

    # staff without aftercare rights: no aftercare part and no forms, and a post of one is refused
    staff, _ = hub.signed_in(code, "medewerker-gm0687")
    staff_page = staff.get(f"{wb}/zaken/{case_id}")
    assert staff_page.status_code == 200 and 'id="nazorg"' not in staff_page.text
    assert not [f for f in _forms(staff_page.text) if "/nazorg/" in f]
    assert staff.post(f"{wb}/zaken/{case_id}/nazorg/getuigen",
                      {**colleague, "csrf_token": staff.csrf(staff_page), "witness_consent": "yes"}).status_code == 403
    assert len(query(store, "SELECT 1 FROM aftercare.witness_tracks WHERE case_id = %s", (case_id,))) == 1
