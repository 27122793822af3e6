"""A nameko event handler that never drops a message and never loops hot.

nameko acks an event after its handler ends, whether it raised or not. Here a failing
message is first re-published to a retry queue, where it waits out its backoff delay
and is dead-lettered back; after the last attempt it is parked in the service's
dead-letter queue for an operator. Only then is the original acked. A message that
breaks the event contract (or is not JSON at all), or names a municipality outside the
region, is parked at once: retrying cannot help it. The handler method receives a validated
`shared.events.Event`.

With `acute=True` the handler also consumes its acute queue (shared/messaging/topology.py):
the copies of acute events, on a connection and channel of their own so that they are not
held behind what the handler's main queue has already delivered, and handed to the next free
worker. The same event also waits in the main queue, which gives it retries and parking; so
an acute copy that fails is dropped, and the main queue's copy later finds the work done
(the inbox) or does it.

With `batch=N` the handler receives a list of up to N events instead: those waiting in its
queue, or arriving within `window` seconds of the first, are handled by one worker, so one
transaction can take many (group commit). A consumer off the incident's critical path
(statistics) waits longer and takes more per transaction. A batch handler consumes on a
channel of its own (on the service's one connection), with a prefetch that follows from its
batch and window (`batch_prefetch`), and a batch that succeeded is acked with one
`multiple` ack (`_Acks`: only up to the first delivery of that channel still in hand, so
nothing unfinished is ever acked); if the batch fails, each of its events is handled again
on its own, so one bad event is retried and parked alone. A batch handler must be
idempotent per event, like any handler (`UnitOfWork.first_deliveries`).

What the broker delivers is passed to its handler in the consumer's own green thread (decode,
validate, hand to a worker or to the batch being gathered) while a worker is free, instead of
a green thread of its own per message first (issue 25: nameko spawns one per delivery).
"""
from __future__ import annotations

import logging
import math
import time
import traceback
from collections import deque
from datetime import datetime, timezone
from functools import partial

import eventlet
from amqp.exceptions import AMQPError
from nameko.amqp.publish import Publisher
from nameko.events import SERVICE_POOL, EventHandler
from nameko.exceptions import ContainerBeingKilled
from kombu import Consumer as KombuConsumer
from nameko.messaging import Consumer, QueueConsumer

from shared import metrics
from shared.config import settings_from_nameko
from shared.db.unit_of_work import UnknownMunicipality
from shared.events import InvalidEvent, load_event
from shared.messaging import headers as hub_headers
from shared.messaging.topology import (acute_queue, consumer_queue, dead_letter_queue_name, retry_exchange,
                                       retry_step_exchange)

log = logging.getLogger(__name__)


class PermanentFailure(Exception):
    """Raised by a handler when retrying the same message can never succeed."""


# Failures no retry can mend: the message breaks the contract, or names no municipality of this region.
PERMANENT = (InvalidEvent, PermanentFailure, UnknownMunicipality)


# How long a batch handler's first waiting event waits for others that arrive with it (default).
BATCH_WINDOW_SECONDS = 0.005
# Events a second a batch handler must be able to take before its window limits it: while a window runs, the
# handler holds at most its prefetch unacked, so it takes at most prefetch / window a second (issue 25: with the
# service's shared prefetch at aftercare's batch of 20 and its 0.5 s window that was 40/s, and the hub's rate fell
# to 35/s). Five events of the hub's target of 200 incidents a second.
BATCH_EVENTS_PER_SECOND = 1000


def batch_prefetch(batch: int, window: float) -> int:
    """The prefetch of a batch handler's own channel: a batch in a worker while the next one gathers (2 x batch),
    and at least what BATCH_EVENTS_PER_SECOND bring in one window."""
    return max(2 * batch, math.ceil(BATCH_EVENTS_PER_SECOND * window))


class _Acks:
    """The deliveries of one channel in the order the broker made them, and which are settled.

    A batch is acked with one `basic.ack(multiple=True)`: the broker then takes every delivery of the channel
    up to that tag as acked. So the tag sent is the last one before the first delivery still in hand (in a
    worker, waiting for its window, being retried on its own): nothing unfinished is acked, and a batch that
    ends before an older one waits for it. A requeue (reject) goes at once; the ack after it skips it.
    """

    def __init__(self, channel):
        self.channel = channel
        self.in_order: deque = deque()   # delivery tags not yet covered by an ack sent
        self.settled: dict = {}          # delivery tag -> True (ack it) or False (already rejected)
        self.acked_upto = 0

    def delivered(self, tag: int) -> None:
        self.in_order.append(tag)

    def settle(self, tag: int, ack: bool = True) -> None:
        if tag <= self.acked_upto or (self.in_order and tag < self.in_order[0]):
            return  # not of this channel's record (cannot happen); never ack what may be covered already
        self.settled[tag] = ack

    def flush(self) -> None:
        """Ack the settled deliveries before the first one still in hand, in one frame."""
        last = None
        while self.in_order and self.in_order[0] in self.settled:
            tag = self.in_order.popleft()
            if self.settled.pop(tag):
                last = tag
        if last is not None:
            self.acked_upto = last
            self.channel.basic_ack(last, multiple=True)


class ContractCheckingQueueConsumer(QueueConsumer):
    """nameko's queue consumer, but a body that cannot be decoded is parked, not re-raised.

    Without this, kombu raises inside the consumer loop, the connection restarts and the
    broker redelivers the same message forever. A batch handler consumes on a channel of its
    own with the prefetch of `batch_prefetch`, and its messages are acked through `_Acks`;
    the other handlers share the connection's first channel (prefetch `max_workers`) and
    each message is acked on its own.
    """

    _acks: dict = {}  # provider -> _Acks of its own channel, made anew with every connection

    def get_consumers(self, consumer_cls, channel):
        self._acks = {}
        for provider in self._providers:
            callbacks = [partial(self.handle_message, provider)]
            if getattr(provider, "batch", 1) > 1:
                own = channel.connection.channel()
                self._acks[provider] = own.hub_acks = acks = _Acks(own)
                consumer = KombuConsumer(own, queues=[provider.queue], callbacks=callbacks, accept=self.accept,
                                         on_decode_error=partial(self._undecodable, provider, acks))
                consumer.qos(prefetch_count=batch_prefetch(provider.batch, provider.window))
            else:
                consumer = consumer_cls(queues=[provider.queue], callbacks=callbacks, accept=self.accept)
                consumer.on_decode_error = partial(self._undecodable, provider, None)
                consumer.qos(prefetch_count=self.prefetch_count)
            self._consumers[provider] = consumer
        return self._consumers.values()

    def handle_message(self, provider, body, message):
        """Hand the message over in this green thread when that cannot block it (nameko spawns a thread for
        every message first); otherwise as nameko does."""
        acks = self._acks.get(provider) if isinstance(provider, ReliableEventHandler) else None
        if acks is not None:
            acks.delivered(message.delivery_tag)
        if isinstance(provider, ReliableEventHandler) and (acks is not None or self.container._worker_pool.free()):
            provider.receive(body, message)
        else:
            super().handle_message(provider, body, message)

    def ack_message(self, message):
        self.ack_messages([message])

    def ack_messages(self, messages):
        """Ack messages that were handled: on a batch handler's channel together (`_Acks`), else one by one."""
        flush = set()
        for message in messages:
            acks = getattr(message.channel, "hub_acks", None)
            if acks is None:
                super().ack_message(message)
            elif message.channel.connection:  # on a lost connection the broker delivers it again
                acks.settle(message.delivery_tag)
                message._state = "ACK"
                flush.add(acks)
        for acks in flush:
            acks.flush()

    def requeue_message(self, message):
        super().requeue_message(message)
        acks = getattr(message.channel, "hub_acks", None)
        if acks is not None and message.channel.connection:
            acks.settle(message.delivery_tag, ack=False)
            acks.flush()

    def _undecodable(self, provider, acks, message, exc):
        if acks is not None:
            acks.delivered(message.delivery_tag)
        provider.park_undecodable(message, exc)


class AcuteQueueConsumer(ContractCheckingQueueConsumer):
    """The acute queues of a service's handlers: their own connection and channel, a small prefetch."""

    @property
    def prefetch_count(self):
        return min(self.container.max_workers, ACUTE_PREFETCH)


ACUTE_PREFETCH = 4  # acute copies are few; each waits for the next free worker


class ReliableEventHandler(EventHandler):
    queue_consumer = ContractCheckingQueueConsumer()
    acute = False

    def __init__(self, source_service: str, event_type: str, batch: int = 1,
                 window: float = BATCH_WINDOW_SECONDS, **kwargs):
        self.batch = batch
        self.window = window
        super().__init__(source_service, event_type, handler_type=SERVICE_POOL,
                         reliable_delivery=True, requeue_on_error=False, **kwargs)

    def setup(self):
        settings = settings_from_nameko(self.container.config)
        self.service = self.container.service_name
        # As its own broker user a service may not declare; `meldpunt declare` has made its queues.
        self.queue = consumer_queue(self.source_service, self.event_type, self.service, self.method_name,
                                    declare=not settings.runs_as_own_amqp_user(self.service))
        self.retry_delays = settings.retry_delays
        self.region = settings.region
        self.publisher = Publisher(settings.amqp_uri, use_confirms=True, retry=True,
                                   retry_policy={"max_retries": 3, "interval_start": 0.5,
                                                 "interval_step": 1, "interval_max": 2})
        self._waiting = []  # (event, message, started) for a batch handler
        self._collecting = False
        Consumer.setup(self)  # skip EventHandler.setup: the queue is ours, shared with `meldpunt declare`

    def _labelled(self, family):
        """This handler's child of a metric family (labels: service, event type), made on first use and kept:
        `labels()` costs a lock and a look-up on every event otherwise (issue 25)."""
        children = self.__dict__.setdefault("_metric_children", {})
        child = children.get(family)
        if child is None:
            child = children[family] = family.labels(self.service, self.event_type)
        return child

    # ------------------------------------------------------------ receive
    def handle_message(self, body, message):
        """nameko's way in: a green thread of its own per message, which may wait."""
        self.receive(body, message, inline=False)

    def receive(self, body, message, inline: bool = True):
        """Validate the message and hand it to a worker, or to the batch being gathered. `inline`: called in the
        queue consumer's own green thread (`ContractCheckingQueueConsumer.handle_message`, a worker known to be
        free), where nothing may wait: what can (parking, a batch's window) gets a thread of its own."""
        started = time.monotonic()
        try:
            event = load_event(body)
            if event.event_type != self.event_type:
                raise InvalidEvent({"event_type": [f"expected {self.event_type}"]})
            if not self.region.knows(event.municipality):
                raise UnknownMunicipality(event.municipality)  # never handled, whatever the handler
        except (InvalidEvent, UnknownMunicipality) as exc:
            self._labelled(metrics.EVENTS_FAILED).inc()
            settle = partial(self._settle_failure, message, attempt_error=exc, permanent=True)
            if inline:
                self.container.spawn_managed_thread(settle, identifier=f"{self.method_name}.park")
            else:
                settle()
            return
        if self.batch > 1:
            self._waiting.append((event, message, started))
            if not self._collecting:
                self._collecting = True
                if inline:
                    self.container.spawn_managed_thread(self._collect, identifier=f"{self.method_name}.collect")
                else:
                    self._collect()
            return
        self._spawn_one(event, message, started)

    def _spawn_one(self, event, message, started):
        argument = [event] if self.batch > 1 else event
        try:
            self.container.spawn_worker(self, (argument,), {},
                                        context_data=self.unpack_message_headers(message),
                                        handle_result=partial(self.handle_result, message, started))
        except ContainerBeingKilled:
            answer_broker(self.queue_consumer.requeue_message, message)

    def handle_result(self, message, started, worker_ctx, result=None, exc_info=None):
        self._settle(message, started, exc_info)
        return result, exc_info

    def _settle(self, message, started, exc_info, ack=True):
        self._labelled(metrics.HANDLER_SECONDS).observe(time.monotonic() - started)
        if exc_info is None:
            self._labelled(metrics.EVENTS_HANDLED).inc()
            if log.isEnabledFor(logging.INFO):  # its arguments are not built for nothing on every event
                log.info("handled %s", self.event_type, extra={
                    "handler": f"{self.service}.{self.method_name}", "event_id": message.properties.get("message_id"),
                    "seconds": round(time.monotonic() - started, 4)})
            if ack:
                answer_broker(self.queue_consumer.ack_message, message)
        else:
            self._labelled(metrics.EVENTS_FAILED).inc()
            self._settle_failure(message, attempt_error=exc_info[1],
                                 permanent=isinstance(exc_info[1], PERMANENT))

    # ------------------------------------------------------------ batches
    def _collect(self):
        """Run in the green thread of the first event that found no batch being collected: wait a
        moment for the events that arrived with it, then hand batches to workers until none wait.
        While the worker pool is full, more events gather, so batches grow with the backlog."""
        self._collecting = True  # also set by who spawned it, so that no second one is spawned meanwhile
        try:
            eventlet.sleep(self.window)
            while self._waiting:
                batch, self._waiting = self._waiting[:self.batch], self._waiting[self.batch:]
                self._labelled(metrics.EVENT_BATCH_SIZE).observe(len(batch))
                try:
                    self.container.spawn_worker(self, ([event for event, _, _ in batch],), {},
                                                handle_result=partial(self._batch_result, batch))
                except ContainerBeingKilled:
                    for _, message, _ in batch + self._waiting:
                        answer_broker(self.queue_consumer.requeue_message, message)
                    self._waiting = []
        finally:
            self._collecting = False

    def _batch_result(self, batch, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            for _, message, started in batch:
                self._settle(message, started, None, ack=False)
            # one frame for the whole batch on its own channel (`_Acks`)
            answer_broker(self.queue_consumer.ack_messages, [message for _, message, _ in batch])
        else:
            log.warning("batch of %d %s events failed in %s.%s (%s); handling each on its own", len(batch),
                        self.event_type, self.service, self.method_name, _describe(exc_info[1]))
            # from a managed thread: a worker waiting here for a free worker could wait forever
            self.container.spawn_managed_thread(partial(self._one_by_one, batch),
                                                identifier=f"{self.method_name}.one_by_one")
        return result, exc_info

    def _one_by_one(self, batch):
        for event, message, started in batch:
            self._spawn_one(event, message, started)

    def park_undecodable(self, message, exc):
        self._labelled(metrics.EVENTS_FAILED).inc()
        self._settle_failure(message, attempt_error=exc, permanent=True)

    # ---------------------------------------------------- retry or park
    def _settle_failure(self, message, attempt_error, permanent: bool):
        try:
            self._retry_or_park(message, attempt_error, permanent)
        except Exception:
            # Could not hand the message on (broker trouble): do not ack. Wait a moment so that
            # a persistent broker problem cannot turn into a hot redelivery loop.
            log.exception("could not retry or park a failed message; returning it to %s", self.queue.name)
            eventlet.sleep(1.0)
            answer_broker(self.queue_consumer.requeue_message, message)
            return
        answer_broker(self.queue_consumer.ack_message, message)

    def _retry_or_park(self, message, error, permanent: bool):
        headers = dict(message.headers or {})
        headers.pop("x-delivery-count", None)  # the quorum queue's count of this copy, not of the event
        attempt = int(headers.get(hub_headers.ATTEMPT, 0)) + 1
        headers.update({
            hub_headers.ATTEMPT: attempt,
            hub_headers.QUEUE: self.queue.name,
            hub_headers.SERVICE: self.service,
            hub_headers.EVENT_TYPE: self.event_type,
            hub_headers.ERROR: _describe(error),
            hub_headers.FAILED_AT: datetime.now(timezone.utc).isoformat(),
        })
        common = dict(exchange=retry_exchange(self.service).name, content_type=message.content_type or "application/octet-stream",
                      content_encoding=message.content_encoding or "binary", headers=headers,
                      priority=message.properties.get("priority") or 0,
                      message_id=message.properties.get("message_id"), mandatory=True)
        if not permanent and attempt <= len(self.retry_delays):
            delay = self.retry_delays[attempt - 1]
            log.warning("handler %s.%s failed (attempt %d), retrying in %ss: %s", self.service,
                        self.method_name, attempt, delay, headers[hub_headers.ERROR])
            # the step's fanout exchange puts it in the service's retry queue of that step; the routing key (this
            # queue's name) is what the broker dead-letters it by when its delay is over
            self.publisher.publish(message.body, routing_key=self.queue.name, expiration=delay,
                                   **{**common, "exchange": retry_step_exchange(self.service, attempt).name})
            self._labelled(metrics.EVENTS_RETRIED).inc()
        else:
            log.error("parking message in %s after %d attempt(s): %s", dead_letter_queue_name(self.service),
                      attempt, headers[hub_headers.ERROR])
            self.publisher.publish(message.body, routing_key=dead_letter_queue_name(self.service), **common)
            self._labelled(metrics.EVENTS_DEAD_LETTERED).inc()


def answer_broker(how, message) -> None:
    """Ack or requeue (`how`: the queue consumer's ack_message, ack_messages or requeue_message) a message
    (or for ack_messages a list of them) whose connection may have just been lost (a broker node going away).
    nameko guards only against AMQP's own connection errors, so a reset socket raised out of a worker's
    result handler and killed the whole service. The broker takes back what was delivered on a lost
    connection and delivers it again; the inbox makes that harmless."""
    try:
        how(message)
    except (OSError, AMQPError) as lost:
        what = (f"{len(message)} messages" if isinstance(message, list)
                else f"message {message.properties.get('message_id')}")
        log.warning("connection lost before %s of %s (%s): the broker delivers it again",
                    how.__name__, what, _describe(lost))


def _describe(error) -> str:
    """The error's first line, short enough for a header and an operator's screen.

    Only the first line: database errors go on to quote the statement, which could hold
    values from a case.
    """
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


class AcuteLaneHandler(ReliableEventHandler):
    """A reliable event handler that also takes the acute copies of its events first."""
    acute = True
    acute_queue_consumer = AcuteQueueConsumer()

    def setup(self):
        super().setup()
        self.lane = _AcuteLane(self, acute_queue(self.source_service, self.event_type, self.service,
                                                 self.method_name, declare=not self.queue.no_declare))
        self.acute_queue_consumer.register_provider(self.lane)

    def stop(self):
        self.acute_queue_consumer.unregister_provider(self.lane)
        super().stop()

    def handle_acute(self, body, message):
        started = time.monotonic()
        try:
            event = load_event(body)
            if event.event_type != self.event_type or not self.region.knows(event.municipality):
                raise InvalidEvent({"event_type": ["not for this handler"]})
        except InvalidEvent:
            answer_broker(self.acute_queue_consumer.ack_message, message)  # the main queue's copy is parked
            return
        argument = [event] if self.batch > 1 else event
        try:
            self.container.spawn_worker(self, (argument,), {}, context_data=self.unpack_message_headers(message),
                                        handle_result=partial(self._acute_result, message, started))
        except ContainerBeingKilled:
            answer_broker(self.acute_queue_consumer.requeue_message, message)

    def _acute_result(self, message, started, worker_ctx, result=None, exc_info=None):
        self._labelled(metrics.HANDLER_SECONDS).observe(time.monotonic() - started)
        if exc_info is None:
            self._labelled(metrics.EVENTS_HANDLED).inc()
        else:
            self._labelled(metrics.EVENTS_FAILED).inc()
            log.warning("acute copy of %s failed in %s.%s (%s); its copy in %s carries on", self.event_type,
                        self.service, self.method_name, _describe(exc_info[1]), self.queue.name)
        answer_broker(self.acute_queue_consumer.ack_message, message)
        return result, exc_info


class _AcuteLane:
    """What the acute queue consumer needs of a provider: the queue, and where messages go."""

    def __init__(self, handler: AcuteLaneHandler, queue):
        self.handler, self.queue = handler, queue

    def handle_message(self, body, message):
        self.handler.handle_acute(body, message)

    def park_undecodable(self, message, exc):
        answer_broker(self.handler.acute_queue_consumer.ack_message, message)  # the main queue's copy is parked


def event_handler(source_service: str, event_type: str, acute: bool = False, **kwargs):
    """`@event_handler(source, event_type, batch=N, window=S, acute=True)`: see the module's docstring."""
    return (AcuteLaneHandler if acute else ReliableEventHandler).decorator(source_service, event_type, **kwargs)
