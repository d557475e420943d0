"""Shared fixtures of the viewer tests: offscreen Qt, unique run ids, writers in other processes.

Only the viewer tests live under this folder, so forcing ``QT_QPA_PLATFORM=offscreen`` here
affects no other test. The Xvfb test starts its own processes with ``QT_QPA_PLATFORM=xcb``.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from waits import WAIT_S

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from gym_gui_bridge.fastlane import _shm, create_fastlane_name

WRITER_SCRIPT = Path(__file__).with_name("writer_process.py")
STOP_TIMEOUT_S = 10.0


def read_line(stream: object, timeout_s: float) -> str:
    """One line from a child's pipe, or "" if none comes within ``timeout_s``."""
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)  # type: ignore[arg-type]
    try:
        if not selector.select(timeout_s):
            return ""
        return stream.readline()  # type: ignore[attr-defined, no-any-return]
    finally:
        selector.close()


@pytest.fixture
def run_id() -> str:
    """A run id no other test (or agent) on this machine uses."""
    return f"vt-{os.getpid()}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def spawn_writer(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start ``writer_process.py`` in a child process; wait until it published its first frame.

    Every child still running at teardown is killed, and the segments of killed writers are
    removed (by name: only this test's run ids).
    """
    children: list[tuple[subprocess.Popen[str], str]] = []

    def spawn(run: str, *args: str) -> subprocess.Popen[str]:
        child = subprocess.Popen(
            [sys.executable, str(WRITER_SCRIPT), run, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        children.append((child, run))
        line = read_line(child.stdout, WAIT_S)
        assert line.startswith("ready"), f"writer for {run} did not start: {line!r}"
        return child

    yield spawn
    for child, run in children:
        if child.poll() is None:
            child.kill()
        child.wait(STOP_TIMEOUT_S)
        _shm.unlink(create_fastlane_name(run))


def _child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


@pytest.fixture
def child_env() -> Callable[..., dict[str, str]]:
    """``child_env(NAME=value, ...)``: this process's environment plus ``extra``, for children."""
    return _child_env
