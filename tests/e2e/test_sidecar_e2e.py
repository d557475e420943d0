"""A watched CleanRL-style PPO run on CartPole draws its frames in a renderer sidecar, which
ends with the run: after Ctrl-C, and after SIGKILL of the training process (no process and no
segment left behind).

The script is tests/support/scripts/cc_ppo.py (``FASTLANE=1``, 4 envs, slot 0 watched); a
reader in this process polls like a viewer.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from waits import WAIT_S, wait_until
from worker_helpers import SCRIPTS, attach_when_ready, clean_env, segment_exists, watch_until

from gym_gui_bridge.fastlane import FastLaneFrame
from gym_gui_bridge.fastlane.ring import process_alive

# runs the script and its sidecar; once, on the newest gymnasium line (the sidecar's process
# lifetime does not depend on gymnasium; its renderers are tested on both lines in tests/fastlane)
pytestmark = [pytest.mark.slow, pytest.mark.gymnasium_line("1")]

SCRIPT = SCRIPTS / "cc_ppo.py"


def _start(run_id: str, tmp_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), "--num-envs=4", "--total-timesteps=100000000"],
        cwd=tmp_path,
        env=clean_env(FASTLANE="1", FASTLANE_RUN_ID=run_id, FASTLANE_DB=str(tmp_path / "t.sqlite")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _sidecar_frame(frame: FastLaneFrame) -> bool:
    return frame.metrics.render_mode == "sidecar"


def _end(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.kill()
    _, err = proc.communicate(timeout=WAIT_S)
    return err


def test_a_watched_ppo_run_gets_sidecar_frames_and_ctrl_c_ends_the_sidecar(
    run_id: str, tmp_path: Path
) -> None:
    proc = _start(run_id, tmp_path)
    try:
        with attach_when_ready(run_id) as reader:
            frame = watch_until(reader, _sidecar_frame)
            assert frame is not None, "no sidecar frame while watched"
            assert frame.data.shape == (400, 600, 3)
            assert frame.metrics.step_rate_hz > 0 and frame.metrics.render_ms > 0
            pid = reader.status().frames_by
            assert pid not in (0, proc.pid) and process_alive(pid)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=WAIT_S)
    finally:
        err = _end(proc)
    assert proc.returncode in (0, 130, -signal.SIGINT), err
    wait_until(lambda: not process_alive(pid), what="the sidecar's end after Ctrl-C")
    assert not segment_exists(run_id)
    assert "cleanrl-fastlane: sidecar" not in err  # it ended quietly


def test_a_killed_training_process_leaves_no_sidecar_and_no_segment(
    run_id: str, tmp_path: Path
) -> None:
    proc = _start(run_id, tmp_path)
    try:
        with attach_when_ready(run_id) as reader:
            frame = watch_until(reader, _sidecar_frame)
            assert frame is not None, "no sidecar frame while watched"
            pid = reader.status().frames_by
            assert pid not in (0, proc.pid) and process_alive(pid)
            proc.kill()  # SIGKILL: no exit hook of the worker runs
            proc.wait(timeout=WAIT_S)
    finally:
        _end(proc)
    wait_until(lambda: not process_alive(pid), what="the sidecar's end after SIGKILL")
    wait_until(lambda: not segment_exists(run_id), what="the ring's removal after SIGKILL")
