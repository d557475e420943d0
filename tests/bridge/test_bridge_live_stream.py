"""Live subscribers: replay from SQLite then live without gap or duplicate at the seam, and a
subscriber that stops reading is throttled without slowing ingestion."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bridge_helpers import (
    bridge_log,
    free_port,
    row_counts,
    run_worker,
    start_bridge,
    stop_bridge,
    wait_healthy,
)
from waits import WAIT_S, wait_until

from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.jsonl import encode_lines
from gym_gui_bridge.protocol.records import StepRecord
from gym_gui_bridge.server.client import connect

pytestmark = pytest.mark.slow  # every test here starts processes


def _steps(run_id: str, seqs: range) -> list[StepRecord]:
    return [
        StepRecord(run_id, 0, "default", s, 1.0, s // 10, s % 10, s, 1, 0.5, False, False)
        for s in seqs
    ]


def _publish(stub: Any, run_id: str, seqs: range, chunk: int = 50, pause: float = 0.0) -> None:
    def batches() -> Iterator[pb.RecordBatch]:
        for i, start in enumerate(range(seqs.start, seqs.stop, chunk)):
            part = range(start, min(start + chunk, seqs.stop))
            yield pb.RecordBatch(batch_id=i + 1, jsonl=encode_lines(_steps(run_id, part)).encode())
            time.sleep(pause)

    acks = list(stub.PublishRecords(batches(), timeout=WAIT_S))
    assert sum(a.accepted for a in acks) == len(seqs)


def test_replay_then_live_has_no_gap_and_no_duplicate(tmp_path: Path) -> None:
    port, run_id = free_port(), f"live-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    bridge = start_bridge(tmp_path / "b.sqlite", port, tmp_path / "spool")
    stub = connect(f"127.0.0.1:{port}")
    try:
        _publish(stub, run_id, range(0, 500))  # stored before the subscriber comes
        call = stub.StreamRunSteps(pb.StreamRequest(run_id=run_id, from_seq=100), timeout=WAIT_S)
        live = threading.Thread(target=_publish, args=(stub, run_id, range(500, 1500), 50, 0.01))
        live.start()
        resend = threading.Thread(
            target=_publish, args=(stub, run_id, range(400, 700))
        )  # duplicates
        resend.start()
        seqs = []
        for step in call:
            seqs.append(step.seq)
            if step.seq == 1499:
                break
        call.cancel()
        live.join(WAIT_S)
        resend.join(WAIT_S)
        assert seqs == list(range(100, 1500))
    finally:
        assert stop_bridge(bridge) == 0


def test_stuck_subscriber_is_throttled_and_never_slows_ingestion(tmp_path: Path) -> None:
    port, run_id = free_port(), f"stuck-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    db = tmp_path / "b.sqlite"
    bridge = start_bridge(db, port, tmp_path / "spool")
    stub = connect(f"127.0.0.1:{port}")
    # the call starts at once; this client never reads from it
    stuck = stub.StreamRunSteps(pb.StreamRequest(run_id=run_id), timeout=WAIT_S * 3)
    try:
        wait_until(
            lambda: wait_healthy(f"127.0.0.1:{port}").subscribers >= 1, what="the subscriber"
        )
        worker = run_worker(run_id, port, tmp_path / "worker-spool", 60000, 0.0, wait=False)
        out, err = worker.communicate(timeout=WAIT_S * 3)
        assert b"done=True" in out, err.decode()
        health = wait_healthy(f"127.0.0.1:{port}")
        assert health.subscribers == 1 and health.subscriber_drops > 0
    finally:
        stuck.cancel()
        assert stop_bridge(bridge) == 0
    assert row_counts(db, run_id)["steps"] == (60000, 60000)
    assert bridge_log(db, port).read_text().count("LOG_CREDIT_STARVED") == 1
