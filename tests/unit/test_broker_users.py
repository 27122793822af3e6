"""Each service's own RabbitMQ user: its URI from the settings, and permissions that fit exactly its queues."""
import re

import pytest

from shared.config import ConfigError
from shared.messaging.topology import (dead_letter_queue_name, liaison_queue_name, retry_queue_name, retry_step_exchange,
                                       service_permissions)
from hub.registry import all_subscriptions, load_settings
from shared.names import SERVICES

ADMIN = "amqp://admin:secret@rabbit.example:5672/%2Fmeldpunt-vr19"


def test_a_service_with_its_own_user_connects_with_it_and_the_others_with_the_admin_uri(tmp_path):
    password_file = tmp_path / "triage.pw"
    password_file.write_text("from/a@file\n")
    settings = load_settings(environ={"MELDPUNT_AMQP_URI": ADMIN,
                                      "MELDPUNT_AMQP_USER_TRIAGE": "meldpunt-triage",
                                      "MELDPUNT_AMQP_PASSWORD_FILE_TRIAGE": str(password_file)})
    assert settings.amqp_uri_for("triage") == "amqp://meldpunt-triage:from%2Fa%40file@rabbit.example:5672/%2Fmeldpunt-vr19"
    assert settings.amqp_uri_for("intake") == ADMIN
    own = settings.nameko_config("triage")
    assert own["AMQP_URI"] == own["MELDPUNT_SETTINGS"].amqp_uri == settings.amqp_uri_for("triage")
    assert own["MELDPUNT_SETTINGS"].runs_as_own_amqp_user("triage")
    assert "secret" not in repr(own["MELDPUNT_SETTINGS"].amqp_users)  # no passwords in reprs
    assert not settings.runs_as_own_amqp_user("intake")


@pytest.mark.parametrize("environ, message", [
    ({"MELDPUNT_AMQP_USER_INTAKE": "meldpunt-intake"}, "MELDPUNT_AMQP_USER_INTAKE is set: give its password"),
    ({"MELDPUNT_AMQP_PASSWORD_INTAKE": "x"}, "MELDPUNT_AMQP_PASSWORD_INTAKE: set MELDPUNT_AMQP_USER_INTAKE"),
    ({"MELDPUNT_AMQP_USER_INTAKE": "a b", "MELDPUNT_AMQP_PASSWORD_INTAKE": "x"}, "MELDPUNT_AMQP_USER_INTAKE"),
    ({"MELDPUNT_AMQP_USER_INTAKE": "u", "MELDPUNT_AMQP_PASSWORD_FILE_INTAKE": "/nonexistent/pw"}, "cannot read"),
])
def test_incomplete_service_users_are_refused_with_one_clear_line(environ, message):
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=environ)
    assert message in str(caught.value)


def _allowed(permissions, kind, name):
    return re.search(permissions[kind], name) is not None


def test_each_service_reads_exactly_its_own_queues_and_writes_only_its_own_exchanges():
    subscriptions = all_subscriptions()
    for service in SERVICES:
        perms = service_permissions(service)
        for sub in subscriptions:
            assert _allowed(perms, "read", sub.queue_name) == (sub.service == service), (service, sub.queue_name)
        for other in SERVICES:
            assert not _allowed(perms, "read", retry_queue_name(other, 1))
        for other in SERVICES:
            assert _allowed(perms, "read", dead_letter_queue_name(other)) == (other == service)
            assert _allowed(perms, "write", f"{other}.events") == (other == service)
            assert _allowed(perms, "write", f"{other}.retry") == (other == service)
            assert _allowed(perms, "write", retry_step_exchange(other, 2).name) == (other == service)
        assert not _allowed(perms, "read", liaison_queue_name("zwb-walcheren"))
        assert not _allowed(perms, "write", "amq.default")   # the default exchange reaches every queue
        assert _allowed(perms, "write", "police.referrals") == (service == "police_liaison")
        assert perms["configure"] == "^$"
