"""Shared by the bridge tests: free ports, a real ``gym-gui-bridge serve`` process, counting rows."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import grpc
from waits import WAIT_S

from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.wire import auth_metadata
from gym_gui_bridge.server.client import connect

HERE = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_bridge(
    db: Path,
    port: int,
    spool: Path,
    *extra: str,
    env: dict | None = None,
    tls_ca: Path | None = None,
) -> subprocess.Popen:
    """``gym-gui-bridge serve`` in a subprocess, returned once it answers GetHealth (over TLS
    checked with ``tls_ca`` if given). Its stderr goes to ``bridge_log(db, port)`` (appended: a
    restarted bridge adds to the same file)."""
    with open(bridge_log(db, port), "ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gym_gui_bridge.cli",
                "serve",
                "--db",
                str(db),
                "--listen",
                f"127.0.0.1:{port}",
                "--spool-dir",
                str(spool),
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
        )
    token = (env or {}).get("FASTLANE_BRIDGE_TOKEN")
    wait_healthy(f"127.0.0.1:{port}", proc, token=token, tls_ca=tls_ca)
    return proc


def bridge_log(db: Path, port: int) -> Path:
    return db.parent / f"bridge-{port}.log"


def wait_healthy(
    address: str,
    proc: subprocess.Popen | None = None,
    token: str | None = None,
    tls_ca: Path | None = None,
) -> pb.Health:
    stub = connect(address, tls_ca=tls_ca)
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"bridge exited with status {proc.returncode}")
        try:
            return stub.GetHealth(pb.HealthRequest(), timeout=1.0, metadata=auth_metadata(token))
        except grpc.RpcError:
            time.sleep(0.1)
    raise TimeoutError(f"no bridge answered at {address}")


def stop_bridge(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(WAIT_S)


def row_counts(db: Path, run_id: str) -> dict[str, tuple[int, int]]:
    """table -> (rows, distinct seqs) of ``run_id``."""
    conn = sqlite3.connect(db)
    try:
        return {
            table: conn.execute(
                f"SELECT COUNT(*), COUNT(DISTINCT slot || ':' || seq) FROM {table} WHERE run_id = ?",
                (run_id,),
            ).fetchone()
            for table in ("steps", "episodes", "scalars")
        }
    finally:
        conn.close()


def rows_stored(db: Path, run_id: str, table: str = "steps") -> int:
    """Rows of ``run_id`` in ``table`` right now, read-only; 0 while there is no such table."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            query = f"SELECT COUNT(*) FROM {table} WHERE run_id = ?"
            return int(conn.execute(query, (run_id,)).fetchone()[0])
    except sqlite3.Error:
        return 0


def spooled_segments(spool: Path) -> list[Path]:
    """The spool segments under ``spool`` (one folder per run) that hold at least one byte."""
    found = []
    for path in spool.glob("*/seg-*.jsonl"):
        try:
            if path.stat().st_size > 0:
                found.append(path)
        except FileNotFoundError:  # acknowledged and deleted meanwhile
            continue
    return found


def run_worker(
    run_id: str,
    port: int,
    spool: Path,
    steps: int,
    rate_hz: float,
    *,
    wait: bool = True,
    pause_at: int = -1,
    close_timeout: float = WAIT_S,
) -> subprocess.Popen:
    """``bridge_worker.py`` (see there) in a subprocess; its stdin is a pipe when it pauses."""
    proc = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "bridge_worker.py"),
            run_id,
            f"127.0.0.1:{port}",
            str(spool),
            str(steps),
            str(rate_hz),
            str(close_timeout),
            "--pause-at",
            str(pause_at),
        ],
        stdin=subprocess.PIPE if pause_at >= 0 else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    if wait:
        proc.wait(WAIT_S * 3)
    return proc
