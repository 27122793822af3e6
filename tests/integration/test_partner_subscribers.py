"""Partner subscribers beyond the police (issue 24, item 4) through real parts: a real HTTP receiver in this
process that checks every signature and deduplicates on the CloudEvent's id, a real case store, a real
broker. A subscriber that fails and recovers gets each event once, with its retries in the delivery log; a
replay sends again, and a replay from the command line wakes two running signals instances, who send each
delivery once; fields not allowed never leave; either key verifies during a rotation; an AMQP subscriber's
bounded queue; `meldpunt subscriber` says what is wrong in one line, exit 2."""
from __future__ import annotations

import json
import sys
import uuid
from datetime import datetime, timedelta, timezone

import pika
import pytest

from services.signals import handlers, partner_queues, store
from shared import webhooks
from shared.clock import Clock
from shared.events import new_event
from tests import support
from tests.unit.samples import PAYLOADS
from tests.webhook_receiver import WebhookReceiver

CODE = "GM0687"


def t0():
    """A moment just after the deliveries offered so far (they are due from the database's now())."""
    return datetime.now(timezone.utc) + timedelta(seconds=1)


class Receiver(WebhookReceiver):
    """A partner's webhook: answers 503 `failures` times, then 204; accepts a request only with a valid
    signature of one of `keys` and a fresh timestamp, and keeps each CloudEvent id once."""

    def __init__(self, keys: list[bytes], failures: int = 0):
        self.keys, self.failures = keys, failures
        self.accepted, self.duplicates, self.refused = {}, 0, 0
        super().__init__()
        self.url = self.base + "/meldpunt"

    def answer(self, request):
        timestamp, signature = request.headers[webhooks.TIMESTAMP], request.headers[webhooks.SIGNATURE]
        if not any(webhooks.verify(key, timestamp, request.body, signature) for key in self.keys):
            self.refused += 1
            return 401
        if self.failures > 0:
            self.failures -= 1
            return 503
        event = request.json()
        if event["id"] in self.accepted:
            self.duplicates += 1
        else:
            self.accepted[event["id"]] = event
        return 204


@pytest.fixture
def receiver():
    made = []

    def make(keys, failures=0):
        made.append(Receiver(keys, failures))
        return made[-1]
    yield make
    for r in made:
        r.close()


@pytest.fixture(autouse=True)
def removed_afterwards(settings):
    """Every subscriber a test made is removed after it (its waiting deliveries fail), so that the next test's
    delivery rounds in the same case store see only their own."""
    yield
    with support.case_store_uow(settings, CODE) as uow:
        for row in store.subscribers(uow):
            store.remove_subscriber(uow, row["name"])


def _uow(settings):
    return lambda: support.case_store_uow(settings, CODE)


def _subscriber(name, url=None, transport="webhook", events=("signal_raised[kind=riec_signal]",),
                fields=("kind", "due_at"), legal_basis="public_task", **extra):
    return {"name": name, "transport": transport, "url": url, "events": list(events), "fields": list(fields),
            "legal_basis": legal_basis, "purpose": "RIEC: signs of ondermijning", "consent_version": extra.pop("consent_version", None),
            "max_attempts": 5, "first_delay_seconds": 1.0, "max_delay_seconds": 10.0, "timeout_seconds": 5.0, **extra}


def _offer(settings, *events):
    with support.case_store_uow(settings, CODE) as uow:
        return handlers.offer(list(events), uow)


def _event(event_type, **payload):
    return new_event(event_type, CODE, uuid.uuid4(), {**PAYLOADS[event_type](), **payload})


def _log(settings, name):
    with support.case_store_uow(settings, CODE) as uow:
        return store.partner_deliveries(uow, name)


def _ledger(settings, case_id):
    with support.case_store_uow(settings, CODE) as uow:
        return uow.disclosed(case_id)


def test_a_subscriber_that_fails_and_recovers_gets_each_event_once(settings, receiver):
    key = uuid.uuid4().hex.encode()
    partner = receiver([key], failures=2)
    name = f"riec-{uuid.uuid4().hex[:8]}"
    with support.case_store_uow(settings, CODE) as uow:
        assert handlers.add_subscriber(uow, _subscriber(name, partner.url), key)
    riec = _event("signal_raised", kind="riec_signal")
    other = _event("signal_raised", kind="inform_burgemeester")  # not allowed: never offered
    assert _offer(settings, riec, other) == 1
    assert _offer(settings, riec) == 0  # the same event offered again adds nothing

    now = t0()
    for _ in range(3):
        handlers.deliver_partners(_uow(settings), now)
        now += timedelta(seconds=11)  # past the longest backoff, so each round tries again
    assert handlers.deliver_partners(_uow(settings), now) == {"delivered": 0, "failed": 0}

    assert list(partner.accepted) == [str(riec.event_id)] and partner.duplicates == 0 and partner.refused == 0
    assert len(partner.requests) == 3
    assert len({r.headers[webhooks.DELIVERY] for r in partner.requests}) == 1  # one delivery, three attempts
    (row,) = _log(settings, name)
    assert (row["status"], row["attempts"], row["event_id"]) == ("delivered", 3, riec.event_id)
    assert [a["result"] for a in row["log"]] == ["failed", "failed", "delivered"]
    assert row["log"][0]["detail"] == "HTTP 503"

    # what left is in the ledger: names of the allowed fields, to whom, delivered
    (disclosed,) = _ledger(settings, riec.case_id)
    assert (disclosed["channel"], disclosed["recipient_kind"], disclosed["recipient"], disclosed["status"]) == (
        "webhook", "partner", name, "delivered")
    assert disclosed["fields"] == ["due_at", "kind"] and disclosed["legal_basis"] == "public_task"
    assert "riec_signal" not in json.dumps(disclosed, default=str)  # names, never values

    # fields not allowed were stripped: the signal's id, owner and scope never left
    sent = partner.accepted[str(riec.event_id)]
    assert set(sent["data"]) == {"kind", "due_at"} and sent["data"]["kind"] == "riec_signal"
    assert sent["specversion"] == "1.0" and sent["type"] == "nl.meldpunthub.signal.raised"
    assert sent["source"] == "urn:nld:gemeentecode:0687:systeem:meldpunthub"
    assert str(riec.case_id) not in json.dumps(partner.requests[-1].body.decode())

    # a replay sends the same delivery again: the partner sees the id it has, the log the replay
    with support.case_store_uow(settings, CODE) as uow:
        assert handlers.replay(uow, row["delivery_id"], "test", now)["subscriber"] == name
    assert handlers.deliver_partners(_uow(settings), now) == {"delivered": 1, "failed": 0}
    assert partner.duplicates == 1 and len(partner.accepted) == 1
    assert len({r.headers[webhooks.DELIVERY] for r in partner.requests}) == 1
    (row,) = _log(settings, name)
    assert [a["result"] for a in row["log"]] == ["failed", "failed", "delivered", "replayed", "delivered"]


class _Watched(Clock):
    """The real time (a webhook's timestamp must be fresh), its reads counted by the function that read it, so
    that `rounds` (support.WatchedClock's) can wait for whole rounds of a timer."""

    def __init__(self):
        self.reads: dict[str, int] = {}

    def now(self):
        reader = sys._getframe(1).f_code.co_name
        self.reads[reader] = self.reads.get(reader, 0) + 1
        return datetime.now(timezone.utc)

    rounds = support.WatchedClock.rounds


def test_two_signals_instances_woken_by_a_replay_from_the_command_line_send_each_delivery_once(
        hub_env, settings, start_services, receiver):
    clocks = (_Watched(), _Watched())
    for clock in clocks:
        start_services("signals", clock=clock)
    for clock in clocks:  # each instance has looked at every store once (its start): its next look is an hour away
        clock.rounds("deliver_partners", 2)
    key, name = uuid.uuid4().hex.encode(), f"riec-{uuid.uuid4().hex[:8]}"
    partner = receiver([key])
    with support.case_store_uow(settings, CODE) as uow:
        handlers.add_subscriber(uow, _subscriber(name, partner.url), key)
    events = [_event("signal_raised", kind="riec_signal") for _ in range(6)]
    _offer(settings, *events)  # by another process than the instances': nothing told them
    for clock in clocks:
        clock.rounds("deliver_partners")
    assert partner.requests == []  # unseen until the hourly look

    ids = [str(row["delivery_id"]) for row in _log(settings, name)]
    replayed = support.meldpunt(hub_env, "subscriber", "replay", *ids)
    assert replayed.returncode == 0 and replayed.stderr == "", replayed.stderr

    support.wait_for(lambda: len(partner.accepted) == len(events), what="every replayed delivery")
    for clock in clocks:  # a whole round of each after that sends nothing twice
        clock.rounds("deliver_partners")
    assert set(partner.accepted) == {str(event.event_id) for event in events} and partner.duplicates == 0
    assert [[a["result"] for a in row["log"]] for row in _log(settings, name)] == [["replayed", "delivered"]] * 6


def test_a_subscriber_that_never_answers_is_given_up_and_replayed_later(settings, receiver):
    key = uuid.uuid4().hex.encode()
    partner = receiver([key], failures=3)
    name = f"shn-{uuid.uuid4().hex[:8]}"
    with support.case_store_uow(settings, CODE) as uow:
        handlers.add_subscriber(uow, _subscriber(name, partner.url, events=["aftercare_referred"],
                                                 fields=["plan_id", "days_since_incident"], legal_basis="consent",
                                                 consent_version="intake-consent-2026-11", max_attempts=2), key)
    referred = _event("aftercare_referred")
    _offer(settings, referred)
    T0 = t0()
    handlers.deliver_partners(_uow(settings), T0)
    handlers.deliver_partners(_uow(settings), T0 + timedelta(seconds=11))
    (row,) = _log(settings, name)
    assert (row["status"], row["attempts"]) == ("failed", 2)
    (disclosed,) = _ledger(settings, referred.case_id)
    assert (disclosed["status"], disclosed["legal_basis"], disclosed["consent_version"]) == (
        "failed", "consent", "intake-consent-2026-11")
    assert partner.accepted == {}

    with support.case_store_uow(settings, CODE) as uow:
        handlers.replay(uow, row["delivery_id"], "test", T0 + timedelta(minutes=5))
    assert _ledger(settings, referred.case_id)[0]["status"] == "pending"
    handlers.deliver_partners(_uow(settings), T0 + timedelta(minutes=5))  # the third 503
    handlers.deliver_partners(_uow(settings), T0 + timedelta(minutes=6))
    assert list(partner.accepted) == [str(referred.event_id)]
    assert set(partner.accepted[str(referred.event_id)]["data"]) == {"plan_id", "days_since_incident"}
    assert partner.accepted[str(referred.event_id)]["subject"] == str(referred.payload["plan_id"])
    assert _ledger(settings, referred.case_id)[0]["status"] == "delivered"


def test_during_a_key_rotation_the_partner_may_hold_either_key(settings, receiver):
    old, new = b"old-" + uuid.uuid4().hex.encode(), b"new-" + uuid.uuid4().hex.encode()
    name = f"gemeente-{uuid.uuid4().hex[:8]}"
    with_old, with_new = receiver([old]), receiver([new])
    with support.case_store_uow(settings, CODE) as uow:
        handlers.add_subscriber(uow, _subscriber(name, with_old.url, events=["incident_triaged[decisions=riec_signal]"],
                                                 fields=["urgency", "categories"]), old)
        handlers.add_key(uow, name, new)
        assert handlers.secrets_of(uow, name) == [new, old]  # newest first
    _offer(settings, _event("incident_triaged", decisions=["aftercare", "riec_signal"]))
    assert handlers.deliver_partners(_uow(settings), t0()) == {"delivered": 1, "failed": 0}
    assert with_old.refused == 0 and len(with_old.accepted) == 1
    header = with_old.requests[0].headers[webhooks.SIGNATURE]
    assert header.count("sha256=") == 2

    # the partner switched to the new key (its URL now answers with the new key only)
    with support.case_store_uow(settings, CODE) as uow:
        uow.execute("UPDATE signals.subscribers SET url = %s WHERE name = %s", (with_new.url, name)).close()
    _offer(settings, _event("incident_triaged", decisions=["riec_signal"]))
    assert handlers.deliver_partners(_uow(settings), t0()) == {"delivered": 1, "failed": 0}
    assert with_new.refused == 0 and len(with_new.accepted) == 1

    # the rotation finished: only the new key signs, a receiver with the old key refuses
    with support.case_store_uow(settings, CODE) as uow:
        assert store.drop_keys_but_newest(uow, name) == 1
        uow.execute("UPDATE signals.subscribers SET url = %s WHERE name = %s", (with_old.url, name)).close()
    _offer(settings, _event("incident_triaged", decisions=["riec_signal"]))
    assert handlers.deliver_partners(_uow(settings), t0()) == {"delivered": 0, "failed": 1}
    assert with_old.refused == 1
    assert _log(settings, name)[0]["last_error"] == "HTTP 401"


def test_an_amqp_subscriber_reads_its_own_bounded_queue(settings, declared):
    name = f"gemeente-{uuid.uuid4().hex[:8]}"
    api, vhost = partner_queues.ManagementApi(settings.rabbit_api_uri), partner_queues.vhost_of(settings.amqp_uri)
    user, password, queue = partner_queues.add(api, vhost, name, max_bytes=1024, ttl_seconds=3600)
    try:
        arguments = api.call("GET", f"queues/{partner_queues._q(vhost)}/{partner_queues._q(queue)}").json()["arguments"]
        assert (arguments["x-max-length-bytes"], arguments["x-overflow"], arguments["x-message-ttl"]) == (
            1024, "reject-publish", 3_600_000)
        with support.case_store_uow(settings, CODE) as uow:
            handlers.add_subscriber(uow, _subscriber(name, transport="amqp", events=["signal_handled"],
                                                     fields=["kind", "outcome"]), None)
        handled = [_event("signal_handled") for _ in range(4)]
        _offer(settings, *handled)
        publisher = partner_queues.Publisher(settings.amqp_uri)
        try:
            counts = handlers.deliver_partners(_uow(settings), t0(), publisher.publish)
        finally:
            publisher.close()
        # a kilobyte holds some of them; the rest is refused, stays pending and is tried again later
        assert counts["delivered"] >= 1 and counts["failed"] >= 1
        log = _log(settings, name)
        assert {r["last_error"] for r in log if r["status"] == "pending"} == {
            "refused by the broker: the subscriber's queue is full"}

        params = pika.URLParameters("amqp://" + settings.amqp_uri.split("://", 1)[1].split(";")[0])
        params.credentials = pika.PlainCredentials(user, password)
        conn = pika.BlockingConnection(params)
        try:
            channel = conn.channel()
            bodies = []
            for method, properties, body in channel.consume(queue, inactivity_timeout=1):
                if method is None:
                    break
                assert properties.content_type == "application/cloudevents+json"
                bodies.append(json.loads(body))
                channel.basic_ack(method.delivery_tag)
        finally:
            conn.close()
        assert len(bodies) == counts["delivered"]
        assert {b["id"] for b in bodies} <= {str(e.event_id) for e in handled}
        assert all(set(b["data"]) == {"kind", "outcome"} for b in bodies)
        (disclosed,) = _ledger(settings, uuid.UUID(str(log[-1]["case_id"])))
        assert disclosed["channel"] == "partner_queue"
    finally:
        partner_queues.remove(api, vhost, name)


def test_the_cli_adds_lists_logs_replays_and_removes_and_says_what_is_wrong(hub_env, settings, receiver):
    name = f"riec-{uuid.uuid4().hex[:8]}"
    partner = receiver([b"unknown-yet"])

    def run(*args):
        done = support.cli(hub_env, "subscriber", *args)
        if done.returncode == 2:
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        return done

    bad = [(["add", name, "--url", partner.url, "--event", "signal_raised[kind=riec_signal]", "--legal-basis",
             "public_task", "--purpose", "riec_signal", "--field", "description"], "no allowed event has a field"),
           (["add", name, "--url", partner.url, "--event", "nothing_happened", "--legal-basis", "public_task",
             "--purpose", "p"], "nothing_happened is not an event of the catalogue"),
           (["add", name, "--event", "signal_raised", "--legal-basis", "public_task", "--purpose", "p"],
            "one of the arguments --url --amqp is required"),
           (["add", name, "--url", partner.url, "--event", "signal_raised", "--legal-basis", "consent",
             "--purpose", "p"], "names the consent text's version"),
           (["add", name, "--url", partner.url, "--event", "signal_raised", "--legal-basis", "public_task",
             "--purpose", "p", "--municipality", "GM9999"], "GM9999 is not a municipality"),
           (["replay", "not-a-uuid"], "a delivery id is a UUID"),
           (["replay", str(uuid.uuid4())], "no delivery"),
           (["remove", name], f"no subscriber {name}"),
           (["rotate", name], f"no subscriber {name}")]
    for args, says in bad:
        done = run(*args)
        assert done.returncode == 2 and says in done.stderr, (args, done.stderr)

    added = run("add", name, "--url", partner.url, "--event", "signal_raised[kind=riec_signal]", "--field", "kind",
                "--legal-basis", "public_task", "--purpose", "riec_signal", "--municipality", CODE,
                "--first-delay", "1", "--max-delay", "2")
    assert added.returncode == 0, added.stderr
    partner.keys = [added.stdout.strip().splitlines()[-1].encode()]  # the key, printed once
    again = run("add", name, "--url", partner.url, "--event", "signal_raised", "--legal-basis", "public_task",
                "--purpose", "p")
    assert again.returncode == 2 and f"subscriber {name} exists already (in {CODE})" in again.stderr
    listed = [json.loads(line) for line in run("list", "--json").stdout.splitlines()]
    (mine,) = [s for s in listed if s["name"] == name]
    assert (mine["municipalities"], mine["fields"], mine["keys"]) == ([CODE], ["kind"], 1)

    riec = _event("signal_raised", kind="riec_signal")
    _offer(settings, riec)
    assert handlers.deliver_partners(_uow(settings), t0()) == {"delivered": 1, "failed": 0}
    assert list(partner.accepted) == [str(riec.event_id)]
    (row,) = [json.loads(line) for line in run("deliveries", name, "--json").stdout.splitlines()]
    assert (row["status"], row["attempts"], row["event_type"]) == ("delivered", 1, "signal_raised")

    # with no broker to wake the running signals service the replay is still made, and said so in one line
    away = support.cli({**hub_env, "MELDPUNT_AMQP_URI": "amqp://guest:guest@127.0.0.1:9/"}, "subscriber", "replay",
                       row["delivery_id"])
    assert away.returncode == 0 and "queued to be sent again" in away.stdout
    (line,) = away.stderr.strip().splitlines()
    assert "next look at the store (within the hour) or when it restarts" in line, line
    assert handlers.deliver_partners(_uow(settings), t0()) == {"delivered": 1, "failed": 0}
    assert partner.duplicates == 1

    rotated = run("rotate", name)
    assert rotated.returncode == 0
    partner.keys = [rotated.stdout.strip().splitlines()[-1].encode()]  # the partner takes the new key at once
    assert run("rotate", name, "--finish").returncode == 0
    _offer(settings, _event("signal_raised", kind="riec_signal"))
    assert handlers.deliver_partners(_uow(settings), t0()) == {"delivered": 1, "failed": 0}

    assert run("remove", name).returncode == 0
    assert name not in run("list").stdout
    assert "is not subscribed now" in run("deliveries", name).stdout  # the log stays


def test_the_cli_makes_and_removes_an_amqp_subscribers_queue_and_user(hub_env, settings):
    name = f"gemeente-{uuid.uuid4().hex[:8]}"
    api, vhost = partner_queues.ManagementApi(settings.rabbit_api_uri), partner_queues.vhost_of(settings.amqp_uri)
    queue = f"{partner_queues._q(vhost)}/{partner_queues._q('partners.' + name)}"
    added = support.cli(hub_env, "subscriber", "add", name, "--amqp", "--event", "signal_handled",
                             "--field", "outcome", "--municipality", CODE, "--legal-basis", "public_task",
                             "--purpose", "regie")
    assert added.returncode == 0, added.stderr
    assert f"queue partners.{name} in vhost {vhost}" in added.stdout and "(read-only)" in added.stdout
    arguments = api.call("GET", f"queues/{queue}").json()["arguments"]
    assert arguments["x-max-length-bytes"] == 50 * 1024 * 1024 and arguments["x-overflow"] == "reject-publish"
    user = partner_queues.user_name(name, vhost)
    permissions = api.call("GET", f"permissions/{partner_queues._q(vhost)}/{partner_queues._q(user)}").json()
    assert (permissions["configure"], permissions["write"]) == ("^$", "^$")
    again = support.cli(hub_env, "subscriber", "add", name, "--amqp", "--event", "signal_handled",
                             "--legal-basis", "public_task", "--purpose", "regie")
    assert again.returncode == 2 and len(again.stderr.strip().splitlines()) == 1
    removed = support.cli(hub_env, "subscriber", "remove", name)
    assert removed.returncode == 0, removed.stderr
    assert api.call("GET", f"queues/{queue}", ok=(200, 404)).status_code == 404
    assert api.call("GET", f"users/{partner_queues._q(user)}", ok=(200, 404)).status_code == 404
