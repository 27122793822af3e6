"""The acute lane through the real broker and databases, from the first hop: reports posted
through intake's HTTP API while triage is stopped queue up as a backlog; an acute one posted
last is recorded by intake at the acute priority (its acute check, docs/triage.md), and once
triage and police_liaison start it is triaged and referred before the backlog drains (its copy
in triage's acute queue, taken first) — and only once, although it waits in both queues."""
from __future__ import annotations

import eventlet

from tests.support import Hub, incident_body, query, wait_for

BACKLOG = 120   # enough to see the order (a report through the API costs about 0.1 s here); the bench posts 10,000

NORMAL = incident_body(
    description="Een bezoeker was het niet eens met de beslissing over zijn aanvraag en schreeuwde aan de balie.",
    categories=[], perpetrators=[], reporter=None,
    consent={"contact": False, "police_referral": False, "inform_manager": False, "employer_reports": False})
ACUTE = incident_body(
    description="Een man belde dat hij nu met een mes onderweg is om de burgemeester neer te steken.",
    location_type="telefoon", target_role="burgemeester", categories=[], perpetrators=[])


def post_backlog(hub: Hub, key: str, n: int) -> list[str]:
    """n normal reports through the API, ten at a time (as several partners' systems would); their case ids."""
    pool = eventlet.GreenPool(10)
    answers = list(pool.imap(lambda _: hub.report(key, NORMAL), range(n)))
    assert [a.status_code for a in answers] == [201] * n
    return [a.json()["case_id"] for a in answers]


def test_an_acute_report_overtakes_a_backlog_from_the_first_hop(settings, start_services):
    start_services("intake")
    hub = Hub(settings)
    code = settings.region.codes[3]
    dsn = hub.case_store(code)
    key = hub.key(code)
    backlog = post_backlog(hub, key, BACKLOG)
    answer = hub.report(key, ACUTE)
    assert answer.status_code == 201
    acute_case = answer.json()["case_id"]
    # the store is the test run's, shared with other tests: only this test's cases are counted
    ours = backlog + [acute_case]
    # intake's own acute check: incident_reported leaves intake at the acute priority
    assert query(dsn, "SELECT priority FROM hub.outbox WHERE event_type = 'incident_reported' "
                      "AND envelope->>'case_id' = %s", (acute_case,))[0]["priority"] == 9
    assert {r["priority"] for r in query(dsn, "SELECT priority FROM hub.outbox WHERE event_type = "
                                              "'incident_reported' AND envelope->>'case_id' = ANY(%s)",
                                         (backlog,))} == {0}
    # every report is in triage's queues before triage starts (this test's: rows another test's killed service
    # left unpublished in the shared store wait for that service, not for intake)
    wait_for(lambda: not query(dsn, "SELECT 1 FROM hub.outbox WHERE published_at IS NULL "
                                    "AND envelope->>'case_id' = ANY(%s) LIMIT 1", (ours,)),
             what="intake's outbox published")

    start_services("triage", "police_liaison")
    referral = wait_for(lambda: query(dsn, "SELECT created_at FROM police_liaison.referrals WHERE case_id = %s",
                                      (acute_case,)), timeout=120, interval=0.05, what="acute referral")[0]
    triaged = query(dsn, "SELECT triaged_at, urgency, categories FROM triage.results WHERE case_id = %s",
                    (acute_case,))[0]
    assert triaged["urgency"] == "acuut" and "bedreiging" in triaged["categories"]
    before = query(dsn, "SELECT count(*) AS n FROM triage.results WHERE triaged_at < %s AND case_id::text = ANY(%s)",
                   (triaged["triaged_at"], backlog))[0]["n"]
    # only what the consumer had already taken can come first; the backlog has not drained
    assert before < BACKLOG // 3, f"{before} normal reports were triaged before the acute one"
    when_referred = query(dsn, "SELECT count(*) AS n FROM triage.results WHERE triaged_at <= %s "
                               "AND case_id::text = ANY(%s)", (referral["created_at"], ours))[0]["n"]
    assert when_referred < BACKLOG + 1, "the acute report was referred only after the whole backlog"
    # the copy in the main queue comes later and finds the work done: one result, one decision
    wait_for(lambda: query(dsn, "SELECT count(*) AS n FROM triage.results WHERE case_id::text = ANY(%s)",
                           (ours,))[0]["n"] == BACKLOG + 1, timeout=120, what="the backlog")
    assert query(dsn, "SELECT count(*) AS n FROM hub.outbox WHERE event_type = 'incident_triaged' "
                      "AND envelope->>'case_id' = %s", (acute_case,))[0]["n"] == 1
