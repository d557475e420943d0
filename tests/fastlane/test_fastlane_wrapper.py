"""FastLaneEnvWrapper on its own: a first frame at reset, frames only while watched and only
within the budget (counted, never timed), terminal frames, HUD metrics, cleanup on close."""

from __future__ import annotations

import os
import uuid
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from worker_helpers import segment_exists

from cleanrl_worker.fastlane.wrapper import FastLaneEnvWrapper
from gym_gui_bridge.config.fastlane import FrameConfig
from gym_gui_bridge.fastlane import FastLaneReader

STEP_S = 0.001  # fake seconds per env step
RENDER_S = 0.005  # fake seconds per render


class FakeClock:
    """Deterministic seconds: tests count frames against elapsed fake time."""

    def __init__(self) -> None:
        self.now = 1.0

    def __call__(self) -> float:
        return self.now


class CountingEnv(gym.Env[np.ndarray, int]):
    """Episodes of ``length`` steps with reward = step index; renders advance the fake clock."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, clock: FakeClock, length: int = 10, render_mode: str | None = "rgb_array"):
        self.clock = clock
        self.length = length
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0, 1, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.t = 0
        self.renders: list[int] = []  # step index of every render

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action: int):
        self.t += 1
        self.clock.now += STEP_S
        return np.zeros(1, np.float32), float(self.t), self.t >= self.length, False, {}

    def render(self):
        self.clock.now += RENDER_S
        self.renders.append(self.t)
        return np.full((6, 8, 3), self.t % 256, np.uint8)


@pytest.fixture
def run_id() -> str:
    return f"wrap-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _wrap(
    run_id: str, length: int = 10, **kwargs: Any
) -> tuple[FastLaneEnvWrapper, CountingEnv, FakeClock]:
    clock = FakeClock()
    inner = CountingEnv(clock, length)
    frames = FrameConfig(**kwargs)
    return FastLaneEnvWrapper(inner, run_id, slot=0, frames=frames, clock=clock), inner, clock


def _run(env: FastLaneEnvWrapper, steps: int, reader: FastLaneReader | None = None) -> None:
    for i in range(steps):
        _, _, terminated, truncated, _ = env.step(0)
        if terminated or truncated:
            env.reset()
        if reader is not None and i % 50 == 0:
            reader.latest_frame()  # keep the presence heartbeat fresh, like a viewer


def test_first_reset_publishes_one_frame_and_nothing_more_while_unwatched(run_id):
    env, inner, _ = _wrap(run_id)
    env.reset(seed=0)
    assert segment_exists(run_id)
    _run(env, 500)
    assert len(inner.renders) == 1
    assert env.writer is not None and env.writer.frames_published == 1
    env.close()
    assert not segment_exists(run_id)


def test_renders_while_a_reader_watches_and_within_both_caps(run_id):
    env, inner, clock = _wrap(run_id, length=1000, fps=30.0, budget=0.03)
    env.reset(seed=0)
    reader = FastLaneReader.attach(run_id)
    start = clock.now
    _run(env, 3000, reader)
    elapsed = clock.now - start
    renders = len(inner.renders) - 1  # minus the reset frame
    assert renders > 0
    # wall-time share: time spent rendering <= budget * elapsed (+ one frame of slack)
    assert renders * RENDER_S <= 0.03 * elapsed + RENDER_S
    assert renders <= 30.0 * elapsed + 1  # and never above the fps cap
    frame = reader.latest_frame(only_new=False)
    assert frame is not None and frame.metrics.frame_rate_hz == pytest.approx(0.03 / RENDER_S)
    reader.close()
    env.close()


def test_fps_cap_wins_when_renders_are_cheap(run_id):
    env, inner, clock = _wrap(run_id, length=10_000, fps=10.0, budget=1.0)
    env.reset(seed=0)
    reader = FastLaneReader.attach(run_id)
    start = clock.now
    _run(env, 2000, reader)
    renders = len(inner.renders) - 1
    assert 0 < renders <= 10.0 * (clock.now - start) + 1
    reader.close()
    env.close()


def test_terminal_step_is_rendered_between_fps_frames(run_id):
    env, inner, _ = _wrap(run_id, length=5, fps=1.0, budget=1.0)
    env.reset(seed=0)
    reader = FastLaneReader.attach(run_id)
    _run(env, 200, reader)
    terminal = [t for t in inner.renders if t == 5]
    assert len(terminal) >= 30  # 40 episodes, far more than the 1 fps cap would allow
    reader.close()
    env.close()


def test_hud_metrics_describe_the_published_frame(run_id):
    env, _, _ = _wrap(run_id, length=4, fps=1000.0, budget=1.0, return_smoothing=0.5)
    env.reset(seed=0)
    reader = FastLaneReader.attach(run_id)
    reader.latest_frame()  # polling is what tells the writer someone watches
    _run(env, 42, reader)  # every episode returns 1 + 2 + 3 + 4 = 10
    frame = reader.latest_frame(only_new=False)
    assert frame is not None and frame.seq > 1
    m = frame.metrics
    step = int(frame.data[0, 0, 0])  # the env paints its step index (< 256 here)
    assert m.episode_step == step and m.last_reward == float(step)
    assert m.global_step == 4 * m.episode + step
    assert m.episode >= 2 and m.rolling_return == pytest.approx(10.0)
    assert m.step_rate_hz > 0 and m.frame_rate_hz > 0
    reader.close()
    env.close()


def test_rolling_return_is_an_exponential_average_of_episode_returns(run_id):
    env, inner, _ = _wrap(run_id, length=2, return_smoothing=0.5)
    env.reset(seed=0)
    for length in (2, 4, 4):  # returns 1+2=3, then 1+2+3+4=10 twice
        inner.length = length
        for _ in range(length):
            env.step(0)
        env.reset()
    # 3 -> 3 + 0.5 * (10 - 3) = 6.5 -> 6.5 + 0.5 * (10 - 6.5) = 8.25
    assert env._metrics().rolling_return == pytest.approx(8.25)
    assert env._metrics().episode == 3
    env.close()


def test_max_dim_downscales_published_frames(run_id):
    clock = FakeClock()
    inner = gym.make("CartPole-v1", render_mode="rgb_array")
    env = FastLaneEnvWrapper(inner, run_id, slot=1, frames=FrameConfig(max_dim=150), clock=clock)
    env.reset(seed=0)
    reader = FastLaneReader.attach(run_id)
    frame = reader.latest_frame(only_new=False)
    assert frame is not None and max(frame.data.shape[:2]) <= 150
    assert reader.status().env_slot == 1
    reader.close()
    env.close()


def test_env_that_cannot_render_warns_once_and_runs_on(run_id, capsys):
    clock = FakeClock()
    env = FastLaneEnvWrapper(CountingEnv(clock, render_mode=None), run_id, slot=0, clock=clock)
    env.reset(seed=0)
    _run(env, 50)
    env.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot stream frames" in err[0] and "render_mode is None" in err[0]
    assert not segment_exists(run_id)
