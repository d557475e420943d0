"""A watched CleanRL-style continuous PPO run on HalfCheetah gets its frames from the renderer
sidecar: the HUD says "sidecar", the frames are MuJoCo's 480x480 pictures, and the sidecar
ends with the run.

The script is tests/support/scripts/continuous_ppo.py (``FASTLANE=1``, 4 envs, slot 0 watched)
with ``MUJOCO_GL`` unset, as on a machine where nobody chose an OpenGL backend; a reader in this
process polls like a viewer.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from waits import WAIT_S, wait_until
from worker_helpers import SCRIPTS, attach_when_ready, clean_env, segment_exists, watch_until

from gym_gui_bridge.fastlane.ring import process_alive

# runs the script and its sidecar; once, on gymnasium 1.x (HalfCheetah-v5, the mujoco extra)
pytestmark = [pytest.mark.slow, pytest.mark.gymnasium_line("1")]

SCRIPT = SCRIPTS / "continuous_ppo.py"


def test_a_watched_halfcheetah_run_gets_sidecar_frames(run_id: str, tmp_path: Path) -> None:
    environment = clean_env(
        FASTLANE="1", FASTLANE_RUN_ID=run_id, FASTLANE_DB=str(tmp_path / "t.sqlite")
    )
    environment.pop("MUJOCO_GL", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            "--env-id=HalfCheetah-v5",
            "--num-envs=4",
            "--total-timesteps=100000000",
        ],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with attach_when_ready(run_id) as reader:
            frame = watch_until(reader, lambda f: f.metrics.render_mode == "sidecar")
            assert frame is not None, "no sidecar frame while watched"
            assert frame.data.shape == (480, 480, 3) and frame.data.std() > 0
            assert frame.metrics.step_rate_hz > 0 and frame.metrics.render_ms > 0
            pid = reader.status().frames_by
            assert pid not in (0, proc.pid) and process_alive(pid)
            later = watch_until(reader, lambda f: f.seq > frame.seq and f.data.any())
            assert later is not None and later.metrics.render_mode == "sidecar"
            assert later.metrics.global_step > frame.metrics.global_step
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=WAIT_S)
    assert proc.returncode in (0, 130, -signal.SIGINT), err
    wait_until(lambda: not process_alive(pid), what="the sidecar's end after Ctrl-C")
    assert not segment_exists(run_id)
    assert "cleanrl-fastlane: warning" not in err and "cleanrl-fastlane: sidecar" not in err
