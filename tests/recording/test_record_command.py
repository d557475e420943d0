"""``gym-gui-bridge record RUN_ID OUT.mp4``: real runs, a real recorder process, the MP4 decoded.

The live run is ``examples/ppo.py`` on SlotSignal watching slot 2: each of its frames says which
slot drew it (red level) and the step within the episode (green), so a decoded video frame can
be matched to the ring frames slot 2 can show. Other tests use the viewer tests' writer process
(solid colours, two halves) for runs that must end or be interrupted on cue.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from bridge_helpers import free_port, start_bridge, stop_bridge
from e2e_helpers import BASE_SEED, ppo_args, start_ppo
from tls_files import make_certificate
from video_helpers import H264_TOLERANCE, read_video
from waits import WAIT_S, wait_until
from worker_helpers import REPO, clean_env

from cleanrl_worker.testing.envs import SLOT_LEVEL_STEP, decode_slot
from gym_gui_bridge.fastlane import _shm, create_fastlane_name

pytestmark = pytest.mark.slow

WRITER = REPO / "tests" / "viewer" / "writer_process.py"
LEFT, RIGHT = (200, 40, 90), (30, 160, 220)  # the writer's two halves
WATCHED = 2


def _record(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gym_gui_bridge.cli", "record", *args],
        cwd=cwd,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=WAIT_S)
    return proc.returncode, out, err


def _writer(run_id: str, *args: str) -> subprocess.Popen[str]:
    colours = ["--color", ",".join(map(str, LEFT)), "--color2", ",".join(map(str, RIGHT))]
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), run_id, *colours, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    assert proc.stdout is not None and proc.stdout.readline().startswith("ready")
    return proc


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=WAIT_S)


def _slot_pictures(slot: int) -> list[np.ndarray]:
    """Every frame slot ``slot`` of SlotSignal can show: one per step of an episode."""
    env = gym.make("cleanrl_worker.testing.envs:SlotSignal-v0", render_mode="rgb_array")
    env.reset(seed=BASE_SEED + slot)
    pictures = [env.render()]
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(0)
        done = terminated or truncated
        pictures.append(env.render())
    env.close()
    return pictures


def _halves_match(frame: np.ndarray) -> bool:
    height, width = frame.shape[:2]
    left = frame[2 : height - 2, 2 : width // 2 - 2].reshape(-1, 3).mean(axis=0)
    right = frame[2 : height - 2, width // 2 + 2 : width - 2].reshape(-1, 3).mean(axis=0)
    return bool(
        np.abs(left - LEFT).max() < H264_TOLERANCE and np.abs(right - RIGHT).max() < H264_TOLERANCE
    )


def test_a_recording_of_a_live_run_holds_the_watched_slots_frames(
    run_id: str, tmp_path: Path
) -> None:
    ppo = start_ppo(
        ppo_args("--fastlane-slot", str(WATCHED), steps=10_000_000),
        tmp_path,
        FASTLANE="1",
        FASTLANE_RUN_ID=run_id,
    )
    out = tmp_path / "watched.mp4"
    try:
        recorder = _record(run_id, str(out), "--seconds", "2", "--wait", str(WAIT_S), cwd=tmp_path)
        status, stdout, stderr = _finish(recorder)
    finally:
        _stop(ppo)
    assert status == 0, stderr
    assert stdout.startswith("recorded 60 frames (2.0 s at 30 fps, ")
    assert f"to {out}; 2 s recorded" in stdout

    video = read_video(out)
    assert (video.width, video.height, video.codec) == (64, 48, "h264")
    assert len(video.frames) == 60  # --seconds 2 at --fps 30
    assert video.seconds == pytest.approx(2.0, abs=0.05)
    candidates = {slot: _slot_pictures(slot) for slot in range(4)}
    shown = []
    for index, frame in enumerate(video.frames):
        assert decode_slot(frame) == WATCHED, f"video frame {index} is not slot {WATCHED}'s"
        errors = [video.mean_error(index, picture) for picture in candidates[WATCHED]]
        assert min(errors) < H264_TOLERANCE, f"video frame {index} matches no ring frame"
        shown.append(int(np.argmin(errors)))
        for other in (0, 1, 3):  # and it is unlike every frame of the other slots
            assert min(video.mean_error(index, p) for p in candidates[other]) > SLOT_LEVEL_STEP / 4
    assert len(set(shown)) > 1, "the video shows one frame: the worker did not render for it"


def test_ctrl_c_finishes_a_playable_file(run_id: str, tmp_path: Path) -> None:
    writer = _writer(run_id, "--width", "61", "--height", "40")
    out = tmp_path / "interrupted.mp4"
    try:
        recorder = _record(run_id, str(out), cwd=tmp_path)
        partial = out.with_name(out.name + ".part")
        wait_until(
            lambda: (
                (partial.exists() and partial.stat().st_size > 0) or recorder.poll() is not None
            ),
            what="the recorder's first encoded frames",
        )
        recorder.send_signal(signal.SIGINT)
        status, stdout, stderr = _finish(recorder)
    finally:
        _stop(writer)
    assert status == 0, stderr
    assert stdout.startswith("recorded ") and stdout.rstrip().endswith("; stopped")
    assert not out.with_name(out.name + ".part").exists()
    video = read_video(out)
    assert (video.width, video.height) == (62, 40)  # the odd width padded
    assert len(video.frames) >= 1
    assert all(_halves_match(frame[:, :61]) for frame in video.frames)


@pytest.mark.parametrize("end", ["closed", "killed"])
def test_the_recording_ends_with_the_run(run_id: str, tmp_path: Path, end: str) -> None:
    writer = _writer(run_id, "--fps", "30")
    out = tmp_path / "ended.mp4"
    try:
        recorder = _record(run_id, str(out), cwd=tmp_path)
        partial = out.with_name(out.name + ".part")
        wait_until(
            lambda: (
                (partial.exists() and partial.stat().st_size > 0) or recorder.poll() is not None
            ),
            what="the recorder's first encoded frames",
        )
        if end == "closed":
            assert writer.stdin is not None
            writer.stdin.write("exit\n")
            writer.stdin.flush()
        else:
            writer.kill()
        writer.wait(WAIT_S)
        status, stdout, stderr = _finish(recorder)  # no Ctrl-C: the run's end stops it
    finally:
        _stop(writer)
        _shm.unlink(create_fastlane_name(run_id))
    assert status == 0, stderr
    why = "the run closed its fast lane" if end == "closed" else f"(pid {writer.pid}) is gone"
    assert why in stdout
    video = read_video(out)
    assert len(video.frames) >= 1 and all(_halves_match(f) for f in video.frames)


def test_a_remote_run_is_recorded_through_a_tls_bridge_with_a_token(
    run_id: str, tmp_path: Path
) -> None:
    cert, key = make_certificate(tmp_path)
    token = secrets.token_hex(16)
    token_file = tmp_path / "bridge.token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    port = free_port()
    bridge = start_bridge(
        tmp_path / "bridge.sqlite",
        port,
        tmp_path / "spool",
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
        env=clean_env(FASTLANE_BRIDGE_TOKEN=token),
        tls_ca=cert,
    )
    writer = _writer(run_id, "--width", "96", "--height", "64")
    out = tmp_path / "remote.mp4"
    bridge_flags = ["--bridge", f"127.0.0.1:{port}", "--token-file", str(token_file)]
    try:
        recorder = _record(
            run_id, str(out), *bridge_flags, "--tls-ca", str(cert), "--seconds", "1", cwd=tmp_path
        )
        status, stdout, stderr = _finish(recorder)
        refused = _record(run_id, str(tmp_path / "no.mp4"), *bridge_flags, cwd=tmp_path)
        refused_status, _, refused_err = _finish(refused)  # plain text to a TLS bridge
    finally:
        _stop(writer)
        stop_bridge(bridge)
    assert status == 0, stderr
    assert stdout.startswith("recorded 30 frames (1.0 s at 30 fps, ")
    video = read_video(out)
    assert (video.width, video.height) == (96, 64)
    assert len(video.frames) == 30
    assert all(_halves_match(frame) for frame in video.frames)
    assert refused_status == 1
    assert "ended before its first frame: the bridge stream failed: UNAVAILABLE" in refused_err
    assert not (tmp_path / "no.mp4").exists()
