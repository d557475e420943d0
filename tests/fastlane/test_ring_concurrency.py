"""Writer and readers in separate processes: never a torn frame, readers never hurt the writer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from waits import WAIT_S
from worker_helpers import SUPPORT

from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneReader, FastLaneWriter

pytestmark = pytest.mark.slow  # every test here starts processes

PEERS = str(SUPPORT / "ring_peers.py")


def _peer(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, PEERS, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_no_torn_frames_over_100k_reads_while_the_writer_races(run_id: str) -> None:
    writer = _peer("writer", run_id, "600")  # publishes until terminated below
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        readers = [_peer("reader", run_id, "50000") for _ in range(2)]
        reports = []
        for proc in readers:
            out, err = proc.communicate(timeout=WAIT_S * 2)
            assert proc.returncode == 0, err
            reports.append(json.loads(out))
    finally:
        writer.terminate()
        writer.wait(timeout=WAIT_S)
    total = sum(r["good"] + r["torn"] + r["mismatched"] for r in reports)
    assert total >= 100_000
    assert sum(r["torn"] for r in reports) == 0
    assert sum(r["mismatched"] for r in reports) == 0
    # the readers saw the writer move on, not one frozen frame
    assert all(r["distinct"] > 100 for r in reports)


def test_readers_attaching_and_exiting_leave_the_segment_intact(run_id: str) -> None:
    frame = np.full((4, 8, 3), 5, np.uint8)
    with FastLaneWriter.create(run_id, FastLaneConfig(width=8, height=4)) as writer:
        writer.publish(frame)
        for _ in range(10):
            proc = subprocess.run(
                [sys.executable, PEERS, "attach-exit", run_id],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert proc.returncode == 0, proc.stderr
            assert proc.stdout.strip() == "frame"
            assert "leaked" not in proc.stderr  # no resource tracker involved
        assert os.path.exists(f"/dev/shm/{writer.name}")
        seq = writer.publish(frame + 1)
        with FastLaneReader.attach(run_id) as reader:
            got = reader.latest_frame()
        assert got is not None and got.seq == seq and int(got.data[0, 0, 0]) == 6
