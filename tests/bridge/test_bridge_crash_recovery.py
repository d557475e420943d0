"""Every record a worker emits is stored exactly once, whatever happens to the bridge.

Real processes on 127.0.0.1: ``gym-gui-bridge serve`` and workers pushing a known set of
records (tests/support/bridge_worker.py: N steps, N/10 episodes, N/10 scalars) through the emitter.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from bridge_helpers import (
    free_port,
    row_counts,
    rows_stored,
    run_worker,
    spooled_segments,
    start_bridge,
    stop_bridge,
    wait_healthy,
)
from waits import WAIT_S, wait_until
from worker_helpers import SUPPORT

from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.server.client import connect

pytestmark = pytest.mark.slow  # every test here starts processes

STEPS = 3000


def _expect_exactly_once(db: Path, run_id: str, steps: int = STEPS) -> None:
    counts = row_counts(db, run_id)
    assert counts["steps"] == (steps, steps)
    assert counts["episodes"] == (steps // 10, steps // 10)
    assert counts["scalars"] == (steps // 10, steps // 10)


def _finish(worker: subprocess.Popen) -> str:
    out, err = worker.communicate(timeout=WAIT_S * 3)
    assert worker.returncode == 0, err.decode()
    return out.decode()


def test_bridge_killed_mid_run_and_restarted(tmp_path: Path) -> None:
    run_id, port, db, spool = (
        f"crash-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        free_port(),
        tmp_path / "b.sqlite",
        tmp_path / "spool",
    )
    bridge = start_bridge(db, port, tmp_path / "bridge-spool")
    worker = run_worker(run_id, port, spool, STEPS, 1000.0, wait=False, pause_at=STEPS // 2)
    try:
        assert worker.stdout is not None and worker.stdin is not None
        line = worker.stdout.readline()
        assert line == b"paused\n", f"the worker did not pause: {line!r}"
        # mid-run: the first half is streaming to the bridge, which has stored some of it
        wait_until(lambda: rows_stored(db, run_id) > 0, what="the first records stored")
        stop_bridge(bridge, signal.SIGKILL)
        worker.stdin.write(b"go\n")  # the second half is put while no bridge listens
        worker.stdin.flush()
        bridge = start_bridge(db, port, tmp_path / "bridge-spool")
        out = _finish(worker)
    finally:
        worker.kill()  # a no-op once it finished
        assert stop_bridge(bridge) == 0
    stats = dict(item.split("=") for item in out.split())
    assert stats["done"] == "True" and stats["dropped"] == "0"
    assert int(stats["reconnects"]) >= 2  # the stream really broke and resumed
    _expect_exactly_once(db, run_id)
    assert not list(spool.glob("*/seg-*.jsonl"))  # everything acknowledged: spool deleted


def test_bridge_started_after_the_worker(tmp_path: Path) -> None:
    run_id, port, db, spool = (
        f"late-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        free_port(),
        tmp_path / "b.sqlite",
        tmp_path / "spool",
    )
    worker = run_worker(run_id, port, spool, STEPS, 1500.0, wait=False)
    wait_until(lambda: spooled_segments(spool), what="the worker's first records in its spool")
    bridge = start_bridge(db, port, tmp_path / "bridge-spool")
    try:
        out = _finish(worker)
    finally:
        assert stop_bridge(bridge) == 0
    assert "done=True" in out
    _expect_exactly_once(db, run_id)


def test_two_workers_into_one_bridge(tmp_path: Path) -> None:
    port, db, spool = free_port(), tmp_path / "b.sqlite", tmp_path / "spool"
    runs = [f"two-{i}-{os.getpid()}-{uuid.uuid4().hex[:6]}" for i in range(2)]
    bridge = start_bridge(db, port, tmp_path / "bridge-spool")
    try:
        workers = [run_worker(r, port, spool, STEPS, 0.0, wait=False) for r in runs]
        outs = [_finish(w) for w in workers]
        health = wait_healthy(f"127.0.0.1:{port}")
        listed_runs = (
            connect(f"127.0.0.1:{port}").ListRuns(pb.ListRunsRequest(), timeout=WAIT_S).runs
        )
    finally:
        assert stop_bridge(bridge) == 0
    for run_id, out in zip(runs, outs, strict=True):
        assert "done=True" in out
        _expect_exactly_once(db, run_id)
    assert health.runs == 2
    listed = {run.run_id: run.episodes for run in listed_runs}
    assert all(listed[r] == STEPS // 10 for r in runs)


def test_spool_left_at_exit_is_ingested_by_the_next_bridge(tmp_path: Path) -> None:
    run_id, port, db, spool = (
        f"spool-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        free_port(),
        tmp_path / "b.sqlite",
        tmp_path / "spool",
    )
    worker = subprocess.run(
        [
            sys.executable,
            str(SUPPORT / "bridge_worker.py"),
            run_id,
            f"127.0.0.1:{port}",
            str(spool),
            "500",
            "0",
            "0.5",
        ],
        capture_output=True,
        timeout=WAIT_S,
    )
    assert b"done=False" in worker.stdout  # no bridge: everything stays on disk
    assert list(spool.glob("*/seg-*.jsonl"))
    bridge = start_bridge(db, port, spool)  # start-up ingests orphaned spools
    assert stop_bridge(bridge) == 0
    _expect_exactly_once(db, run_id, 500)
    assert not list(spool.glob("*/seg-*.jsonl"))


def test_ingest_command_loads_a_spool_into_a_database(tmp_path: Path) -> None:
    run_id, spool, db = f"ingest-{os.getpid()}", tmp_path / "spool", tmp_path / "i.sqlite"
    subprocess.run(
        [
            sys.executable,
            str(SUPPORT / "bridge_worker.py"),
            run_id,
            f"127.0.0.1:{free_port()}",
            str(spool),
            "200",
            "0",
            "0.2",
        ],
        capture_output=True,
        timeout=WAIT_S,
        check=True,
    )
    for _ in range(2):  # twice: re-ingesting stores nothing twice
        result = subprocess.run(
            [sys.executable, "-m", "gym_gui_bridge.cli", "ingest", str(spool), "--db", str(db)],
            capture_output=True,
            timeout=WAIT_S,
        )
        assert result.returncode == 0, result.stderr.decode()
        assert b"240 records stored, 0 lines rejected" in result.stderr
    _expect_exactly_once(db, run_id, 200)


def test_emitter_resumes_a_spool_left_by_an_earlier_process(tmp_path: Path) -> None:
    """Many small segments, shipped by the next emitter of the run, each record stored once."""
    from cleanrl_worker.emitter.emitter import BridgeEmitter
    from gym_gui_bridge.config.slowlane import EmitterConfig
    from gym_gui_bridge.protocol.records import ScalarRecord

    small_segments = EmitterConfig(segment_bytes=16384)

    run_id, port, db, spool = (
        f"resume-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        free_port(),
        tmp_path / "b.sqlite",
        tmp_path / "spool",
    )

    def scalars(seqs: range) -> list[ScalarRecord]:
        return [ScalarRecord(run_id, -1, "default", s, 1.0, "loss", 0.5, s) for s in seqs]

    first = BridgeEmitter(f"127.0.0.1:{port}", run_id, spool_root=spool, config=small_segments)
    first.start()
    for start in range(0, 3000, 300):  # rounds the spooler writes one by one: one segment each
        for record in scalars(range(start, start + 300)):
            first.put(record)
        wait_until(lambda end=start + 300: first.stats().spooled == end, what="a round spooled")
    assert not first.close(timeout=0.5)  # no bridge yet: the spool stays
    segments = list(spool.glob("*/seg-*.jsonl"))
    assert len(segments) >= 5

    bridge = start_bridge(db, port, tmp_path / "bridge-spool")
    try:
        second = BridgeEmitter(f"127.0.0.1:{port}", run_id, spool_root=spool, config=small_segments)
        second.start()
        for record in scalars(range(3000, 5000)):
            second.put(record)
        assert second.close(timeout=WAIT_S)
    finally:
        assert stop_bridge(bridge) == 0
    assert row_counts(db, run_id)["scalars"] == (5000, 5000)
    assert not spool.joinpath(run_id).exists()  # acknowledged to the last line: removed


def test_ingest_command_sends_files_to_a_running_bridge(tmp_path: Path) -> None:
    from gym_gui_bridge.protocol.jsonl import encode_lines
    from gym_gui_bridge.protocol.records import ScalarRecord

    run_id, port, db = (
        f"ingest-br-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        free_port(),
        tmp_path / "b.sqlite",
    )
    file = tmp_path / "records.jsonl"
    lines = encode_lines(
        [ScalarRecord(run_id, -1, "default", s, 1.0, "loss", 0.5, s) for s in range(1000)]
    )
    file.write_text(lines + "not a record\n")
    bridge = start_bridge(db, port, tmp_path / "bridge-spool")
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "gym_gui_bridge.cli",
                "ingest",
                str(file),
                "--bridge",
                f"127.0.0.1:{port}",
                "--remove",
            ],
            capture_output=True,
            timeout=WAIT_S,
        )
    finally:
        assert stop_bridge(bridge) == 0
    assert result.returncode == 0, result.stderr.decode()
    assert b"1000 records stored, 1 lines rejected" in result.stderr
    assert row_counts(db, run_id)["scalars"] == (1000, 1000)
    assert not file.exists()
