"""A case's decision state on a real case store (shared/db/decision_state.py): the inbox claim and the state in one
statement (issue 25), and what that statement guards: a redelivery changes nothing, an older decision or one after
the case stopped is not carried out."""
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from bench.profiling import sql_count
from shared.db.decision_state import DecisionState
from shared.db.pool import ConnectionPool
from shared.db.unit_of_work import Stores

STATE = DecisionState("signals", stop_column="stopped_outcome")
CONSUMER = "signals.on_decision_state_test"


def _event(event_type="incident_triaged"):
    return SimpleNamespace(event_id=uuid.uuid4(), event_type=event_type)


def test_claim_and_decision_state_in_one_statement(settings):
    code = settings.region.codes[0]
    case_id, t1 = uuid.uuid4(), datetime.now(timezone.utc)
    triaged, older, reported, newer = _event(), _event(), _event("incident_reported"), _event()
    sql_count.install()
    pool = ConnectionPool(2)
    try:
        stores = Stores(settings, pool, "signals")

        def state(event, decision_at=None):
            sql_count.reset()
            with stores.case_store(code, consumer=CONSUMER) as uow:
                case = STATE.case_state(uow, case_id, claim=event, decision_at=decision_at)
            counted = sql_count.snapshot()
            assert sum(n for shapes in counted["statements"].values() for n in shapes.values()) == 1
            assert sum(counted["transactions"].values()) == 1
            return case

        case = state(triaged, t1)  # a new case: made, with its first decision
        assert (case["decided_at"], case["stopped_at"], case["reporter_stages"]) == (t1, None, [])
        assert state(triaged, t1) is None  # the same event again: claimed before, nothing changes
        assert state(older, t1 - timedelta(seconds=1))["decided_at"] == t1  # an older decision arriving late
        assert state(reported)["decided_at"] == t1  # no decision: the state as it is

        with stores.case_store(code, consumer=CONSUMER) as uow:
            STATE.stop_case(uow, case_id, "case_closed", t1)
        case = state(newer, t1 + timedelta(seconds=1))  # after the stop no decision is carried out
        assert (case["decided_at"], case["stopped_outcome"]) == (t1, "case_closed")

        with stores.case_store(code, consumer=CONSUMER) as uow:
            claimed = uow.fetchone("SELECT count(*) AS n FROM hub.inbox WHERE consumer = %s AND event_id = ANY(%s::uuid[])",
                                   (CONSUMER, [str(e.event_id) for e in (triaged, older, reported, newer)]))["n"]
        assert claimed == 4
    finally:
        pool.close()
        sql_count.uninstall()


def test_take_decision_in_order_and_not_after_the_stop(settings):
    code = settings.region.codes[0]
    case_id, t1 = uuid.uuid4(), datetime.now(timezone.utc)
    pool = ConnectionPool(2)
    try:
        stores = Stores(settings, pool, "aftercare")
        with stores.case_store(code, consumer="aftercare.on_decision_state_test") as uow:
            assert DecisionState("aftercare").take_decision(uow, case_id, t1)
            assert DecisionState("aftercare").take_decision(uow, case_id, t1)  # the same moment again
            assert not DecisionState("aftercare").take_decision(uow, case_id, t1 - timedelta(seconds=1))
            event = _event()
            assert DecisionState("aftercare").take_decision(uow, case_id, t1 + timedelta(seconds=1), claim=event)
            assert not DecisionState("aftercare").take_decision(uow, case_id, t1 + timedelta(seconds=2), claim=event)
            DecisionState("aftercare").stop_case(uow, case_id, "withdrawn", t1)
            assert not DecisionState("aftercare").take_decision(uow, case_id, t1 + timedelta(seconds=3))
    finally:
        pool.close()
