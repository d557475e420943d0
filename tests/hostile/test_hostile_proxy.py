"""``cleanrl-worker run`` against a hostile child and a hostile shell: any output, a closed
stdout, a child that ignores SIGTERM, the proxy itself killed, a token file others can read.

Each case asserts the proxy's observable behaviour (exit status, what passed through, what was
stored, the child's fate) within bounded waits, and that no traceback replaces the one line due.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from waits import WAIT_S, wait_until
from worker_helpers import SUPPORT

from gym_gui_bridge.logs import LOG_PROXY_CHILD_KILLED, LOG_PROXY_OUTPUT_CLOSED

pytestmark = pytest.mark.slow  # every test here starts processes

PROXY = [sys.executable, "-m", "cleanrl_worker.proxy"]
# a child that ignores SIGTERM, prints its pid, then keeps printing (or sleeping)
STUBBORN = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print(os.getpid(), flush=True)
while True:
    if {chatty!r}:
        getattr(sys, {chatty!r}).write("x" * 100 + "\\n"); getattr(sys, {chatty!r}).flush()
    time.sleep(0.01)
"""


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for its reaper is not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in (b"Z", b"X")


def _stubborn(tmp_path: Path, *options: str, chatty: str = "") -> subprocess.Popen[bytes]:
    """The proxy running a child that ignores SIGTERM (and prints forever on ``chatty``)."""
    return subprocess.Popen(
        [
            *PROXY,
            "--db",
            str(tmp_path / "p.sqlite"),
            *options,
            "--",
            sys.executable,
            "-c",
            STUBBORN.format(chatty=chatty),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )


def _no_traceback(stderr: bytes) -> None:
    assert b"Traceback" not in stderr, stderr.decode(errors="replace")


def test_any_child_output_passes_through_and_never_stops_the_proxy(tmp_path: Path) -> None:
    run_id, records = f"hostile-{uuid.uuid4().hex[:8]}", 500
    expected = tmp_path / "expected-stdout"
    result = subprocess.run(
        [
            *PROXY,
            "--run-id",
            run_id,
            "--db",
            str(tmp_path / "p.sqlite"),
            "--",
            sys.executable,
            str(SUPPORT / "hostile_proxy_child.py"),
            run_id,
            str(records),
            str(expected),
        ],
        capture_output=True,
        timeout=WAIT_S * 2,
        cwd=tmp_path,
    )
    _no_traceback(result.stderr)
    assert result.returncode == 5  # the child's exit code
    assert result.stdout == expected.read_bytes()  # everything but records, byte for byte
    bad = int(result.stderr.split(b"bad candidates ")[1].split()[0])
    summary = result.stderr.strip().splitlines()[-1].decode()
    assert f"records accepted {records}, rejected {bad}, dropped 0; all stored" in summary
    with sqlite3.connect(tmp_path / "p.sqlite") as db:
        stored = db.execute("SELECT count(*) FROM steps WHERE run_id = ?", (run_id,)).fetchone()
    assert stored == (records,)


@pytest.mark.parametrize("closed", ["stdout", "stderr"])
def test_a_closed_output_ends_the_child_and_the_proxy_cleanly(tmp_path: Path, closed: str) -> None:
    proxy = _stubborn(tmp_path, "--stop-grace", "1", chatty=closed)  # `... | head -c 10`
    assert proxy.stdout is not None and proxy.stderr is not None
    child = int(proxy.stdout.readline())
    reader, other = (
        (proxy.stdout, proxy.stderr) if closed == "stdout" else (proxy.stderr, proxy.stdout)
    )
    wait_until(lambda: b"x" * 10 in reader.read(100), what=f"the child's {closed}")
    reader.close()
    code = proxy.wait(WAIT_S)
    rest = other.read()
    assert code == 128 + signal.SIGPIPE
    wait_until(lambda: not _running(child), what="the child gone")
    if closed == "stdout":  # the proxy's stderr is still there to say what happened
        _no_traceback(rest)
        assert LOG_PROXY_OUTPUT_CLOSED.encode() in rest
        assert LOG_PROXY_CHILD_KILLED.encode() in rest  # it ignored SIGTERM: killed after 1 s


def test_sigterm_escalates_to_sigkill_for_a_child_that_ignores_it(tmp_path: Path) -> None:
    grace = 1.0
    proxy = _stubborn(tmp_path, "--stop-grace", str(grace))
    assert proxy.stdout is not None and proxy.stderr is not None
    child = int(proxy.stdout.readline())
    started = time.monotonic()
    proxy.send_signal(signal.SIGTERM)
    code = proxy.wait(WAIT_S)
    took = time.monotonic() - started
    stderr = proxy.stderr.read()
    _no_traceback(stderr)
    assert code == 128 + signal.SIGKILL  # the child's fate: killed
    assert took >= grace  # it had its grace period first
    assert LOG_PROXY_CHILD_KILLED.encode() in stderr
    assert "records accepted 0" in stderr.decode().strip().splitlines()[-1]  # summary still due
    assert not _running(child)


def test_sigint_is_forwarded_and_a_child_that_obeys_is_not_killed(tmp_path: Path) -> None:
    proxy = subprocess.Popen(
        [
            *PROXY,
            "--db",
            str(tmp_path / "p.sqlite"),
            "--stop-grace",
            "30",
            "--",
            sys.executable,
            "-c",
            "import time; print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    assert proxy.stdout is not None and proxy.stderr is not None
    assert proxy.stdout.readline() == b"ready\n"
    proxy.send_signal(signal.SIGINT)
    assert proxy.wait(WAIT_S) == 128 + signal.SIGINT  # the child died of it (KeyboardInterrupt)
    stderr = proxy.stderr.read()
    assert b"KeyboardInterrupt" in stderr  # the child's own, passed through
    assert LOG_PROXY_CHILD_KILLED.encode() not in stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_killed_proxy_leaves_no_orphan(tmp_path: Path) -> None:
    proxy = _stubborn(tmp_path)
    assert proxy.stdout is not None
    child = int(proxy.stdout.readline())
    assert _running(child)
    proxy.send_signal(signal.SIGKILL)
    proxy.wait(WAIT_S)
    wait_until(lambda: not _running(child), what="the child killed with its proxy")


def test_a_token_file_others_can_read_stops_the_proxy_before_the_child(tmp_path: Path) -> None:
    token_file = tmp_path / "bridge.token"
    token_file.write_text("0123456789abcdef0123456789abcdef\n")
    token_file.chmod(0o640)
    marker = tmp_path / "child-ran"
    result = subprocess.run(
        [
            *PROXY,
            "--bridge",
            "127.0.0.1:9",
            "--token-file",
            str(token_file),
            "--spool-dir",
            str(tmp_path / "spool"),
            "--",
            sys.executable,
            "-c",
            f"open({str(marker)!r}, 'w')",
        ],
        capture_output=True,
        timeout=WAIT_S,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "FASTLANE_BRIDGE_TOKEN"},
    )
    _no_traceback(result.stderr)
    assert result.returncode == 2
    (line,) = result.stderr.decode().strip().splitlines()
    assert f"chmod 600 {token_file}" in line and "0123456789abcdef" not in line
    assert not marker.exists()


def test_a_database_that_is_not_sqlite_stops_the_proxy_before_the_child(tmp_path: Path) -> None:
    bad = tmp_path / "notes.sqlite"
    bad.write_bytes(b"these are notes, not a SQLite database\n" * 100)
    marker = tmp_path / "child-ran"
    result = subprocess.run(
        [*PROXY, "--db", str(bad), "--", sys.executable, "-c", f"open({str(marker)!r}, 'w')"],
        capture_output=True,
        timeout=WAIT_S,
        cwd=tmp_path,
    )
    _no_traceback(result.stderr)
    assert result.returncode == 2
    (line,) = result.stderr.decode().strip().splitlines()
    assert str(bad) in line
    assert not marker.exists()
