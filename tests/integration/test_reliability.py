"""Nothing lost, nothing doubled: idempotent consumers, the outbox across a broker outage,
retries with backoff into the dead-letter queue, and replay — all on the real broker and stores."""
import json
import uuid
from datetime import datetime, timezone

import pytest
from prometheus_client import REGISTRY

from shared.events import dump_event, new_event
from shared.messaging.dlq import DeadLetters
from tests.support import cli, incident_body, publish_raw, query, wait_for


def handled(service, event_type):
    return REGISTRY.get_sample_value("meldpunt_events_handled_total",
                                     {"service": service, "event_type": event_type}) or 0.0


def reported_event(code, **payload):
    return new_event("incident_reported", code, uuid.uuid4(), {
        "channel": "api", "occurred_at": datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc), "location_type": "balie",
        "target_role": "ambtenaar", "reported_categories": ["bedreiging"], "anonymous": False,
        "perpetrator_count": 1,
        "consent": {"contact": True, "police_referral": True, "inform_manager": False, "employer_reports": False},
        **payload})


def test_the_same_event_delivered_twice_has_one_effect(settings, start_services):
    start_services("triage", "statistics")
    code = settings.region.codes[0]
    dsn = settings.region.municipality(code).case_store_dsn
    event = reported_event(code)
    before_triage, before_stats = handled("triage", "incident_reported"), handled("statistics", "incident_reported")

    for _ in range(2):
        publish_raw(settings.amqp_uri, "intake.events", "incident_reported", dump_event(event))
    wait_for(lambda: handled("triage", "incident_reported") - before_triage == 2
             and handled("statistics", "incident_reported") - before_stats == 2, what="both deliveries handled")

    assert len(query(dsn, "SELECT 1 FROM triage.results WHERE case_id = %s", (event.case_id,))) == 1
    assert len(query(dsn, "SELECT 1 FROM hub.outbox WHERE event_type = 'incident_triaged' "
                          "AND envelope->>'case_id' = %s", (str(event.case_id),))) == 1
    assert len(query(dsn, "SELECT 1 FROM hub.inbox WHERE event_id = %s", (event.event_id,))) == 1
    stats = query(settings.region.statistics_dsn, "SELECT consumer FROM hub.inbox WHERE event_id = %s",
                  (event.event_id,))
    assert [r["consumer"] for r in stats] == ["statistics.on_incident_reported"]


@pytest.fixture
def hub_on_private_rabbit(private_rabbit, region_file, container_factory):
    """The five services on a RabbitMQ node of this run's own (tests/engines.py), which the test
    may stop: the machine's broker is shared with other test runs and the demo."""
    from hub.registry import declare, load_settings, service_class
    from tests.support import Hub, hub_environment

    settings = load_settings(hub_environment(region_file, private_rabbit.amqp_uri))
    declare(settings.amqp_uri, len(settings.retry_delays))
    for name in ("intake", "triage", "police_liaison", "aftercare", "statistics"):
        container_factory(service_class(name), settings.nameko_config(name)).start()
    return Hub(settings)


@pytest.mark.broker_outage
def test_a_change_committed_while_the_broker_is_down_reaches_consumers_afterwards(hub_on_private_rabbit,
                                                                                   private_rabbit):
    hub = hub_on_private_rabbit
    code = hub.region.codes[1]
    key = hub.key(code)
    private_rabbit.stop_app()
    try:
        response = hub.report(key)  # intake writes the case and its event in one transaction
        assert response.status_code == 201, response.text
        case_id = response.json()["case_id"]
        pending = query(hub.case_store(code), "SELECT published_at FROM hub.outbox WHERE envelope->>'case_id' = %s",
                        (case_id,))
        assert pending == [{"published_at": None}]
    finally:
        private_rabbit.start_app()
    facts = wait_for(lambda: (f := hub.facts(code, uuid.UUID(case_id))) and f["aftercare_planned"] and f["referred"]
                     and f, timeout=60, what="the incident to travel after the broker came back")
    assert facts["urgency"] == "hoog"

    expected = sorted(["incident_reported", "incident_triaged", "referral_created", "aftercare_planned"])

    def path():
        """The incident's own path marked published, each once (reminders, repeats and signals may come beside
        it); a relay marks what the broker confirmed a moment later, many rows at once."""
        published = query(hub.case_store(code), "SELECT event_type FROM hub.outbox WHERE envelope->>'case_id' = %s "
                                                "AND published_at IS NOT NULL ORDER BY id", (case_id,))
        return sorted(r["event_type"] for r in published if r["event_type"] in expected)
    wait_for(lambda: path() == expected, timeout=10, what=f"{expected} marked published")


def test_poison_event_is_parked_after_retries_others_flow_and_replay_brings_it_back(hub, hub_env):
    broken, healthy = hub.region.codes[2], hub.region.codes[3]
    broken_dsn = hub.case_store(broken)
    dead = DeadLetters(hub.settings.amqp_uri)
    poisoned = None

    def own(letters):
        return [letter for letter in letters if letter.case_id == poisoned]

    query(broken_dsn, "ALTER TABLE triage.results RENAME TO results_out_of_order")
    try:
        poisoned = hub.report(hub.key(broken)).json()["case_id"]
        fine = hub.report(hub.key(healthy)).json()["case_id"]
        wait_for(lambda: (f := hub.facts(healthy, uuid.UUID(fine))) and f["aftercare_planned"], what="healthy path")
        # its own case's letters only: an earlier test's event of this municipality, published again by the
        # outbox's sweep in this test (at least once), meets the renamed table as well and is parked beside it
        letters = wait_for(lambda: own(dead.list("triage")), what="the poison message in triage.dlq")
        assert len(letters) == 1
        letter = letters[0]
        assert letter.attempts == 1 + len(hub.settings.retry_delays)
        assert letter.case_id == poisoned and letter.event_type == "incident_reported"
        assert "results" in letter.error and letter.queue == "evt-intake-incident_reported--triage.on_incident_reported"
        assert own(dead.list("statistics")) == []  # other consumers of the same event were not affected

        listed = cli(hub_env, "dlq", "list", "triage")
        assert listed.returncode == 0 and letter.message_id in listed.stdout
        shown = cli(hub_env, "dlq", "show", "triage", letter.message_id)
        assert shown.returncode == 0 and json.loads(shown.stdout)["attempts"] == letter.attempts
    finally:
        query(broken_dsn, "ALTER TABLE triage.results_out_of_order RENAME TO results")

    replayed = cli(hub_env, "dlq", "replay", "triage", letter.message_id)
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed 1 message" in replayed.stdout
    # aftercare and police liaison answer independently: wait for both, then check each
    facts = wait_for(lambda: (f := hub.facts(broken, uuid.UUID(poisoned))) and f["aftercare_planned"]
                     and f["referred"] is not False and f, what="the replayed incident to complete")
    assert facts["referred"] is True
    assert len(query(broken_dsn, "SELECT 1 FROM triage.results WHERE case_id = %s", (poisoned,))) == 1
    # at least once: a second copy of the event (the outbox's sweep published it again before the relay marked
    # it) may be parked after the first was listed; it is the same message, and replaying it changes nothing
    left = own(dead.list("triage"))
    assert all(copy.message_id == letter.message_id for copy in left), left
    if left:
        assert cli(hub_env, "dlq", "replay", "triage", letter.message_id).returncode == 0
        wait_for(lambda: not own(dead.list("triage")), what="the copy handled")
        assert len(query(broken_dsn, "SELECT 1 FROM triage.results WHERE case_id = %s", (poisoned,))) == 1


def test_malformed_messages_are_parked_at_once_and_the_hub_keeps_working(hub, hub_env):
    code = hub.region.codes[0]
    dead = DeadLetters(hub.settings.amqp_uri)
    publish_raw(hub.settings.amqp_uri, "intake.events", "incident_reported", b"{not json",
                message_id="not-json")
    invalid = dump_event(reported_event(code))
    invalid["payload"]["description"] = "free text must never travel in an event"
    publish_raw(hub.settings.amqp_uri, "intake.events", "incident_reported", json.dumps(invalid),
                message_id="smuggled-free-text")

    case_id = hub.report(hub.key(code)).json()["case_id"]
    wait_for(lambda: (f := hub.facts(code, uuid.UUID(case_id))) and f["aftercare_planned"], what="normal path")
    for service in ("triage", "statistics"):
        letters = wait_for(lambda: len(d := dead.list(service)) == 2 and d, what=f"{service}.dlq")
        assert sorted(d.message_id for d in letters) == ["not-json", "smuggled-free-text"]
        assert all(d.attempts == 1 for d in letters)  # contract breaches are not retried

    purged = cli(hub_env, "dlq", "purge", "statistics", "--all")
    assert purged.returncode == 0 and "purged 2" in purged.stdout
    assert dead.list("statistics") == []
    assert len(dead.list("triage")) == 2


def test_an_event_of_a_municipality_outside_the_region_is_parked_by_every_consumer_and_never_counted(hub):
    dead = DeadLetters(hub.settings.amqp_uri)
    stranger = reported_event("GM9999")
    publish_raw(hub.settings.amqp_uri, "intake.events", "incident_reported", dump_event(stranger),
                message_id=str(stranger.event_id))

    for service in ("triage", "statistics"):
        letters = wait_for(lambda: dead.list(service), what=f"{service}.dlq")
        assert [d.message_id for d in letters] == [str(stranger.event_id)] and letters[0].attempts == 1
    assert query(hub.settings.region.statistics_dsn, "SELECT count(*) AS n FROM statistics.incident_facts "
                                                     "WHERE municipality = 'GM9999'") == [{"n": 0}]


def test_a_batch_handler_folds_waiting_events_together_and_parks_only_the_poisoned_one(settings, start_services):
    """Statistics takes the events waiting in its queue in batches (one transaction each); a batch
    holding one event that cannot be stored is handled again event by event: the rest is counted
    once, the bad one retried and parked alone, and a replay counts it after the repair."""
    from services.statistics import domain
    from shared.keyed import statistics_key_of

    code = settings.region.codes[0]
    events = [reported_event(code) for _ in range(40)]
    poisoned = events[17]
    ref = domain.case_ref(statistics_key_of(settings), poisoned.case_id)
    stats_dsn = settings.region.statistics_dsn
    query(stats_dsn, "ALTER TABLE statistics.incident_facts ADD CONSTRAINT test_poison CHECK (case_ref <> %s)",
          (ref,))
    batches = lambda: REGISTRY.get_sample_value("meldpunt_event_batch_size_count",  # noqa: E731
                                                {"service": "statistics", "event_type": "incident_reported"}) or 0.0
    before, batches_before = handled("statistics", "incident_reported"), batches()
    try:
        for event in events:  # all waiting before the service starts
            publish_raw(settings.amqp_uri, "intake.events", "incident_reported", dump_event(event))
        start_services("statistics")
        dead = DeadLetters(settings.amqp_uri)
        letters = wait_for(lambda: dead.list("statistics"), what="the poisoned event parked")
        assert [letter.case_id for letter in letters] == [str(poisoned.case_id)]
        assert handled("statistics", "incident_reported") - before == 39
        assert batches() - batches_before < 39  # taken in batches, not one worker per event
        refs = [domain.case_ref(statistics_key_of(settings), e.case_id) for e in events if e is not poisoned]
        counted = query(stats_dsn, "SELECT count(*) AS n FROM statistics.incident_facts WHERE case_ref = ANY(%s)",
                        (refs,))
        assert counted[0]["n"] == 39
        assert query(stats_dsn, "SELECT 1 FROM statistics.incident_facts WHERE case_ref = %s", (ref,)) == []
    finally:
        query(stats_dsn, "ALTER TABLE statistics.incident_facts DROP CONSTRAINT test_poison")
    dead.replay("statistics", letters[0].message_id)
    wait_for(lambda: query(stats_dsn, "SELECT 1 FROM statistics.incident_facts WHERE case_ref = %s", (ref,)),
             what="the replayed event counted")
    assert handled("statistics", "incident_reported") - before == 40
    inbox = query(stats_dsn, "SELECT count(*) AS n FROM hub.inbox WHERE event_id = ANY(%s::uuid[])",
                  ([str(e.event_id) for e in events],))
    assert inbox[0]["n"] == 40  # each once
