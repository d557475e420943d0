"""RunBus under concurrent publishers with a stuck subscriber: the fast path drops its oldest
events and counts them, the durable path receives everything, publishers never block."""

from __future__ import annotations

import logging
import threading

import pytest

from gym_gui_bridge.bus.run_bus import OverflowPolicy, RunBus
from gym_gui_bridge.logs import LOG_RUNBUS_SEQ_GAP
from gym_gui_bridge.protocol.records import ScalarRecord, StepRecord

PUBLISHERS = 4
PER_PUBLISHER = 5000
JOIN_TIMEOUT_S = 60.0  # a bound so the test cannot hang, not a speed expectation


def _records(publisher: int) -> list[StepRecord]:
    return [
        StepRecord("bus-test", publisher, "default", seq, 0.0, 0, seq, seq, 0, 1.0, False, False)
        for seq in range(PER_PUBLISHER)
    ]


def test_stuck_fast_subscriber_loses_old_events_while_durable_gets_all() -> None:
    bus = RunBus()
    stuck = bus.subscribe("stuck-viewer", OverflowPolicy.DROP_OLDEST, maxsize=16)
    durable = bus.subscribe("db", OverflowPolicy.DURABLE, maxsize=PUBLISHERS * PER_PUBLISHER)
    received: list[StepRecord] = []
    consumer_done = threading.Event()

    def consume() -> None:
        while len(received) < PUBLISHERS * PER_PUBLISHER:
            received.extend(durable.get_batch(256, timeout=0.05))  # type: ignore[arg-type]
        consumer_done.set()

    def publish(publisher: int) -> None:
        for i, record in enumerate(_records(publisher)):
            if i % 2:
                bus.publish(record)
            else:
                bus.publish_many([record])

    consumer = threading.Thread(target=consume, name="test-durable-consumer")
    consumer.start()
    publishers = [
        threading.Thread(target=publish, args=(p,), name=f"test-publisher-{p}")
        for p in range(PUBLISHERS)
    ]
    for thread in publishers:
        thread.start()
    for thread in publishers:
        thread.join(JOIN_TIMEOUT_S)
    # the viewer never read anything, yet every publisher finished
    assert not any(thread.is_alive() for thread in publishers)
    assert consumer_done.wait(JOIN_TIMEOUT_S)
    consumer.join(JOIN_TIMEOUT_S)

    assert len(received) == PUBLISHERS * PER_PUBLISHER
    for publisher in range(PUBLISHERS):  # each publisher's events arrive in order
        seqs = [r.seq for r in received if r.slot == publisher]
        assert seqs == list(range(PER_PUBLISHER))

    stats = bus.overflow_stats()
    assert stats["stuck-viewer"].depth == 16
    assert stats["stuck-viewer"].dropped == PUBLISHERS * PER_PUBLISHER - 16
    assert stats["db"].dropped == 0 and stats["db"].lost == 0
    assert bus.seq_gaps() == {} and bus.duplicates() == 0
    # the viewer keeps the newest events: the last 16 published
    kept = stuck.get_batch(16, timeout=0)
    assert len(kept) == 16


def test_durable_subscriber_beyond_its_soft_bound_keeps_everything_and_says_so() -> None:
    bus = RunBus()
    durable = bus.subscribe("db", OverflowPolicy.DURABLE, maxsize=10)
    bus.publish_many(ScalarRecord("r", -1, "a", i, 0.0, "t", 0.0, i) for i in range(100))
    stats = bus.overflow_stats()["db"]
    assert (stats.depth, stats.dropped, stats.lost, stats.over_bound) == (100, 0, 0, 90)
    assert [r.seq for r in durable.get_batch(1000, timeout=0)] == list(range(100))


def test_durable_subscriber_at_its_hard_cap_counts_and_logs_what_it_loses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from gym_gui_bridge.logs import LOG_RUNBUS_DURABLE_RECORD_LOST

    bus = RunBus()
    durable = bus.subscribe("db", OverflowPolicy.DURABLE, maxsize=10, hard_limit=20)
    with caplog.at_level(logging.WARNING):
        bus.publish_many(ScalarRecord("r", -1, "a", i, 0.0, "t", 0.0, i) for i in range(30))
    stats = bus.overflow_stats()["db"]
    assert (stats.depth, stats.lost, stats.delivered) == (20, 10, 20)
    assert [r.seq for r in durable.get_batch(100, timeout=0)] == list(range(20))  # oldest kept
    assert any(LOG_RUNBUS_DURABLE_RECORD_LOST in message for message in caplog.messages)


def test_get_waits_at_most_its_timeout_and_unsubscribe_wakes_a_waiting_consumer() -> None:
    bus = RunBus()
    subscription = bus.subscribe("viewer")
    assert subscription.get(timeout=0.01) is None
    result: list[object] = []
    waiter = threading.Thread(target=lambda: result.append(subscription.get(timeout=30)))
    waiter.start()
    subscription.unsubscribe()
    waiter.join(JOIN_TIMEOUT_S)
    assert not waiter.is_alive() and result == [None]
    bus.publish(ScalarRecord("r", -1, "a", 0, 0.0, "t", 0.0, 0))
    assert subscription.qsize() == 0 and "viewer" not in bus.overflow_stats()


def test_sequence_gaps_are_counted_per_stream_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    bus = RunBus()
    with caplog.at_level(logging.WARNING):
        for seq in (0, 1, 2, 5, 6, 6, 10):
            bus.publish(ScalarRecord("gap-run", -1, "agent-a", seq, 0.0, "t", 0.0, seq))
        bus.publish(ScalarRecord("gap-run", -1, "agent-b", 3, 0.0, "t", 0.0, 3))  # first seen
    assert bus.seq_gaps() == {("gap-run", "agent-a", "scalar", -1): 2 + 3}
    assert bus.duplicates() == 1
    assert any(LOG_RUNBUS_SEQ_GAP in message for message in caplog.messages)
