"""A writer that dies is detectable, its segment can be cleaned up or taken over; live ones not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from worker_helpers import SUPPORT

from gym_gui_bridge.cli import main as cli_main
from gym_gui_bridge.errors import FastLaneBusyError
from gym_gui_bridge.fastlane import (
    FastLaneConfig,
    FastLaneReader,
    FastLaneWriter,
    cleanup_segments,
    list_segments,
)

PEERS = str(SUPPORT / "ring_peers.py")


def _killed_writer(run_id: str) -> int:
    """Start a writer in another process, wait until it published, SIGKILL it."""
    proc = subprocess.Popen(
        [sys.executable, PEERS, "hold", run_id], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return proc.pid


def _entry(run_id: str):  # type: ignore[no-untyped-def]
    return next(e for e in list_segments() if e.run_id == run_id)


@pytest.mark.slow
def test_dead_writer_is_detected_and_its_last_frame_still_readable(run_id: str) -> None:
    pid = _killed_writer(run_id)
    entry = _entry(run_id)
    assert entry.status is not None
    assert entry.status.writer_pid == pid and not entry.status.writer_alive and entry.orphaned
    with FastLaneReader.attach(run_id) as reader:
        assert not reader.writer_alive()
        frame = reader.latest_frame()
        assert frame is not None and int(frame.data[0, 0, 0]) == 9


@pytest.mark.slow
def test_cleanup_removes_dead_writers_segments_only(run_id: str) -> None:
    _killed_writer(run_id)
    live_id = run_id + "-live"
    with FastLaneWriter.create(live_id, FastLaneConfig(width=4, height=4)):
        planned = cleanup_segments(dry_run=True)
        assert run_id in {e.run_id for e in planned} and live_id not in {e.run_id for e in planned}
        assert os.path.exists(f"/dev/shm/mosaic.fastlane.{run_id}")  # dry run removed nothing
        removed = cleanup_segments()
        assert run_id in {e.run_id for e in removed}
        assert not os.path.exists(f"/dev/shm/mosaic.fastlane.{run_id}")
        assert os.path.exists(f"/dev/shm/mosaic.fastlane.{live_id}")


@pytest.mark.slow
def test_cleanup_command_reports_what_it_removes(
    run_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pid = _killed_writer(run_id)
    assert cli_main(["cleanup", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"would remove mosaic.fastlane.{run_id} (writer pid {pid} is gone)" in out
    assert cli_main(["cleanup"]) == 0
    assert f"removed mosaic.fastlane.{run_id}" in capsys.readouterr().out
    assert not os.path.exists(f"/dev/shm/mosaic.fastlane.{run_id}")


@pytest.mark.slow
def test_new_writer_replaces_a_dead_ones_segment(run_id: str) -> None:
    _killed_writer(run_id)
    with FastLaneWriter.create(run_id, FastLaneConfig(width=4, height=4)) as writer:
        assert writer.generation == 2  # never reuses the old header
        writer.publish(np.full((4, 4, 3), 3, np.uint8))
        with FastLaneReader.attach(run_id) as reader:
            frame = reader.latest_frame()
            assert frame is not None and int(frame.data[0, 0, 0]) == 3
            assert reader.writer_alive()


@pytest.mark.slow
def test_new_writer_refuses_to_hijack_a_live_one(run_id: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, PEERS, "hold", run_id], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        with pytest.raises(FastLaneBusyError, match=str(proc.pid)):
            FastLaneWriter.create(run_id, FastLaneConfig(width=4, height=4))
        assert _entry(run_id).status.writer_alive  # type: ignore[union-attr]
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_a_second_writer_in_the_same_process_is_refused_too(run_id: str) -> None:
    with FastLaneWriter.create(run_id, FastLaneConfig(width=4, height=4)) as first:
        with pytest.raises(FastLaneBusyError, match="this process"):
            FastLaneWriter.create(run_id, FastLaneConfig(width=4, height=4))
        assert first.publish(np.zeros((4, 4, 3), np.uint8)) == 1
