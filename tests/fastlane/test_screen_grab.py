"""Atari frames are the emulator's screen, copied without a ``render()`` call: the same
pixels ``render()`` returns, marked ``screen`` in the HUD."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from cleanrl_worker.fastlane.screen_grab import screen_grab
from cleanrl_worker.fastlane.wrapper import FastLaneEnvWrapper
from gym_gui_bridge.config.fastlane import FrameConfig
from gym_gui_bridge.fastlane import FastLaneReader

ale_py = pytest.importorskip("ale_py")  # the atari extra (installed by scripts/test.sh)


def _breakout() -> Any:
    if hasattr(gym, "register_envs"):  # gymnasium 1.x: ale-py registers its envs on request
        gym.register_envs(ale_py)
    return gym.make("ALE/Breakout-v5", render_mode="rgb_array")


class _Clock:
    """1 ms per reading: every step is due under an unlimited budget, no waiting."""

    def __init__(self) -> None:
        self.now = 1.0

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


def test_atari_frames_are_the_screen_and_say_so(run_id: str) -> None:
    inner = _breakout()
    frames = FrameConfig(fps=1e9, budget=1.0, watch_poll_s=1e-9)
    env = FastLaneEnvWrapper(inner, run_id, slot=0, frames=frames, clock=_Clock())
    env.reset(seed=0)
    assert screen_grab(inner.unwrapped) is not None and env.sidecar is None
    reader = FastLaneReader.attach(run_id)
    reader.latest_frame(only_new=False)  # watched from now on
    for action in (1, 2, 2, 3, 0):
        env.step(action)
    frame = reader.latest_frame()
    assert frame is not None and frame.metrics.render_mode == "screen"
    assert frame.metrics.global_step == 5 and frame.metrics.render_ms > 0
    assert np.array_equal(frame.data, inner.render())
    reader.close()
    env.close()


def test_envs_without_an_emulator_screen_render() -> None:
    assert screen_grab(gym.make("CartPole-v1", render_mode="rgb_array").unwrapped) is None
    if hasattr(gym, "register_envs"):
        gym.register_envs(ale_py)
    assert screen_grab(gym.make("ALE/Breakout-v5").unwrapped) is None  # no rgb_array mode


class _SteppedClock:
    """Simulated time: the test advances it by one vector step's worth per env step."""

    def __init__(self) -> None:
        self.now = 1.0

    def __call__(self) -> float:
        return self.now


def test_the_screen_is_copied_at_the_frame_rate_not_every_step(run_id: str) -> None:
    """Unwatched, no screen is copied after the first frame; watched, the copies follow the
    fps cap (a frame every ~12 steps at a PPO run's ~2.9 ms per 4-env step), and a viewer
    still gets over 25 frames per second of env time."""
    inner = _breakout()
    clock = _SteppedClock()
    frames = FrameConfig(fps=30.0, watch_poll_s=0.05)
    env = FastLaneEnvWrapper(inner, run_id, slot=0, frames=frames, clock=clock)
    env.reset(seed=0)
    step_s = 0.0029

    def play(steps: int, reader: FastLaneReader | None = None) -> None:
        for index in range(steps):
            clock.now += step_s
            if reader is not None and index % 50 == 0:
                reader.latest_frame()  # a viewer's poll keeps it watching
            _, _, terminated, truncated, _ = env.step(index % 4)
            if terminated or truncated:
                env.reset()

    play(300)
    assert env.frames_rendered == 1  # the frame the ring was created with
    reader = FastLaneReader.attach(run_id)
    reader.latest_frame(only_new=False)  # watched from the next poll of the flag on
    start = clock.now
    play(600, reader)
    watched_s = clock.now - start
    copies = env.frames_rendered - 1
    assert copies <= 30.0 * watched_s + 1
    assert copies >= 25.0 * (watched_s - frames.watch_poll_s)
    reader.close()
    env.close()
