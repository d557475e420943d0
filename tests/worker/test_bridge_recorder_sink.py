"""With a bridge, the recorder's record sink is the emitter: records reach the bridge's store,
each process spools under ``<run_id>.<pid>``, and closing never waits past the emitter's cap."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from bridge_helpers import free_port, row_counts, start_bridge, stop_bridge

from cleanrl_worker.emitter.emitter import BridgeEmitter
from cleanrl_worker.slowlane import recorder as slowlane
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.records import EpisodeRollup, StepRecord
from gym_gui_bridge.server.client import connect

pytestmark = pytest.mark.slow  # every test here starts processes


def test_the_emitter_is_a_record_sink_that_ships_to_a_bridge(tmp_path: Path) -> None:
    run_id, port, db = (
        f"rsink-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        free_port(),
        tmp_path / "b.sqlite",
    )
    bridge = start_bridge(db, port, tmp_path / "bridge-spool")
    try:
        sink = BridgeEmitter(
            f"127.0.0.1:{port}", run_id, spool_root=str(tmp_path / "spool"), name="test-emitter"
        )
        sink.start()
        for i in range(300):
            sink.put(EpisodeRollup(run_id, 1, "default", i, 1.0, i, 2.0, 2, True, False, i, 0.1))
        assert sink.flush(30.0)
        assert sink.stats().accepted == 300 and sink.dropped == 0
        assert sink.close(30.0)
    finally:
        assert stop_bridge(bridge) == 0
    assert row_counts(db, run_id)["episodes"] == (300, 300)
    assert not list((tmp_path / "spool").glob("*/seg-*"))


def test_recorder_with_a_bridge_ships_there_through_its_own_spool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default spool root, runs/spool, is relative
    run_id, port, db = (
        f"rec-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        free_port(),
        tmp_path / "b.sqlite",
    )
    address = f"127.0.0.1:{port}"
    spool = tmp_path / "runs" / "spool" / f"{run_id}.{os.getpid()}"
    bridge = start_bridge(db, port, tmp_path / "bridge-spool")
    try:
        recorder = slowlane.Recorder(
            run_id, db_path=str(tmp_path / "unused.sqlite"), argv=["ppo.py"], bridge=address
        )
        recorder._open()
        assert spool.is_dir()  # one spool per process
        recorder._lifecycle(slowlane.RUN_STARTED)
        for i in range(500):
            recorder.emit(StepRecord(run_id, 0, "default", i, 1.0, 0, i, i, 1, 1.0, False, False))
        recorder.record_scalar("loss", 0.5, 10)
        assert recorder.close(timeout=30.0)
        listed = {
            r.run_id: r.status
            for r in connect(address).ListRuns(pb.ListRunsRequest(), timeout=30).runs
        }
    finally:
        assert stop_bridge(bridge) == 0
    assert listed[run_id] == "finished"
    counts = row_counts(db, run_id)
    assert counts["steps"] == (500, 500) and counts["scalars"] == (1, 1)
    assert not (tmp_path / "unused.sqlite").exists()  # nothing went to the embedded file
    assert not spool.exists()  # everything acknowledged: the spool is gone


def test_recorder_with_no_bridge_listening_keeps_its_records_in_the_spool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run_id = f"nobridge-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    recorder = slowlane.Recorder(run_id, argv=["ppo.py"], bridge=f"127.0.0.1:{free_port()}")
    recorder._open()
    for i in range(50):
        recorder.emit(StepRecord(run_id, 0, "default", i, 1.0, 0, i, i, 1, 1.0, False, False))
    # a generous timeout: the emitter's close cap (EMITTER_CLOSE_TIMEOUT_S) bounds the wait
    assert not recorder.close(timeout=3600.0)
    spool = tmp_path / "runs" / "spool" / f"{run_id}.{os.getpid()}"
    assert list(spool.glob("seg-*.jsonl")), "unacknowledged records stay on disk"
    assert recorder.stats()["sink"].pending == 51  # the steps and the 'finished' record
