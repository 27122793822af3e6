"""Statistics through the real broker and databases: figures per period as JSON and CSV, exact for
a municipality's own key and suppressed for everyone else, the dashboard's key cookie, and
`meldpunt stats rebuild` giving exactly the same figures."""
from __future__ import annotations

import csv
import io
import uuid

import pytest
import requests

from services.statistics.domain import day
from services.statistics.figures import period_containing
from shared.clock import Clock
from tests import support
from tests.support import cli, incident_body, query, wait_for


@pytest.fixture
def region_file(tmp_path):
    """Fresh databases for each test here: figures count everything in the period, and the other
    tests of the run report into the same month."""
    path = tmp_path / "statistics-region.yaml"
    databases = support.write_test_region(path, uuid.uuid4().hex[:8])
    support.migrate(path)
    yield path
    support.drop_databases(databases)


def month_now():
    return period_containing("month", day(Clock().now())).label


def perpetrator(n):
    return [{"name": f"Pleger Nummer{n}", "birth_date": "1980-01-01", "description": "onbekend"}]


class Stats:
    def __init__(self, hub, key):
        self.hub, self.key = hub, key

    def get(self, path="/api/v1/statistics/figures", headers=None, **params):
        return requests.get(self.hub.url("statistics", path), params=params, timeout=10,
                            headers={"Authorization": f"Bearer {self.key}", **(headers or {})})

    def figures(self, **params):
        response = self.get(period=month_now(), **params)
        assert response.status_code == 200, response.text
        return response.json()


def report(hub, key, n, **body):
    return uuid.UUID(hub.report(key, incident_body(perpetrators=perpetrator(n), **body)).json()["case_id"])


def settled(hub, code, case_id, n):
    """Wait until the read model has the incident as triaged, referred and planned."""
    wait_for(lambda: (f := hub.facts(code, case_id)) and f["reported_on"] and f["triaged_on"]
             and f["referred"] and f["aftercare_planned"], what=f"facts of incident {n}")
    return case_id


@pytest.fixture
def scenario(hub):
    """Six incidents in the first municipality (one aangifte with an outcome, one referral rejected, a
    first contact and a completed plan, a repeat perpetrator), two in the second."""
    a, b = hub.region.codes[0], hub.region.codes[1]
    key_a, key_b = hub.key(a), hub.key(b)
    # reported together and then awaited (each on its own took a scenario 20-28 s); the repeat after its first
    first = [(a, report(hub, key_a, n, target_role=role), n)
             for n, role in enumerate(["ambtenaar"] * 4 + ["wethouder", "raadslid"])]
    second = [(b, report(hub, key_b, 100 + n), 100 + n) for n in range(2)]
    cases = [settled(hub, code, case_id, n) for code, case_id, n in first]
    for code, case_id, n in second:
        settled(hub, code, case_id, n)
    repeat = settled(hub, a, report(hub, key_a, 0), 0)  # the perpetrator of the first incident again
    cases.append(repeat)
    wait_for(lambda: hub.facts(a, repeat)["repeat_perpetrator"], what="repeat detected")

    liaison = {"Authorization": f"Bearer {hub.key(a, 'police_liaison')}"}

    def steps(case_id, *body):
        referral = query(hub.case_store(a), "SELECT referral_id FROM police_liaison.referrals WHERE case_id = %s",
                         (case_id,))[0]["referral_id"]
        for step in body:
            response = requests.post(hub.url("police_liaison", f"/api/v1/referrals/{referral}/steps"), json=step,
                                     headers=liaison, timeout=10)
            assert response.status_code == 200, response.text

    steps(cases[0], {"status": "accepted"}, {"status": "aangifte_gepland"},
          {"status": "aangifte_gedaan", "registration_number": "PL1900-2026000001"}, {"status": "bij_om"},
          {"status": "afgesloten", "outcome": "schikking"})
    steps(cases[1], {"status": "afgewezen", "reason": "geen strafbaar feit"})
    wait_for(lambda: hub.facts(a, cases[0])["referral_outcome"] == "schikking"
             and hub.facts(a, cases[1])["referral_rejected"], what="referral steps folded")

    worker = {"Authorization": f"Bearer {hub.key(a, 'aftercare_worker')}"}
    plan = query(hub.case_store(a), "SELECT plan_id FROM aftercare.care_plans WHERE case_id = %s",
                 (cases[2],))[0]["plan_id"]
    contact = requests.post(hub.url("aftercare", f"/api/v1/aftercare/plans/{plan}/contacts"), headers=worker,
                            json={"contacted_at": Clock().now().isoformat(), "contacted_by": "m.devries",
                                  "method": "phone", "outcome": "reached"}, timeout=10)
    assert contact.status_code == 201, contact.text
    closed = requests.post(hub.url("aftercare", f"/api/v1/aftercare/plans/{plan}/close"), headers=worker,
                           json={"reason": "completed"}, timeout=10)
    assert closed.status_code == 200, closed.text
    wait_for(lambda: hub.facts(a, cases[2])["aftercare_closed_reason"] == "completed", what="plan closed")
    return a, b, cases


def test_own_key_sees_exact_figures_others_see_them_suppressed(hub, scenario):
    a, b, _ = scenario
    own = Stats(hub, hub.key(a, "staff")).figures(municipality=a)
    assert own["exact"] is True and own["incidents"]["value"] == 7
    roles = own["tables"]["target_role"]["values"]
    assert (roles["ambtenaar"], roles["wethouder"], roles["raadslid"]) == (5, 1, 1)
    assert own["tables"]["police"]["values"] == {"niet_verwezen": 0, "verwezen": 6, "aangifte": 1}
    assert own["tables"]["police_outcome"]["values"]["schikking"] == 1
    assert own["tables"]["aftercare"]["values"]["op_tijd"] == 1
    assert own["tables"]["aftercare_closed"]["values"]["completed"] == 1
    assert own["tables"]["repeat_perpetrator"]["total"] == 1
    assert own["shares"]["aangifte_pct"] == round(100 / 7, 1) and own["first_contact_days"]["n"] == 1

    exact_small = {(figure, value): n for figure, table in own["tables"].items()
                   for value, n in table["values"].items() if isinstance(n, int) and 0 < n < 5}
    assert exact_small
    views = {
        "other municipality, scope a": Stats(hub, hub.key(b, "staff")).figures(municipality=a),
        "other municipality, region": Stats(hub, hub.key(b, "coordinator")).figures(),
        "own analyst, scope a": Stats(hub, hub.key(a, "analyst")).figures(municipality=a),
        "own analyst, region": Stats(hub, hub.key(a, "analyst")).figures(),
    }
    for name, view in views.items():
        assert view["exact"] is False and view["suppression"]["label"] == "x", name
        for (figure, value), n in exact_small.items():
            table = view["tables"][figure]
            row = table["values"] if view["scope"] == a else next(
                r["values"] for r in table["rows"] if r["municipality"] == a)
            assert row[value] == {"hidden": True}, (name, figure, value, n)
        assert view["first_contact_days"]["median"] == {"hidden": True}, name  # one contact: hidden

    own_region = Stats(hub, hub.key(a, "staff")).figures()
    rows = {r["municipality"]: r for r in own_region["tables"]["target_role"]["rows"]}
    assert rows[a]["values"]["wethouder"] == 1            # its own row, exact
    assert rows[b]["total"] == {"hidden": True}           # the other's two incidents, hidden
    assert own_region["incidents"]["value"] == 9          # the region's total stays visible


def test_csv_by_accept_header_or_format_parameter(hub, scenario):
    a, _, _ = scenario
    stats = Stats(hub, hub.key(a, "staff"))
    by_param = stats.get(period=month_now(), municipality=a, format="csv")
    by_accept = stats.get(period=month_now(), municipality=a, headers={"Accept": "text/csv"})
    for response in (by_param, by_accept):
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in response.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(by_param.text)))
    assert lines[0] == ["period", "scope", "figure", "municipality", "value", "count", "previous", "change"]
    assert [month_now(), a, "target_role", a, "wethouder", "1", "0", "1"] in lines
    assert by_param.text == by_accept.text


def test_figures_refuse_bad_filters_and_unknown_callers(hub):
    code = hub.region.codes[0]
    stats = Stats(hub, hub.key(code, "staff"))
    assert stats.get(period="2026-13").status_code == 400
    bad = stats.get(municipality="GM9999")
    assert bad.status_code == 400 and bad.headers["Content-Type"] == "application/problem+json"
    assert Stats(hub, hub.key(code, "intake_channel")).get().status_code == 403
    assert requests.get(hub.url("statistics", "/api/v1/statistics/figures"), timeout=10).status_code == 401
    # the summary is exact: a regional analyst may not read it
    assert Stats(hub, hub.key(code, "analyst")).get("/api/v1/statistics/summary").status_code == 403
    assert Stats(hub, hub.key(code, "staff")).get(period="2026-W09").json()["period"]["first"] == "2026-02-23"


def test_dashboard_asks_for_the_authorization_header_and_keeps_no_key_cookie(hub):
    """People see the dashboard in the workbench, behind its sign-in (tests/integration/
    test_workbench_pages.py); here only a caller with an Authorization header gets it, and no key
    ever goes into a browser's form or cookie."""
    code = hub.region.codes[0]
    url = hub.url("statistics", "/dashboard")
    bare = requests.get(url, timeout=10)
    assert bare.status_code == 401 and "werkplek" in bare.text and "<form" not in bare.text
    assert "<script" not in bare.text and "Set-Cookie" not in bare.headers
    wrong = requests.get(url, headers={"Authorization": "Bearer GM0687.000000000000.nope"}, timeout=10)
    assert wrong.status_code == 401 and wrong.headers["Content-Type"] == "application/problem+json"
    for gone in ("/dashboard/session", "/dashboard/logout"):
        assert requests.post(hub.url("statistics", gone), data={"key": hub.key(code, "analyst")},
                             timeout=10).status_code in (404, 405)

    page = requests.get(url, params={"period": "2026-Q1", "municipality": code}, timeout=10,
                        headers={"Authorization": f"Bearer {hub.key(code, 'analyst')}"})
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert page.text.count('<svg class="bar-chart"') == 11 and "<script" not in page.text
    assert "2026-Q1" in page.text and "/dashboard/logout" not in page.text
    assert requests.get(hub.url("statistics", "/dashboard/dashboard.css"), timeout=10).status_code == 200
    icon = requests.get(hub.url("statistics", "/favicon.ico"), timeout=10)
    assert icon.status_code == 200 and icon.headers["Content-Type"] == "image/x-icon"
    assert '<meta name="description"' in page.text


FIGURE_COLUMNS = ("reported_on", "channel", "location_type", "target_role", "reported_categories", "categories",
                  "urgency", "referred", "aangifte", "referral_outcome", "referral_rejected", "referral_escalated",
                  "triage_overdue", "aftercare_planned", "first_contact_on", "first_contact_hours_after_due",
                  "first_contact_days", "aftercare_closed_reason", "repeat_perpetrator", "repeat_elsewhere",
                  "withdrawn")


def read_model(hub):
    columns = ", ".join(FIGURE_COLUMNS)
    return query(hub.region.statistics_dsn, f"SELECT municipality, case_ref, {columns} FROM "
                                            "statistics.incident_facts ORDER BY municipality, case_ref")


def test_rebuild_from_the_case_stores_gives_the_same_figures(hub, hub_env, scenario):
    a, b, _ = scenario
    viewers = {"staff a": Stats(hub, hub.key(a, "staff")), "analyst": Stats(hub, hub.key(b, "analyst"))}
    scopes = (a, b, None)

    def all_figures():
        return {(name, scope): viewer.figures(**({"municipality": scope} if scope else {}))
                for name, viewer in viewers.items() for scope in scopes}

    before, facts_before = all_figures(), read_model(hub)
    daily_before = query(hub.region.statistics_dsn, "SELECT * FROM statistics.daily_counts ORDER BY 1, 2, 3, 4")

    result = cli(hub_env, "stats", "rebuild")

    assert result.returncode == 0, result.stderr
    assert "9 incidents" in result.stdout
    assert read_model(hub) == facts_before
    assert query(hub.region.statistics_dsn, "SELECT * FROM statistics.daily_counts ORDER BY 1, 2, 3, 4") == daily_before
    assert all_figures() == before


def test_folded_events_mark_their_day_and_the_timer_recounts_it_once(hub):
    code = hub.region.codes[3]
    case_id = hub.report(hub.key(code)).json()["case_id"]
    support.wait_for(lambda: (f := hub.facts(code, uuid.UUID(case_id))) and f["aftercare_planned"] and f["referred"],
             what="the incident's path")
    dsn = hub.settings.region.statistics_dsn
    # the timer (every second) recounts what the folded events marked, then unmarks it
    support.wait_for(lambda: not support.query(dsn, "SELECT 1 FROM statistics.dirty_days WHERE municipality = %s", (code,)),
             what="the marked days recounted")
    counted = support.query(dsn, "SELECT sum(n)::int AS n FROM statistics.daily_counts WHERE municipality = %s "
                         "AND figure = 'target_role'", (code,))[0]["n"]
    facts = support.query(dsn, "SELECT count(*)::int AS n FROM statistics.incident_facts WHERE municipality = %s "
                       "AND reported_on IS NOT NULL", (code,))[0]["n"]
    assert counted == facts


def test_a_reader_waits_for_a_recount_in_flight_instead_of_reading_around_it(settings):
    """The timer holds a marked day while it recounts it; a reader of the figures must not skip
    that day and read the counts before the recount commits (it once read 0 where 1 was due)."""
    import psycopg2.errors

    from services.statistics import store
    from shared.db.pool import ConnectionPool
    from shared.db.unit_of_work import Stores

    code, today = settings.region.codes[0], day(Clock().now())
    pool = ConnectionPool(3)
    stores = Stores(settings, pool, "test")

    def counted(uow):
        return uow.fetchone("SELECT coalesce(sum(n), 0)::int AS n FROM statistics.daily_counts "
                            "WHERE municipality = %s AND figure = 'target_role'", (code,))["n"]
    try:
        with stores.statistics() as uow:  # an event folded: its fact, its day marked
            store.upsert_facts(uow, code, b"case-1", {"reported_on": today, "target_role": "wethouder"})
            store.mark_dirty(uow, {(code, today)})
        with stores.statistics() as timer:  # the timer is recounting that day, not committed yet
            assert store.refresh_dirty(timer, store.BATCH) == 1
            with stores.statistics() as reader:
                reader.execute("SET LOCAL lock_timeout = '300ms'").close()
                with pytest.raises(psycopg2.errors.LockNotAvailable):  # it waits for the timer
                    store.refresh_dirty(reader, store.BATCH, wait=True)
            with stores.statistics() as background:  # the timer's next tick skips the held day
                assert store.refresh_dirty(background, store.BATCH) == 0 and counted(background) == 0
        with stores.statistics() as reader:  # the recount committed: the reader finds it done
            assert store.refresh_dirty(reader, store.BATCH, wait=True) == 0 and counted(reader) == 1
    finally:
        pool.close()


def test_a_rebuild_holds_back_recounts_and_folds_from_their_first_step(settings):
    """A rebuild takes every statistics table before it starts (store.lock_facts). It once took the
    facts alone and the marked days only at its end, so a recount that began in between held the
    marked days, waited for the facts, and the two deadlocked (`stats rebuild: deadlock detected`,
    CI of 9ce4e55). Now a recount and a fold wait at their first statement, holding nothing."""
    import psycopg2.errors

    from services.statistics import store
    from shared.db.pool import ConnectionPool
    from shared.db.unit_of_work import Stores

    code, today = settings.region.codes[0], day(Clock().now())
    pool = ConnectionPool(3)
    stores = Stores(settings, pool, "test")
    try:
        with stores.statistics() as rebuild:
            store.lock_facts(rebuild)
            with stores.statistics() as timer:
                timer.execute("SET LOCAL lock_timeout = '300ms'").close()
                with pytest.raises(psycopg2.errors.LockNotAvailable):
                    store.refresh_dirty(timer, store.BATCH)
            with stores.statistics() as fold:
                fold.execute("SET LOCAL lock_timeout = '300ms'").close()
                with pytest.raises(psycopg2.errors.LockNotAvailable):
                    store.upsert_facts_many(fold, [(code, b"rebuild-wait", {"reported_on": today}, {})], mark=True)
    finally:
        pool.close()


def test_a_batch_of_facts_is_folded_like_the_same_events_one_by_one(settings):
    """upsert_facts_many takes a batch in one statement when it can; whatever path it takes,
    the rows, counters and reported days come out as folding each event alone would give."""
    from services.statistics import store
    from shared.db.pool import ConnectionPool
    from shared.db.unit_of_work import Stores

    code, today = settings.region.codes[0], day(Clock().now())
    refs = [f"batch-{uuid.uuid4()}".encode() for _ in range(3)]
    pool = ConnectionPool(3)
    stores = Stores(settings, pool, "test")

    def row(ref):
        return support.query(settings.region.statistics_dsn,
                             "SELECT reported_on, target_role, reported_categories, referred, aftercare_contacts "
                             "FROM statistics.incident_facts WHERE municipality = %s AND case_ref = %s",
                             (code, ref))[0]
    try:
        with stores.statistics() as uow:  # one column set, three incidents: one statement
            days = store.upsert_facts_many(uow, [
                (code, ref, {"reported_on": today, "target_role": role, "reported_categories": categories}, {})
                for ref, role, categories in zip(sorted(refs), ("wethouder", "ambtenaar", None),
                                                 (["bedreiging"], [], ["ondermijning", "intimidatie"]))])
        assert days == {(code, today)}
        assert [row(ref)["target_role"] for ref in sorted(refs)] == ["wethouder", "ambtenaar", None]
        assert row(sorted(refs)[1])["reported_categories"] == []
        with stores.statistics() as uow:  # an incident twice and mixed columns: row by row, in order
            days = store.upsert_facts_many(uow, [
                (code, refs[0], {"referred": True}, {}),
                (code, refs[0], {}, {"aftercare_contacts": 1}),
                (code, refs[0], {}, {"aftercare_contacts": 1}),
                (code, b"not-reported-yet-" + refs[1], {"referred": True}, {})])
        assert days == {(code, today)}  # the incident not yet reported has no day
        assert row(refs[0])["referred"] is True and row(refs[0])["aftercare_contacts"] == 2
        with stores.statistics() as uow:  # counters add up within one statement too
            store.upsert_facts_many(uow, [(code, ref, {}, {"aftercare_contacts": 1}) for ref in sorted(refs)])
        assert [row(ref)["aftercare_contacts"] for ref in refs] == [3, 1, 1]
    finally:
        pool.close()
