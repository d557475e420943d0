"""``FASTLANE=1 python examples/ppo.py --fastlane-slot K``: the product's main promise, end to end.

The real script runs in a subprocess on SlotSignal, whose frames say which slot drew them; a
reader in this process (another process than the script) polls like a viewer.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from e2e_helpers import ppo_args, run_ppo, start_ppo
from waits import WAIT_S, wait_until
from worker_helpers import attach_when_ready, segment_exists, watch_until

from cleanrl_worker.testing.envs import decode_slot, slot_level
from gym_gui_bridge.fastlane import FastLaneReader, list_segments

pytestmark = pytest.mark.slow

LONG = 10_000_000  # total timesteps for runs the test stops itself


def _attach(run_id: str) -> FastLaneReader:
    return attach_when_ready(run_id)


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=WAIT_S)


def test_frames_come_from_the_watched_slot_and_the_script_never_sees_the_flag(
    run_id: str, tmp_path: Path
) -> None:
    proc = start_ppo(
        ppo_args("--fastlane-slot", "2", steps=LONG), tmp_path, FASTLANE="1", FASTLANE_RUN_ID=run_id
    )
    try:
        with _attach(run_id) as reader:
            slots = set()
            for _ in range(5):  # five distinct frames, each drawn by slot 2
                frame = watch_until(reader, lambda f: True)
                assert frame is not None, "no frame while watched"
                slots.add(decode_slot(frame.data))
            assert slots == {2}
            assert reader.status().env_slot == 2
            assert frame.metrics.step_rate_hz > 0 and frame.metrics.frame_rate_hz > 0
    finally:
        _stop(proc)
    assert proc.returncode in (0, 130, -signal.SIGINT), "the script failed before Ctrl-C"


def test_a_finished_run_exits_0_and_leaves_no_segment(run_id: str, tmp_path: Path) -> None:
    done = run_ppo(ppo_args("--fastlane-slot=2"), tmp_path, FASTLANE="1", FASTLANE_RUN_ID=run_id)
    assert done.returncode == 0, done.stderr  # tyro would exit 2 on an unknown --fastlane-slot
    assert f"run {run_id}, slot 2" in done.stderr
    assert "summary: episodes=" in done.stdout
    assert not segment_exists(run_id)


def test_nothing_happens_without_fastlane(tmp_path: Path) -> None:
    proc = start_ppo(ppo_args(steps=2048), tmp_path)
    seen_ours = False
    while proc.poll() is None:
        seen_ours |= any(
            e.status is not None and e.status.writer_pid == proc.pid for e in list_segments()
        )
        time.sleep(0.05)
    _out, err = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 0, err
    assert not seen_ours
    assert "cleanrl-fastlane" not in err
    assert not (tmp_path / "runs" / "fastlane.sqlite").exists()


def test_a_slot_that_does_not_exist_is_refused_before_training(run_id: str, tmp_path: Path) -> None:
    done = run_ppo(ppo_args("--fastlane-slot", "9"), tmp_path, FASTLANE="1", FASTLANE_RUN_ID=run_id)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "cleanrl-fastlane: error: --fastlane-slot: expected a slot in 0..3 (the script's "
        "SyncVectorEnv has num_envs=4), got 9"
    ]
    assert "SPS:" not in done.stdout
    assert not (tmp_path / "runs" / "fastlane.sqlite").exists()
    assert not segment_exists(run_id)


def test_async_vector_env_streams_the_watched_slot_from_its_worker(
    run_id: str, tmp_path: Path
) -> None:
    proc = start_ppo(
        ppo_args("--async-envs", "--fastlane-slot", "1", steps=LONG),
        tmp_path,
        FASTLANE="1",
        FASTLANE_RUN_ID=run_id,
    )
    try:
        with _attach(run_id) as reader:
            frame = watch_until(reader, lambda f: True)
            assert frame is not None and decode_slot(frame.data) == 1
            assert reader.status().writer_pid != proc.pid  # the slot's worker process writes
    finally:
        _stop(proc)
    wait_until(lambda: not segment_exists(run_id), what="the ring's removal after Ctrl-C")


def test_grid_mode_tiles_the_first_slots(run_id: str, tmp_path: Path) -> None:
    proc = start_ppo(
        ppo_args(steps=LONG),
        tmp_path,
        FASTLANE="1",
        FASTLANE_RUN_ID=run_id,
        FASTLANE_VIDEO_MODE="grid",
        FASTLANE_GRID="4",
    )
    wanted = {slot_level(k) for k in range(4)}
    try:
        with _attach(run_id) as reader:
            frame = watch_until(reader, lambda f: wanted <= set(np.unique(f.data[..., 0]).tolist()))
            assert frame is not None, "no frame showing all four slots"
            assert reader.status().env_slot == -1
    finally:
        _stop(proc)
    wait_until(lambda: not segment_exists(run_id), what="the ring's removal after Ctrl-C")
