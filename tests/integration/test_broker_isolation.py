"""Services as their own RabbitMQ users on the real broker: `meldpunt broker setup` gives each
exactly its permissions; with them the incident path works, and beyond them the broker refuses.

The vhost is this test's own (nameko's rabbit_config); the users are created for this test
and deleted afterwards.
"""
import secrets
import uuid

import pika
import pytest

from hub.registry import load_settings
from shared.messaging.management import ManagementApi
from shared.messaging.topology import dead_letter_queue_name
from shared.names import SERVICES
from tests.support import Hub, cli, publish_raw, query, wait_for


def pika_connection(settings, service):
    user, password = settings.amqp_users[service]
    params = pika.URLParameters("amqp://" + settings.amqp_uri.split("://", 1)[1])
    params.credentials = pika.PlainCredentials(user, password)
    params.heartbeat = 0
    params.blocked_connection_timeout = 10
    return pika.BlockingConnection(params)


@pytest.fixture
def own_users(hub_env):
    run = secrets.token_hex(4)
    env = dict(hub_env)
    for service in SERVICES:
        env[f"MELDPUNT_AMQP_USER_{service.upper()}"] = f"meldpunt-test-{service}-{run}"
        env[f"MELDPUNT_AMQP_PASSWORD_{service.upper()}"] = secrets.token_urlsafe(18)
    settings = load_settings(env)
    try:
        result = cli(env, "broker", "setup")
        assert result.returncode == 0, result.stderr
        assert "configure nothing" in result.stdout and "declared" in result.stdout
        yield settings
    finally:
        api = ManagementApi(settings.rabbit_api_uri)
        for user, _ in settings.amqp_users.values():
            api.call("DELETE", f"users/{user}", ok=(204, 404))


def test_services_do_their_work_as_their_own_users(own_users, start_services):
    started = start_services(*SERVICES, settings=own_users)
    for service, container in started.items():
        user = own_users.amqp_users[service][0]
        assert container.config["AMQP_URI"].split("://", 1)[1].startswith(f"{user}:")
    hub = Hub(own_users)
    code = hub.region.codes[0]
    case_id = hub.report(hub.key(code)).json()["case_id"]
    # intake published (its exchange), triage consumed and published, aftercare and statistics consumed
    wait_for(lambda: (f := hub.facts(code, uuid.UUID(case_id))) and f["aftercare_planned"], what="incident path")
    assert query(hub.case_store(code), "SELECT 1 FROM triage.results WHERE case_id = %s", (case_id,))

    # a malformed event is parked through the service's own retry exchange into its dead-letter queue
    publish_raw(own_users.amqp_uri, "intake.events", "incident_reported", b"not json at all")
    conn = pika_connection(own_users, "triage")
    try:
        depth = lambda: conn.channel().queue_declare(dead_letter_queue_name("triage"), passive=True).method.message_count
        wait_for(lambda: depth() >= 1, what="a dead letter in triage.dlq")
    finally:
        conn.close()


def _refused(conn, action) -> int:
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
        channel = conn.channel()
        channel.confirm_delivery()
        action(channel)
    return refused.value.reply_code


def test_a_service_user_cannot_read_others_queues_publish_elsewhere_or_declare(own_users, declared):
    conn = pika_connection(own_users, "triage")
    try:
        # another service's consumer queue and dead-letter queue
        assert _refused(conn, lambda ch: ch.basic_get("evt-intake-incident_reported--statistics.on_incident_reported")) == 403
        assert _refused(conn, lambda ch: ch.basic_get(dead_letter_queue_name("aftercare"))) == 403
        # the police units' exchange, another service's events, the default exchange (which reaches every queue)
        publish = lambda exchange, key: lambda ch: ch.basic_publish(exchange, key, b"{}")
        assert _refused(conn, publish("police.referrals", "zwb-walcheren.referral_created")) == 403
        assert _refused(conn, publish("intake.events", "incident_reported")) == 403
        assert _refused(conn, publish("", "police.referrals.zwb-walcheren")) == 403
        # declaring or deleting anything
        assert _refused(conn, lambda ch: ch.queue_declare("triage-mine", durable=True)) == 403
        assert _refused(conn, lambda ch: ch.queue_delete("evt-intake-incident_reported--triage.on_incident_reported")) == 403
        assert _refused(conn, lambda ch: ch.exchange_delete("intake.events")) == 403
        # what it needs it may do: read its own queue, publish its own events
        channel = conn.channel()
        channel.basic_get("evt-intake-incident_reported--triage.on_incident_reported")
        channel.confirm_delivery()
        channel.basic_publish("triage.events", "nobody-listens", b"{}")
    finally:
        conn.close()

    police = pika_connection(own_users, "police_liaison")
    try:
        channel = police.channel()
        channel.confirm_delivery()
        channel.basic_publish("police.referrals", "zwb-walcheren.test", b"{}")  # its job
    finally:
        police.close()
