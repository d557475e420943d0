"""The emitter stands in for the embedded recorder's writer (``EmitterSink``)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from bridge_helpers import free_port, row_counts, start_bridge, stop_bridge

from cleanrl_worker.emitter.bridge_sink import EmitterSink
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.records import EpisodeRollup
from gym_gui_bridge.server.client import connect

pytestmark = pytest.mark.slow  # every test here starts processes


def test_recorder_surface_ships_records_to_a_bridge(tmp_path: Path) -> None:
    run_id, port, db = (
        f"rsink-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        free_port(),
        tmp_path / "b.sqlite",
    )
    bridge = start_bridge(db, port, tmp_path / "bridge-spool")
    try:
        sink = EmitterSink(
            f"127.0.0.1:{port}", run_id, spool_root=str(tmp_path / "spool"), name="test-emitter"
        )
        sink.start()
        for i in range(300):
            sink.put(EpisodeRollup(run_id, 1, "default", i, 1.0, i, 2.0, 2, True, False, i, 0.1))
        assert sink.flush(30.0)
        assert sink.stats().accepted == 300
        assert sink.stop(30.0)
    finally:
        assert stop_bridge(bridge) == 0
    assert row_counts(db, run_id)["episodes"] == (300, 300)
    assert not list((tmp_path / "spool").glob("*/seg-*"))


def test_embedded_recorder_ships_to_a_bridge_through_the_adapter(tmp_path: Path) -> None:
    """The wiring activation will do for FASTLANE_BRIDGE: Recorder._open starts the adapter."""
    from cleanrl_worker.slowlane import recorder as slowlane
    from gym_gui_bridge.protocol.records import StepRecord

    run_id, port, db = (
        f"rec-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        free_port(),
        tmp_path / "b.sqlite",
    )
    address, spool = f"127.0.0.1:{port}", str(tmp_path / "spool")

    class BridgeRecorder(slowlane.Recorder):
        def _open(self) -> None:
            with self._open_lock:
                if self._sink is None:
                    self._start_sink(EmitterSink(address, self.run_id, spool_root=spool))

    bridge = start_bridge(db, port, tmp_path / "bridge-spool")
    try:
        recorder = BridgeRecorder(run_id, db_path=str(tmp_path / "unused.sqlite"), argv=["ppo.py"])
        recorder._open()
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
