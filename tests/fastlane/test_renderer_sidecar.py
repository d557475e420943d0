"""The renderer sidecar, a real process: its frames are the env's own pixels, it starts when
the run is watched, ends when nobody watches, and gives frame publishing back.

The env is stepped here (the "training thread"); a reader here watches like a viewer. After each
step the test waits briefly for a sidecar frame of that step (``global_step``) and compares it
with this process's own ``render()`` of the env, which has not moved since.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from render_helpers import classic_param, render
from sidecar_steps import sidecar_frames_of_steps
from waits import wait_until

from cleanrl_worker.fastlane.wrapper import FastLaneEnvWrapper
from gym_gui_bridge.config.fastlane import FrameConfig
from gym_gui_bridge.fastlane import FastLaneFrame, FastLaneReader
from gym_gui_bridge.fastlane.ring import process_alive

pytestmark = pytest.mark.slow  # starts renderer sidecars

#: A second per step at most for the sidecar to draw the newest state (it asks 30 times a second).
_FRAME_OF_STEP_S = 1.0


def _action(env: Any) -> Any:
    action = env.action_space.sample()
    return action.astype(np.float32) if isinstance(action, np.ndarray) else action


@pytest.mark.parametrize(
    "env_id",
    [classic_param(e) for e in ("CartPole-v1", "Pendulum-v1", "Acrobot-v1", "MountainCar-v0")],
)
def test_a_sidecar_frame_equals_the_in_process_render_of_the_same_state(
    env_id: str, run_id: str
) -> None:
    env = FastLaneEnvWrapper(gym.make(env_id, render_mode="rgb_array"), run_id, slot=0)
    env.reset(seed=5)
    env.action_space.seed(5)
    reader = FastLaneReader.attach(run_id)
    matched: list[int] = []
    try:
        for step, frame in sidecar_frames_of_steps(env, reader, _action, _FRAME_OF_STEP_S):
            assert np.array_equal(frame.data, render(env)), f"{env_id}: step {step} differs"
            assert frame.metrics.render_ms > 0
            matched.append(step)
            if len(matched) == 3:
                break
        assert len(matched) == 3, f"{env_id}: {len(matched)} sidecar frames of 3"
        link = env.sidecar
        assert link is not None and link.publishing and link.started == 1
        assert link.pid is not None  # a cheap picture: drawn at this process's priority
        assert os.getpriority(os.PRIO_PROCESS, link.pid) == os.getpriority(os.PRIO_PROCESS, 0)
    finally:
        reader.close()
        env.close()
    assert link.pid is None and not link.publishing  # close() ended it


def test_the_sidecar_ends_when_nobody_watches_and_frames_return_in_process(run_id: str) -> None:
    frames = FrameConfig(sidecar_idle_s=0.3, watch_poll_s=0.01)
    env = FastLaneEnvWrapper(
        gym.make("CartPole-v1", render_mode="rgb_array"), run_id, slot=0, frames=frames
    )
    env.reset(seed=0)
    reader = FastLaneReader.attach(run_id)
    link = env.sidecar
    assert link is not None

    def step_and(check: Any) -> Any:
        def poll() -> Any:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                env.reset()
            return check()

        return poll

    def sidecar_frame() -> FastLaneFrame | None:
        frame = reader.latest_frame()
        return frame if frame is not None and frame.metrics.render_mode == "sidecar" else None

    try:
        first = wait_until(step_and(sidecar_frame), what="a sidecar frame", poll=0.002)
        pid = link.pid
        assert pid is not None and reader.status().frames_by == pid
        reader.close()  # nobody watches any more
        wait_until(step_and(lambda: link.pid is None), what="the idle sidecar's end", poll=0.01)
        assert not process_alive(pid) and not link.publishing and link.given_up is None
        reader = FastLaneReader.attach(run_id)
        reader.latest_frame()  # watched again: in-process frames until a new sidecar draws

        def next_frame() -> FastLaneFrame | None:
            frame = reader.latest_frame()
            return frame if frame is not None and frame.seq > first.seq else None

        later = wait_until(step_and(next_frame), what="a frame after the hand-back", poll=0.002)
        assert later.seq > first.seq  # the numbering continues across the hand-back
    finally:
        reader.close()
        env.close()


def _stepper(env: FastLaneEnvWrapper, reader: FastLaneReader, check: Any) -> Any:
    """A wait_until predicate: one env step and one viewer poll, then ``check(frame)`` with the
    frame the poll got (None when there was no new one)."""

    def poll() -> Any:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
        return check(reader.latest_frame())

    return poll


def test_a_killed_sidecar_hands_frames_back_and_a_new_one_takes_over(run_id: str) -> None:
    env = FastLaneEnvWrapper(
        gym.make("CartPole-v1", render_mode="rgb_array"),
        run_id,
        slot=0,
        frames=FrameConfig(watch_poll_s=0.01),
    )
    env.reset(seed=0)
    reader = FastLaneReader.attach(run_id)
    link = env.sidecar
    assert link is not None
    seen: list[FastLaneFrame] = []

    def frame_by(mode: str) -> Any:
        def check(frame: FastLaneFrame | None) -> FastLaneFrame | None:
            if frame is not None:
                seen.append(frame)
            return frame if frame is not None and frame.metrics.render_mode == mode else None

        return check

    try:
        wait_until(_stepper(env, reader, frame_by("sidecar")), what="a sidecar frame", poll=0.002)
        first_pid = link.pid
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL)
        wait_until(_stepper(env, reader, frame_by("in-process")), what="in-process frames")
        assert link.given_up is None
        wait_until(
            _stepper(env, reader, lambda _: link.pid not in (None, first_pid) and link.publishing),
            what="a second sidecar publishing",
            poll=0.002,
        )
        wait_until(_stepper(env, reader, frame_by("sidecar")), what="its frames", poll=0.002)
        assert link.started == 2
        seqs = [frame.seq for frame in seen]
        assert seqs == sorted(set(seqs))  # never a repeated or older frame number
    finally:
        reader.close()
        env.close()


def test_a_sidecar_that_cannot_draw_the_env_is_given_up_once(
    run_id: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    import broken_renderers

    monkeypatch.setenv("PYTHONPATH", str(Path(broken_renderers.__file__).parent))
    env = FastLaneEnvWrapper(
        broken_renderers.UnbuildableCartPole(render_mode="rgb_array"),
        run_id,
        slot=0,
        frames=FrameConfig(watch_poll_s=0.01),
    )
    env.reset(seed=0)
    reader = FastLaneReader.attach(run_id)
    link = env.sidecar
    assert link is not None
    try:
        wait_until(_stepper(env, reader, lambda _: link.given_up), what="the sidecar given up")
        assert link.started == 1 and link.pid is None
        frame = wait_until(_stepper(env, reader, lambda frame: frame), what="a frame")
        assert frame.metrics.render_mode == "in-process"
    finally:
        reader.close()
        env.close()
    err = capfd.readouterr().err
    assert "cannot build the renderer's env: RuntimeError: no env for you" in err
    assert err.count("cannot draw this env") == 1
