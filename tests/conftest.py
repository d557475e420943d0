"""Fixtures and checks shared by the whole suite; helper modules live in tests/support/.

Two checks run for every session (tests/support/session_guards.py): a test that starts a child
process must be marked ``slow``, and the session fails if anything under the checkout's
``runs/`` (or the invoking directory's) was created or changed: tests write into temporary
folders only. Hypothesis runs without deadlines and keeps its caches outside the checkout.

Tests tied to one gymnasium line are deselected (not skipped) on the other:
``@pytest.mark.gymnasium_line("1")`` runs a test only under gymnasium 1.x, ``("0.29")`` only
under 0.29. The suite runs once per line (scripts/test.sh), and a test that belongs to the other
line is reported as deselected there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy.testing  # noqa: F401  # numpy 1.x runs lscpu once on this import: not in a test
import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))  # the shared helper modules

import session_guards
from hypothesis import settings
from worker_helpers import RANDOM_AGENT, WAIT_S, clean_env

# Property tests: no per-example deadline (on a loaded machine any example can be slow), no
# example database (a failure prints its falsifying example) and Hypothesis's caches outside
# the checkout.
settings.register_profile("suite", deadline=None, database=None)
settings.load_profile("suite")
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "cleanrl-fastlane-hypothesis")
)


# A suite started from a background job of a script (`cmd &`, nohup) inherits SIGINT ignored, and
# so would every process it starts: the Ctrl-C tests need children with the default disposition
# (a handler set here is reset to the default in an exec'd child; an ignored signal is not).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(session_guards, "session_guards")


def _gymnasium_line() -> str:
    import gymnasium

    major, minor = gymnasium.__version__.split(".")[:2]
    return major if major != "0" else f"0.{minor}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    line = _gymnasium_line()
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("gymnasium_line")
        (drop if marker is not None and marker.args[0] != line else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def run_id() -> Iterator[str]:
    """A run id no other test (or other process on this machine) uses."""
    rid = f"test-{os.getpid()}-{uuid.uuid4().hex[:10]}"
    yield rid
    # a test that failed half-way must not leave a segment behind
    path = f"/dev/shm/mosaic.fastlane.{rid}"
    if os.path.exists(path):
        os.unlink(path)


@pytest.fixture
def start_script(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start ``random_agent.py`` with args and env vars; every process is reaped at teardown.

    The script runs in ``tmp_path``, so its default telemetry database (runs/fastlane.sqlite)
    lands there, not in the checkout.
    """
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str, script: Path = RANDOM_AGENT, **env: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, str(script), *args],
            env=clean_env(**env),
            cwd=str(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:  # Ctrl-C first, so even a failed test leaves no ring behind
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=WAIT_S / 4)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=WAIT_S)
