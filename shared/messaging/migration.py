"""Declaring a queue whose definition changed, without losing a message that waits in it.

RabbitMQ cannot change a queue's type or arguments: a classic queue that should become a
quorum queue (or a quorum queue with other limits) must be deleted and declared again. When
declaring the new definition fails with PRECONDITION_FAILED, `declare_queue` moves the
messages aside and back, each move published with publisher confirms before the original is
acknowledged, so that every message is in some queue at every moment:

1. refuse while the queue has consumers (stop the services first: a message a consumer
   holds unacknowledged would be lost with the queue);
2. a holding queue `<name>.migrating` (quorum) takes the queue's bindings, and the old queue
   loses them: what is published meanwhile waits in the holding queue;
3. the messages waiting in the queue's retry queues (`feeders`: they dead-letter into the
   queue by name) move to the holding queue too, their retry coming early; then the queue's
   own messages;
4. the old queue (and its emptied retry queues) are deleted and declared anew;
5. the new queue takes its bindings, the holding queue loses them, and its messages move in.

Between 5's binding and unbinding a message published in that instant can reach both queues:
consumers are idempotent (the inbox), so a duplicate is harmless where a loss is not. A run
that stopped half-way is finished by the next `meldpunt declare`: each migration writes the
queue's name to the journal queue `meldpunt.migrations` first, and a journal found at the start
names the holding queues to empty into their queues.

When nothing needs migrating (every run but the first after an upgrade) all queues are
declared in one pipelined pass over a few channels, without waiting for each answer: a
hundred queues and their bindings in a fraction of a second, which matters to the tests, where
every test declares the topology in a vhost of its own.
"""
from __future__ import annotations

import logging

from amqp import Message
from amqp.exceptions import NotFound, PreconditionFailed
from kombu import Queue

log = logging.getLogger(__name__)

HOLDING = "{}.migrating"
JOURNAL = "meldpunt.migrations"
CHANNELS = 4  # the broker creates the queues of different channels side by side
# a message's expiration, kept in a header while it waits in a holding queue (where it would expire)
KEPT_EXPIRATION = "x-meldpunt-expiration"


class MigrationRefused(Exception):
    """Something the operator must do first, in one line."""


def declare_all(connection, items) -> dict[str, int]:
    """Declare every `(queue, feeders)` of `items` with its binding (their exchanges exist).
    Returns {queue name: messages moved} for the queues migrated from an older definition."""
    by_name = {queue.name: queue for queue, _ in items}
    unfinished = _journal(connection)
    for name in unfinished:
        if name in by_name:
            moved = _finish_leftover(connection, by_name[name], declare=True)
            log.warning("finished an earlier migration of %s: %d message(s) moved in", name, moved)
    migrated = {} if _pipelined(connection, items) else _one_by_one(connection, items)
    if unfinished or migrated:
        delete_empty(connection, JOURNAL, force=True)
    return migrated


def _pipelined(connection, items) -> bool:
    """Declare and bind all without waiting for each answer; False when a queue exists with
    another definition (its PRECONDITION_FAILED closed the channel)."""
    channels = [connection.channel() for _ in range(CHANNELS)]
    try:
        for index, (queue, _) in enumerate(items):
            channel = channels[index % CHANNELS]
            channel.queue_declare(queue.name, durable=True, auto_delete=False,
                                  arguments=queue.queue_arguments, nowait=True)
            for exchange, routing_key in _bindings(queue):
                channel.queue_bind(queue.name, exchange, routing_key, nowait=True)
        for channel in channels:
            channel.basic_qos(0, 0, False)  # an answer awaited: every command before it was done
    except PreconditionFailed:
        return False
    for channel in channels:
        channel.close()
    return True


def _one_by_one(connection, items) -> dict[str, int]:
    migrated = {}
    for queue, feeders in items:
        moved = declare_queue(connection, queue, feeders)
        if moved is not None:
            migrated[queue.name] = moved
    return migrated


def declare_queue(connection, queue: Queue, feeders: tuple[str, ...] = ()) -> int | None:
    """Declare `queue` (with its exchange and binding). Returns None when it was declared as it
    is, else the number of messages moved through a migration of its old definition."""
    channel = connection.channel()
    try:
        queue(channel).declare()
    except PreconditionFailed:
        return _migrate(connection, queue, feeders)
    channel.close()
    return None


def _journal(connection) -> list[str]:
    """The queues whose migration an earlier run began and may not have finished."""
    if not _exists(connection, JOURNAL):
        return []
    channel, names = connection.channel(), []
    while (message := channel.basic_get(JOURNAL, no_ack=False)) is not None:
        names.append(message.body.decode() if isinstance(message.body, bytes) else message.body)
    channel.close()  # unacked: they stay until this run has finished them
    return names


def _migrate(connection, queue: Queue, feeders) -> int:
    channel = connection.channel()
    name = queue.name
    _, _, consumers = channel.queue_declare(name, passive=True)
    if consumers:
        raise MigrationRefused(f"queue {name} must change its definition but has {consumers} consumer(s): "
                               "stop the services (and police units) reading it, then run `meldpunt declare` again")
    holding = _holding(queue)
    channel.queue_declare(JOURNAL, durable=True, auto_delete=False, arguments={"x-queue-type": "quorum"})
    channel.basic_publish_confirm(Message(name, delivery_mode=2), exchange="", routing_key=JOURNAL)
    holding(channel).declare()
    for exchange, routing_key in _bindings(queue):
        channel.queue_unbind(name, exchange, routing_key)
    channel.close()
    moved = 0
    for feeder in feeders:  # their messages would dead-letter into the queue while it is gone
        if _exists(connection, feeder):
            moved += move_messages(connection, feeder, holding.name, keep_expiration=False)
    moved += move_messages(connection, name, holding.name, keep_expiration=True)
    for old in (*feeders, name):
        delete_empty(connection, old)
    # a new channel for the new queue: a channel that used the old one of the same name keeps
    # that queue's type in its state (RabbitMQ 3.10 then fails a publish with INTERNAL_ERROR)
    _finish_leftover(connection, queue, declare=True)
    log.info("queue %s declared anew; %d waiting message(s) moved through %s", name, moved, holding.name)
    return moved


def _finish_leftover(connection, queue: Queue, declare: bool = False) -> int:
    """Declare the queue (`declare`) and empty its holding queue into it: the end of a migration,
    or of one an earlier run left half-way."""
    holding = HOLDING.format(queue.name)
    channel = connection.channel()
    if declare:
        queue(channel).declare()
    if not _exists(connection, holding):
        channel.close()
        return 0
    for exchange, routing_key in _bindings(queue):
        channel.queue_unbind(holding, exchange, routing_key)
    channel.close()
    moved = move_messages(connection, holding, queue.name, restore_expiration=True)
    delete_empty(connection, holding)
    return moved


def _holding(queue: Queue) -> Queue:
    return Queue(HOLDING.format(queue.name), exchange=queue.exchange, routing_key=queue.routing_key,
                 durable=True, queue_arguments={"x-queue-type": "quorum"})


def _bindings(queue: Queue) -> list[tuple[str, str]]:
    if queue.exchange is None or not queue.exchange.name:
        return []
    return [(queue.exchange.name, queue.routing_key)]


def _exists(connection, name: str) -> bool:
    channel = connection.channel()
    try:
        channel.queue_declare(name, passive=True)
    except NotFound:
        return False  # the broker closed that channel
    channel.close()
    return True


def delete_empty(connection, name: str, force: bool = False) -> None:
    """Delete a queue that must be empty now (`force`: the journal, whatever it holds). Nothing
    routes to it any more; quorum queues know no `if-empty` delete, so it is looked at first."""
    channel = connection.channel()
    try:
        _, count, consumers = channel.queue_declare(name, passive=True)
    except NotFound:
        return
    if (count or consumers) and not force:
        raise MigrationRefused(f"queue {name} took a message or a consumer while it was being migrated: "
                               "run `meldpunt declare` again with the services stopped")
    channel.queue_delete(name)
    channel.close()


def move_messages(connection, source: str, target: str, keep_expiration: bool = False,
          restore_expiration: bool = False) -> int:
    """Move every message of `source` to `target` through the default exchange: each published
    with a confirm before its original is acked, so none is ever in neither queue."""
    moved = 0
    channel = connection.channel()
    while True:
        message = channel.basic_get(source, no_ack=False)
        if message is None:
            channel.close()
            return moved
        properties = dict(message.properties)
        headers = dict(properties.pop("application_headers", None) or {})
        headers.pop("x-delivery-count", None)  # the quorum queue's own count, not the message's
        expiration = properties.pop("expiration", None)
        if expiration is not None and keep_expiration:
            headers[KEPT_EXPIRATION] = expiration
        if restore_expiration and KEPT_EXPIRATION in headers:
            properties["expiration"] = str(headers.pop(KEPT_EXPIRATION))
        properties["delivery_mode"] = 2
        copy = type(message)(message.body, application_headers=headers, **properties)
        channel.basic_publish_confirm(copy, exchange="", routing_key=target, mandatory=True)
        channel.basic_ack(message.delivery_tag)
        moved += 1
