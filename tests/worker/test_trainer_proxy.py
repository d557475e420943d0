"""``cleanrl-worker run``: a child that prints garbage, huge lines, invalid UTF-8, records and a
partial last line, then crashes. Its records are stored, everything else passes through byte
for byte, its exit code comes back, and a one-line summary reports the counts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from bridge_helpers import WAIT_S, free_port, row_counts, start_bridge, stop_bridge
from worker_helpers import SUPPORT

from gym_gui_bridge.protocol.jsonl import decode_record

pytestmark = pytest.mark.slow  # every test here starts processes

CHILD = str(SUPPORT / "proxy_child.py")
RECORDS, HUGE = 1000, 5 * 1024 * 1024


def _proxy(tmp_path: Path, run_id: str, *options: str) -> tuple[subprocess.CompletedProcess, bytes]:
    copy = tmp_path / "child-stdout"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cleanrl_worker.proxy",
            "--run-id",
            run_id,
            *options,
            "--",
            sys.executable,
            CHILD,
            run_id,
            str(RECORDS),
            str(HUGE),
            str(copy),
        ],
        capture_output=True,
        timeout=WAIT_S * 2,
        cwd=tmp_path,
    )
    return result, copy.read_bytes()


def _expected_passthrough(printed: bytes) -> bytes:
    kept = []
    for line in printed.splitlines(keepends=True):
        try:
            decode_record(line)
        except ValueError:
            kept.append(line)
    return b"".join(kept)


def _check(result: subprocess.CompletedProcess, printed: bytes) -> None:
    assert result.returncode == 3  # the child's exit code
    assert result.stdout == _expected_passthrough(printed)  # byte-exact, in order
    assert result.stdout.endswith(b"partial last line without newline")
    assert b"a warning on stderr \xff\n" in result.stderr
    summary = result.stderr.strip().splitlines()[-1]
    assert f"records accepted {RECORDS}, rejected 2, dropped 0; all stored".encode() in summary


def test_proxy_into_a_database(tmp_path: Path) -> None:
    run_id = f"proxy-db-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    result, printed = _proxy(tmp_path, run_id, "--db", str(tmp_path / "p.sqlite"))
    _check(result, printed)
    assert row_counts(tmp_path / "p.sqlite", run_id)["episodes"] == (RECORDS, RECORDS)


def test_proxy_into_a_bridge(tmp_path: Path) -> None:
    run_id, port = f"proxy-br-{os.getpid()}-{uuid.uuid4().hex[:6]}", free_port()
    bridge = start_bridge(tmp_path / "b.sqlite", port, tmp_path / "bridge-spool")
    try:
        result, printed = _proxy(
            tmp_path,
            run_id,
            "--bridge",
            f"127.0.0.1:{port}",
            "--spool-dir",
            str(tmp_path / "spool"),
        )
    finally:
        assert stop_bridge(bridge) == 0
    _check(result, printed)
    assert row_counts(tmp_path / "b.sqlite", run_id)["episodes"] == (RECORDS, RECORDS)


def test_proxy_forwards_sigterm_and_reports_128_plus_signal(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cleanrl_worker.proxy",
            "--db",
            str(tmp_path / "s.sqlite"),
            "--",
            sys.executable,
            "-c",
            "import time, sys; print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(WAIT_S) == 128 + signal.SIGTERM
