"""What the fast lane's ``render()`` calls leave behind: the same pictures, faster, and the
script's warnings as they were."""

from __future__ import annotations

import os
import uuid
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from cleanrl_worker.fastlane import render_shims
from cleanrl_worker.fastlane.wrapper import FastLaneEnvWrapper
from gym_gui_bridge.config.fastlane import FrameConfig
from gym_gui_bridge.fastlane import FastLaneReader

# render in-process (no renderer sidecar) whenever watched
EVERY_STEP = FrameConfig(fps=1e9, budget=1.0, watch_poll_s=1e-9, sidecar_fps=0)
PYGAME_ENVS = ["CartPole-v1", "MountainCar-v0", "FrozenLake-v1", "Blackjack-v1"]


class Clock:
    def __init__(self) -> None:
        self.now = 1.0

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


class WarningEnv(gym.Env[np.ndarray, int]):
    """Its ``render()`` warns every time (as a noisy env might)."""

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self) -> None:
        self.render_mode = "rgb_array"
        self.observation_space = gym.spaces.Box(0, 1, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, action: int):
        return np.zeros(1, np.float32), 1.0, False, False, {}

    def render(self) -> np.ndarray:
        warnings.warn("render() of this env always warns", UserWarning, stacklevel=1)
        return np.zeros((4, 6, 3), np.uint8)


@pytest.fixture
def run_id() -> str:
    return f"side-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _script_step_warning() -> None:
    warnings.warn("the script's own warning, raised every step", UserWarning, stacklevel=1)


def test_a_warning_the_script_shows_once_is_not_shown_again_after_each_frame(run_id):
    env = FastLaneEnvWrapper(WarningEnv(), run_id, slot=0, frames=EVERY_STEP, clock=Clock())
    env.reset(seed=0)
    reader = FastLaneReader.attach(run_id)
    reader.latest_frame()  # watching: every step renders
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("default")  # Python's default: once per code location
        for _ in range(5):
            env.step(0)
            _script_step_warning()
    assert env.frames_rendered == 6
    assert [str(w.message) for w in shown] == ["the script's own warning, raised every step"]
    reader.close()
    env.close()


@pytest.mark.parametrize("env_id", PYGAME_ENVS)
def test_gymnasium_pygame_envs_render_the_same_pixels_through_the_fast_copy(env_id):
    pygame = pytest.importorskip("pygame")
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    env.render()  # imports pygame.surfarray (the fast copy needs it loaded)
    original = pygame.surfarray.pixels3d
    env.action_space.seed(0)
    for _ in range(4):
        env.step(env.action_space.sample())
        expected = env.render()
        with render_shims.fast_pygame_pixels(env.unwrapped):
            assert pygame.surfarray.pixels3d is not original
            fast = env.render()
        assert pygame.surfarray.pixels3d is original
        assert fast.shape == expected.shape and fast.dtype == expected.dtype
        assert np.array_equal(fast, expected) and fast.flags["C_CONTIGUOUS"]
    env.close()


def test_the_fast_copy_leaves_other_envs_and_surfaces_alone():
    pygame = pytest.importorskip("pygame")
    surfarray = pytest.importorskip("pygame.surfarray")
    original = surfarray.pixels3d
    with render_shims.fast_pygame_pixels(WarningEnv()):  # not one of gymnasium's envs
        assert surfarray.pixels3d is original
    cartpole = gym.make("CartPole-v1").unwrapped
    surface = pygame.Surface((5, 3), depth=24)
    surface.fill((10, 20, 30))
    with render_shims.fast_pygame_pixels(cartpole):
        copied = np.array(surfarray.pixels3d(surface))  # 3-byte pixels: pygame's own
    assert copied.shape == (5, 3, 3) and (copied == [10, 20, 30]).all()
    assert surfarray.pixels3d is original


def test_the_wrapper_streams_cartpole_frames_equal_to_its_own_render(run_id):
    inner = gym.make("CartPole-v1", render_mode="rgb_array")
    env = FastLaneEnvWrapper(inner, run_id, slot=0, frames=EVERY_STEP, clock=Clock())
    env.reset(seed=0)
    reader = FastLaneReader.attach(run_id)
    reader.latest_frame()
    for action in (0, 1, 1):
        env.step(action)
        frame = reader.latest_frame()
        assert frame is not None and np.array_equal(frame.data, inner.render())
    assert env.stopped is None
    reader.close()
    env.close()
