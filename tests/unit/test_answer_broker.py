"""A consumer's ack or requeue on a connection the broker just dropped (a cluster node going away) must
not kill the service: found in the cluster test, where statistics' batch consumer acked on a reset
socket, the ConnectionResetError left the worker's result handler and nameko killed the container."""
import logging

import pytest
from amqp.exceptions import RecoverableConnectionError

from shared.messaging.consumer import answer_broker


class Message:
    properties = {"message_id": "m-1"}


@pytest.mark.parametrize("lost", [ConnectionResetError(104, "Connection reset by peer"), BrokenPipeError(32, "Broken pipe"),
                                  RecoverableConnectionError("connection already closed")])
def test_a_lost_connection_at_the_ack_is_logged_and_the_service_goes_on(lost, caplog):
    def ack_message(message):
        raise lost

    with caplog.at_level(logging.WARNING):
        answer_broker(ack_message, Message())
    assert "connection lost before ack_message of message m-1" in caplog.text


def test_an_ack_that_works_is_done_once():
    done = []
    answer_broker(done.append, Message())
    assert len(done) == 1


def test_other_errors_still_surface():
    def requeue_message(message):
        raise ValueError("a bug, not the broker")

    with pytest.raises(ValueError):
        answer_broker(requeue_message, Message())
