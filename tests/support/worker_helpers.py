"""Helpers for the worker tests: run the CleanRL-style test script, wait for its ring."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from waits import POLL_S, WAIT_S

from gym_gui_bridge.errors import FastLaneNotFoundError
from gym_gui_bridge.fastlane import FastLaneFrame, FastLaneReader, create_fastlane_name

SUPPORT = Path(__file__).resolve().parent  # tests/support: helper modules and scripts
REPO = SUPPORT.parents[1]
SCRIPTS = SUPPORT / "scripts"
RANDOM_AGENT = SCRIPTS / "random_agent.py"

_FASTLANE_VARS = ("FASTLANE", "FASTLANE_ACTIVE_PID", "FASTLANE_RUN_ID", "FASTLANE_SLOT")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any fast-lane setting, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith(("FASTLANE", "GYM_GUI_FASTLANE", "CLEANRL_")) or k in _FASTLANE_VARS)
    }
    env["OMP_NUM_THREADS"] = "1"
    env.update(extra)
    return env


def segment_exists(run_id: str) -> bool:
    return os.path.exists(f"/dev/shm/{create_fastlane_name(run_id)}")


def attach_when_ready(run_id: str, timeout: float = WAIT_S) -> FastLaneReader:
    """Attach to ``run_id``'s ring as soon as its writer has created it (bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return FastLaneReader.attach(run_id)
        except FastLaneNotFoundError:  # no segment yet, or its header is being written
            if time.monotonic() > deadline:
                raise
            time.sleep(POLL_S)


def watch_until(
    reader: FastLaneReader, accept: Callable[[FastLaneFrame], bool], timeout: float = WAIT_S
) -> FastLaneFrame | None:
    """Poll like a viewer until a frame satisfies ``accept``; None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = reader.latest_frame()
        if frame is not None and accept(frame):
            return frame
        time.sleep(POLL_S)
    return None


def run_script(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``random_agent.py`` to completion (bounded), in a fresh temporary directory (its
    default telemetry database, runs/fastlane.sqlite, lands there and not in the checkout)."""
    return subprocess.run(
        [sys.executable, str(RANDOM_AGENT), *args],
        env=clean_env(**env),
        cwd=tempfile.mkdtemp(prefix="fastlane-script-"),
        capture_output=True,
        text=True,
        timeout=WAIT_S * 2,
    )
