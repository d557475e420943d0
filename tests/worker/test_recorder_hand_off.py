"""The recorder's hand-off queue: bounded, counted when full, and a burst wakes the writer."""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from pathlib import Path

import pytest

from cleanrl_worker.slowlane import recorder as slowlane
from gym_gui_bridge.bus.feed import DequeFeed
from gym_gui_bridge.config.slowlane import RecorderConfig
from gym_gui_bridge.logs import LOG_RECORDER_RECORDS_DROPPED
from gym_gui_bridge.protocol.records import ScalarRecord

WAIT_S = 30.0


def test_a_burst_wakes_a_consumer_sleeping_for_its_batch() -> None:
    feed = DequeFeed(limit=100, wake_at=3)
    taken: list[list[int]] = []
    # asks for 10 items with a long timeout: only the wake-up at 3 queued items returns it
    consumer = threading.Thread(target=lambda: taken.append(feed.get_batch(10, timeout=WAIT_S)))
    consumer.start()
    for item in range(3):
        assert feed.put(item)
    consumer.join(WAIT_S / 3)
    assert not consumer.is_alive(), "the consumer slept through the burst"
    assert taken == [[0, 1, 2]]
    assert feed.stats().delivered == 3 and feed.stats().depth == 0


def test_a_full_hand_off_queue_refuses_counts_and_reports_at_close(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run_id, db = f"handoff-{uuid.uuid4().hex[:8]}", tmp_path / "r.sqlite"
    recorder = slowlane.Recorder(
        run_id, db_path=str(db), argv=["t.py"], config=RecorderConfig(buffer_limit=5)
    )
    recorder._open()
    # far faster than the sink's 0.25 s wake-up, and below its batch-size wake: most refused
    # (a machine stalled for that long lets the sink drain it: then emit on until one is refused)
    emitted = 0
    while emitted < 200 or not recorder.stats()["dropped"]:
        recorder.emit(ScalarRecord(run_id, -1, "default", emitted, 1.0, "loss", 0.5, emitted))
        emitted += 1
        assert emitted < 1_000_000, "the hand-off queue never refused a record"
    assert recorder.flush(WAIT_S)  # drained: the closing lifecycle record finds room
    dropped = recorder.stats()["dropped"]
    assert dropped > 0
    with caplog.at_level(logging.ERROR, logger="cleanrl_worker.slowlane.recorder"):
        assert recorder.close(timeout=WAIT_S)
    assert LOG_RECORDER_RECORDS_DROPPED in caplog.text and f" {dropped} records" in caplog.text
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT COUNT(*) FROM scalars WHERE run_id = ?", (run_id,))
        assert stored.fetchone()[0] == emitted - dropped  # the accepted ones, each once
