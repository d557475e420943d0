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
