"""``FASTLANE=1 python script.py --fastlane-slot K``: an unmodified CleanRL-style script streams
slot K, its parser never sees the flag, and the ring is gone when the run ends however it ends."""

from __future__ import annotations

import signal

import pytest
from waits import WAIT_S, wait_until
from worker_helpers import attach_when_ready, run_script, segment_exists, watch_until

pytestmark = pytest.mark.slow

SEED = 10
#: Keep the script stepping while the test watches it; the test stops it with Ctrl-C (SIGINT),
#: so the bound is only a backstop for a test that dies without its fixture's clean-up.
LONG_RUN = ("--min-seconds", "600", "--step-sleep", "0.001", "--seed", str(SEED))


def _watch_slot_frames(proc, run_id: str, seed: int = SEED):
    wait_until(lambda: segment_exists(run_id) or proc.poll() is not None, what="the ring")
    assert proc.poll() is None, proc.communicate()[1]
    reader = attach_when_ready(run_id)
    try:
        # seq 1 is the reset frame every run publishes; later frames exist only while watched.
        # Wait until the slot has stepped a while, so its HUD step rate has been measured.
        frame = watch_until(reader, lambda f: f.seq > 1 and f.metrics.global_step > 100)
        status = reader.status()
    finally:
        reader.close()
    assert frame is not None, "no frame rendered while a reader was watching"
    return frame, status


def _stop(proc) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=WAIT_S)
    return proc.returncode, out, err


def test_frames_come_from_the_watched_slot_of_a_sync_vector_env(start_script, run_id):
    proc = start_script(
        "--num-envs", "4", "--fastlane-slot", "2", *LONG_RUN, FASTLANE="1", FASTLANE_RUN_ID=run_id
    )
    frame, status = _watch_slot_frames(proc, run_id)
    assert frame.data[0, 0, 0] == SEED + 2  # the env paints its first reset seed: seed + slot
    assert status.env_slot == 2
    assert status.writer_pid == proc.pid
    assert frame.metrics.step_rate_hz > 0
    _, _, err = _stop(proc)
    banner = [line for line in err.splitlines() if line.startswith("cleanrl-fastlane: run")]
    assert len(banner) == 1
    assert run_id in banner[0] and "slot 2" in banner[0]
    assert f"gym-gui-bridge view {run_id}" in banner[0]
    assert not segment_exists(run_id), "SIGINT left the ring behind"


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_async_vector_env_slot_publishes_from_its_worker_process(start_script, run_id, context):
    proc = start_script(
        "--num-envs",
        "4",
        "--async-envs",
        "--mp-context",
        context,
        "--fastlane-slot=3",
        *LONG_RUN,
        FASTLANE="1",
        FASTLANE_RUN_ID=run_id,
    )
    frame, status = _watch_slot_frames(proc, run_id)
    assert frame.data[0, 0, 0] == SEED + 3
    assert status.writer_pid != proc.pid  # the worker process of slot 3 writes the ring
    _, _, err = _stop(proc)
    # spawned workers re-run the .pth line; they must not announce (or start) runs of their own
    assert err.count("cleanrl-fastlane: run") == 1, err
    wait_until(lambda: not segment_exists(run_id), what="the ring's removal (left behind?)")


def test_grid_mode_tiles_the_first_slots(start_script, run_id):
    proc = start_script(
        "--num-envs", "4", *LONG_RUN, FASTLANE="1", FASTLANE_GRID="4", FASTLANE_RUN_ID=run_id
    )
    frame, status = _watch_slot_frames(proc, run_id)
    assert status.env_slot == -1
    height, width = frame.data.shape[0] // 2, frame.data.shape[1] // 2
    tiles = [frame.data[r * height, c * width, 0] for r in range(2) for c in range(2)]
    assert tiles == [SEED + slot for slot in range(4)]
    _stop(proc)
    assert not segment_exists(run_id)


def test_script_parser_never_sees_fastlane_flags_and_ring_is_gone_after_the_run(run_id):
    result = run_script(
        "--num-envs",
        "2",
        "--fastlane-slot",
        "1",
        "--fastlane-fps=10",
        "--fastlane-only",
        "--total-timesteps",
        "200",
        FASTLANE="1",
        FASTLANE_RUN_ID=run_id,
    )
    assert result.returncode == 0, result.stderr  # tyro exits 2 on an unknown flag
    assert "done: 200 steps" in result.stdout
    assert not segment_exists(run_id)


def test_nothing_happens_without_fastlane(run_id):
    result = run_script("--num-envs", "2", "--total-timesteps", "100", FASTLANE_RUN_ID=run_id)
    assert result.returncode == 0, result.stderr
    assert "cleanrl-fastlane" not in result.stderr
    assert not segment_exists(run_id)


def test_fastlane_0_forces_off_but_still_hides_the_flags(run_id):
    result = run_script(
        "--fastlane-slot", "1", "--total-timesteps", "100", FASTLANE="0", FASTLANE_RUN_ID=run_id
    )
    assert result.returncode == 0, result.stderr
    assert "cleanrl-fastlane" not in result.stderr


def test_a_slot_that_does_not_exist_is_an_error_before_training(run_id):
    result = run_script("--num-envs", "4", "--fastlane-slot", "9", FASTLANE_RUN_ID=run_id)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "cleanrl-fastlane: error: --fastlane-slot: expected a slot in 0..3 (the script's "
        "SyncVectorEnv has num_envs=4), got 9"
    ]
    assert "done:" not in result.stdout
    assert not segment_exists(run_id)


def test_invalid_setting_names_the_variable_and_stops_before_the_script(run_id):
    result = run_script(FASTLANE="1", FASTLANE_FPS="fast", FASTLANE_RUN_ID=run_id)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "cleanrl-fastlane: error: FASTLANE_FPS: expected a number > 0, got 'fast'"
    ]
    assert result.stdout == ""


@pytest.mark.parametrize("how", [("--crash-at", "30"), ("--sigint-at", "30")])
def test_ring_is_gone_after_an_exception_or_ctrl_c_in_the_script(run_id, how):
    result = run_script(
        "--num-envs",
        "2",
        *how,
        "--total-timesteps",
        "1000000",
        FASTLANE="1",
        FASTLANE_RUN_ID=run_id,
    )
    assert result.returncode != 0
    assert ("RuntimeError" if how[0] == "--crash-at" else "KeyboardInterrupt") in result.stderr
    assert not segment_exists(run_id)


def test_capture_video_render_mode_on_slot_0_is_respected(run_id):
    result = run_script(
        "--capture-video",
        "--fastlane-slot",
        "0",
        "--total-timesteps",
        "100",
        FASTLANE="1",
        FASTLANE_RUN_ID=run_id,
    )
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr


def test_grid_mode_with_async_vector_env_falls_back_to_the_slot(start_script, run_id):
    proc = start_script(
        "--num-envs",
        "3",
        "--async-envs",
        *LONG_RUN,
        FASTLANE="1",
        FASTLANE_GRID="3",
        FASTLANE_SLOT="1",
        FASTLANE_RUN_ID=run_id,
    )
    frame, status = _watch_slot_frames(proc, run_id)
    assert frame.data[0, 0, 0] == SEED + 1 and status.env_slot == 1
    _, _, err = _stop(proc)
    assert "grid mode needs SyncVectorEnv" in err


def test_a_run_id_in_use_by_a_live_run_is_refused_before_training(start_script, run_id):
    first = start_script(*LONG_RUN, FASTLANE="1", FASTLANE_RUN_ID=run_id)
    wait_until(lambda: segment_exists(run_id) or first.poll() is not None, what="the first ring")
    second = run_script("--total-timesteps", "40", FASTLANE="1", FASTLANE_RUN_ID=run_id)
    assert second.returncode == 2
    assert f"run id {run_id!r} is being written by live process {first.pid}" in second.stderr
    assert first.poll() is None and segment_exists(run_id)  # the live run is untouched
    _stop(first)
