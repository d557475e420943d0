"""A CleanRL-style continuous-control run watched on slot 0: it trains as it does alone, the
viewer gets frames of the moving pendulum, stderr gains only the banner, and CleanRL's own
scalars (``charts/episodic_return`` as the episode statistics' array, a loss tensor with its
graph) are all mirrored.

The script is tests/support/scripts/ppo_continuous_pendulum.py (float32 torch actions through
CleanRL's continuous-control wrapper stack). Under gymnasium 0.29.1 with numpy 2 (the suite's
gym029 pass), Pendulum's own ``render()`` raises once an action was taken; the fast lane renders
it through its work-around (cleanrl_worker/fastlane/render_shims.py), so frames after the first
step are the proof.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from waits import WAIT_S, wait_until
from worker_helpers import SCRIPTS, attach_when_ready, clean_env, segment_exists

from gym_gui_bridge.store.queries import list_scalars

pytestmark = pytest.mark.slow  # runs the script twice

SCRIPT = SCRIPTS / "ppo_continuous_pendulum.py"
TAG = "charts/episodic_return"
RETURN_LINE = re.compile(r"^global_step=(\d+), episodic_return=\[?([-0-9.e+]+)\]?$")


def _printed_returns(stdout: str) -> list[tuple[int, float]]:
    found = [RETURN_LINE.match(line) for line in stdout.splitlines()]
    return [(int(m[1]), float(m[2])) for m in found if m]


def test_watched_pendulum_streams_frames_and_adds_only_the_banner(tmp_path: Path, run_id: str):
    (tmp_path / "alone").mkdir()
    (tmp_path / "watched").mkdir()
    alone = subprocess.run(
        [sys.executable, str(SCRIPT)],
        cwd=tmp_path / "alone",
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=WAIT_S * 4,
    )
    assert alone.returncode == 0, alone.stderr

    db, stop = tmp_path / "telemetry.sqlite", tmp_path / "stop"
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), f"--stop-file={stop}"],
        cwd=tmp_path / "watched",
        env=clean_env(FASTLANE="1", FASTLANE_RUN_ID=run_id, FASTLANE_DB=str(db)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: segment_exists(run_id) or proc.poll() is not None, what="the ring")
        reader = attach_when_ready(run_id)
        try:
            # a frame rendered after actions were taken (the reset frame is seq 1, step 0)
            def moving_frame():
                frame = reader.latest_frame()
                if frame is not None and frame.seq >= 3 and frame.metrics.global_step > 0:
                    return frame
                return None if segment_exists(run_id) and proc.poll() is None else "stopped"

            frame = wait_until(moving_frame, what="a frame of the pendulum after some steps")
        finally:
            reader.close()
        stop.touch()
        out, err = proc.communicate(timeout=WAIT_S * 2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=WAIT_S)

    assert proc.returncode == 0, err
    assert frame != "stopped", f"frames stopped before the pendulum moved:\n{err}"
    assert frame.data.shape == (500, 500, 3) and frame.data.std() > 0
    lines = err.splitlines()
    banner = [line for line in lines if line.startswith("cleanrl-fastlane: run ")]
    assert len(banner) == 1, err
    assert [line for line in lines if line not in banner] == alone.stderr.splitlines()

    printed = _printed_returns(out)
    assert printed, "the script finished no episode"
    with sqlite3.connect(db) as conn:
        tags = {s["tag"] for s in list_scalars(conn, run_id)}
        returns = sorted((s["step"], s["value"]) for s in list_scalars(conn, run_id, tag=TAG))
    assert "losses/loss" in tags and "fastlane/scalar_mirror_failures" not in tags, tags
    printed.sort()
    assert [step for step, _ in returns] == [step for step, _ in printed]
    assert [value for _, value in returns] == pytest.approx(
        [float(np.float32(value)) for _, value in printed], rel=1e-6
    )
