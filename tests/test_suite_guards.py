"""The suite's own checks (tests/support/session_guards.py) catch what they promise to catch:
an unmarked test that starts a process, and a session that writes into runs/."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from waits import WAIT_S
from worker_helpers import SUPPORT

pytestmark = pytest.mark.slow  # runs pytest in a subprocess

SPAWNING_TESTS = """
import multiprocessing
import os
import subprocess
import sys

import pytest


def test_plain():
    pass


def test_unmarked_subprocess():
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_unmarked_multiprocessing():
    child = multiprocessing.get_context("spawn").Process(target=os.getpid)
    child.start()
    child.join()


@pytest.mark.slow
def test_marked_subprocess():
    subprocess.run([sys.executable, "-c", "pass"], check=True)
"""


def _pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``pytest -p session_guards ARGS`` in ``folder`` (its own rootdir), in a subprocess."""
    (folder / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "session_guards", "-p", "no:cacheprovider", *args],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(SUPPORT)},
        capture_output=True,
        text=True,
        timeout=WAIT_S * 2,
    )


def test_a_test_that_starts_a_process_without_the_slow_marker_fails(tmp_path: Path) -> None:
    (tmp_path / "test_spawning.py").write_text(SPAWNING_TESTS)
    result = _pytest(tmp_path, "-rf")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 failed, 2 passed" in result.stdout
    failed = sorted(
        line.split()[1] for line in result.stdout.splitlines() if line.startswith("FAILED")
    )
    assert failed == [
        "test_spawning.py::test_unmarked_multiprocessing",
        "test_spawning.py::test_unmarked_subprocess",
    ]
    assert "started 1 child process(es) but is not marked slow" in result.stdout


def test_a_session_that_writes_into_runs_fails_and_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "kept.sqlite").write_text("the user's data")
    (tmp_path / "test_writing.py").write_text(
        textwrap.dedent(
            """
            from pathlib import Path

            def test_writes_into_runs():
                Path("runs", "fastlane.sqlite").write_text("a test's data")
            """
        )
    )
    result = _pytest(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed" in result.stdout  # the test itself passed; the session failed
    assert "changed during the tests (added: fastlane.sqlite)" in result.stdout
