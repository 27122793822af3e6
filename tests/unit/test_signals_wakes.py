"""Signals' deliverer and mailer visit only the stores with work (issue 25): the writes that give them work
tell the process's due-time index (UnitOfWork.wake), and the service asks each visited store for its next; a
replay made by a command (another process) records an event that tells the running instances."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from types import SimpleNamespace

from services.signals import handlers, store
from shared.events import new_event

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=timezone.utc)


class _Cursor:
    def __init__(self, rowcount):
        self.rowcount = rowcount

    def close(self):
        pass


class _Uow:
    def __init__(self, rowcount=1, row=None):
        self.wakes, self.rowcount, self.row, self.queries, self.recorded = [], rowcount, row, [], []

    def audit(self, *args, **kwargs):
        pass

    def record(self, event_type, case_id, payload):
        self.recorded.append(new_event(event_type, "GM0687", case_id, payload))

    def wake(self, task, at):
        self.wakes.append((task, at))

    def execute(self, query, params=()):
        self.queries.append(query)
        return _Cursor(self.rowcount)

    def fetchone(self, query, params=()):
        self.queries.append(query)
        return self.row


def _event():
    return SimpleNamespace(event_id=uuid.uuid4(), event_type="signal_raised", case_id=uuid.uuid4())


def test_a_new_delivery_wakes_the_deliverer_and_one_offered_twice_does_not():
    uow = _Uow(rowcount=1)
    assert store.add_partner_delivery(uow, uuid.uuid4(), {"name": "riec", "transport": "webhook"}, _event(), "{}")
    assert uow.wakes == [(store.PARTNERS_TASK, store.AT_ONCE)]
    again = _Uow(rowcount=0)
    assert not store.add_partner_delivery(again, uuid.uuid4(), {"name": "riec", "transport": "webhook"}, _event(), "{}")
    assert again.wakes == []


def test_a_replay_wakes_the_deliverer():
    uow = _Uow(row={"delivery_id": uuid.uuid4(), "subscriber": "riec", "case_id": None, "event_type": "x"})
    assert store.replay_partner_delivery(uow, uuid.uuid4(), NOW) is not None
    assert uow.wakes == [(store.PARTNERS_TASK, store.AT_ONCE)]
    assert store.replay_partner_delivery(_Uow(row=None), uuid.uuid4(), NOW) is None


def test_a_notice_wakes_the_mailer_when_it_may_go():
    uow = _Uow()
    digest = datetime(2026, 12, 7, 8, 30, tzinfo=timezone.utc)
    store.insert_notice(uow, uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), "staff", "municipality", False, NOW, digest)
    store.hurry_notice(uow, uuid.uuid4(), NOW)
    assert uow.wakes == [(store.MAIL_TASK, digest), (store.MAIL_TASK, NOW)]


def test_the_next_work_is_read_from_the_store():
    assert store.next_partner_delivery(_Uow(row={"at": NOW})) == NOW
    assert store.next_mail_work(_Uow(row={"at": None})) is None


def test_a_replay_by_a_command_wakes_the_running_instances_by_an_event():
    delivery_id, case_id = uuid.uuid4(), uuid.uuid4()
    uow = _Uow(row={"delivery_id": delivery_id, "subscriber": "riec-zeeland", "case_id": case_id,
                    "event_type": "signal_raised"})
    assert handlers.replay(uow, delivery_id, "cli:operator", NOW) is not None
    (event,) = uow.recorded  # in the replay's transaction: it goes out only if the replay commits
    assert (event.event_type, event.case_id) == ("partner_delivery_replayed", case_id)
    assert event.payload == {"delivery_id": delivery_id, "subscriber": "riec-zeeland"}
    told = []
    handlers.replayed(event, lambda *wake: told.append(wake))
    assert told == [(store.PARTNERS_TASK, "GM0687", store.AT_ONCE)]
    nothing = _Uow(row=None)
    assert handlers.replay(nothing, delivery_id, "cli:operator", NOW) is None and nothing.recorded == []
