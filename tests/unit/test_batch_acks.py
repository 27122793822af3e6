"""A batch handler's acks (shared/messaging/consumer.py `_Acks`): one `multiple` ack per batch, never
covering a delivery still in hand, and a prefetch that follows from the batch and its window."""
from shared.messaging.consumer import BATCH_EVENTS_PER_SECOND, _Acks, batch_prefetch


class Channel:
    def __init__(self):
        self.acks = []

    def basic_ack(self, tag, multiple=False):
        self.acks.append((tag, multiple))


def delivered(*tags):
    acks = _Acks(Channel())
    for tag in tags:
        acks.delivered(tag)
    return acks


def settle(acks, *tags, ack=True):
    for tag in tags:
        acks.settle(tag, ack)
    acks.flush()
    return acks.channel.acks


def test_a_batch_is_acked_in_one_frame():
    acks = delivered(1, 2, 3, 4)
    assert settle(acks, 1, 2, 3, 4) == [(4, True)]


def test_a_later_batch_waits_for_an_earlier_one_still_in_hand():
    acks = delivered(*range(1, 7))
    assert settle(acks, 4, 5, 6) == []            # 1-3 are still in a worker: acking 6 would ack them too
    assert settle(acks, 1, 2, 3) == [(6, True)]   # then both batches in one frame


def test_the_ack_stops_before_the_first_delivery_in_hand():
    acks = delivered(1, 2, 3, 4, 5)
    assert settle(acks, 1, 2, 4, 5) == [(2, True)]
    assert settle(acks, 3) == [(2, True), (5, True)]


def test_a_rejected_delivery_is_skipped_not_acked():
    acks = delivered(1, 2, 3)
    assert settle(acks, 3, ack=False) == []
    assert settle(acks, 1, 2) == [(2, True)]      # 3 was rejected (requeued) already: not acked again
    assert settle(delivered(1), 1, ack=False) == []


def test_nothing_is_acked_twice():
    acks = delivered(1, 2)
    settle(acks, 1, 2)
    assert settle(acks, 2, 1) == [(2, True)]      # a second settle of covered tags sends nothing


def test_the_prefetch_follows_from_batch_and_window():
    assert batch_prefetch(20, 0.005) == 40                          # a batch in a worker, the next gathering
    assert batch_prefetch(200, 0.5) == BATCH_EVENTS_PER_SECOND // 2  # the window would cap it otherwise
    assert batch_prefetch(1000, 1.0) == 2000
    for batch, window in ((20, 0.005), (200, 0.5), (1000, 1.0)):
        assert batch_prefetch(batch, window) / window >= BATCH_EVENTS_PER_SECOND
