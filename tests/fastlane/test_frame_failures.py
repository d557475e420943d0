"""FastLaneEnvWrapper when the frame path fails: the env's results pass through untouched,
frames stop with one line naming the slot and the cause, the ring is closed; known
incompatibilities are rendered through a work-around instead; what is not an error passes."""

from __future__ import annotations

import os
import uuid
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from worker_helpers import segment_exists

from cleanrl_worker.fastlane import render_shims
from cleanrl_worker.fastlane.wrapper import FastLaneEnvWrapper
from gym_gui_bridge.config.fastlane import FrameConfig
from gym_gui_bridge.fastlane import FastLaneReader
from gym_gui_bridge.fastlane.layout import FASTLANE_MAX_EDGE

# render in-process whenever watched (no renderer sidecar: these tests are about render())
EVERY_STEP = FrameConfig(fps=1e9, budget=1.0, watch_poll_s=1e-9, sidecar_fps=0)


class Clock:
    def __init__(self) -> None:
        self.now = 1.0

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


class ScriptedEnv(gym.Env[np.ndarray, int]):
    """Steps return fresh objects (so a test can check identity); ``render`` returns
    ``frames[i]`` for the i-th call, raising it if it is an exception."""

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, frames: list[Any], reward: Any = 1.0) -> None:
        self.render_mode = "rgb_array"
        self.observation_space = gym.spaces.Box(0, 1, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.frames = frames
        self.reward = reward
        self.renders = 0
        self.last: tuple[Any, ...] = ()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {"reset": True}

    def step(self, action: int):
        self.last = (np.ones(1, np.float32), self.reward, False, False, {"step": object()})
        return self.last

    def render(self) -> Any:
        frame = self.frames[min(self.renders, len(self.frames) - 1)]
        self.renders += 1
        if isinstance(frame, BaseException):
            raise frame
        return frame


@pytest.fixture
def run_id() -> str:
    return f"fail-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _image(value: int = 0) -> np.ndarray:
    return np.full((6, 8, 3), value, np.uint8)


def _watched(env: FastLaneEnvWrapper, run_id: str) -> FastLaneReader:
    env.reset(seed=0)
    reader = FastLaneReader.attach(run_id)
    reader.latest_frame()  # the reader's poll tells the writer someone watches
    return reader


def test_render_raising_later_stops_frames_and_leaves_results_untouched(run_id, capsys):
    inner = ScriptedEnv([_image(1), _image(2), ValueError("lost the GL context\nat line 3")])
    env = FastLaneEnvWrapper(inner, run_id, slot=3, frames=EVERY_STEP, clock=Clock())
    reader = _watched(env, run_id)
    for _ in range(5):
        result = env.step(0)
        assert all(a is b for a, b in zip(result, inner.last, strict=True))
    assert inner.renders == 3  # the reset frame, one good frame, the failing one; then none
    assert not segment_exists(run_id), "the ring of a slot without frames stays open"
    assert env.last_frame_seq is None
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "cleanrl-fastlane: warning: slot 3 (ScriptedEnv) cannot stream frames: render() raised "
        "ValueError: lost the GL context at line 3; training continues without frames"
    ]
    assert env.stopped is not None and "ValueError" in env.stopped
    reader.close()
    env.close()


@pytest.mark.parametrize(
    ("frame", "cause"),
    [
        (None, "render() returned NoneType, not an image"),
        ([[0, 0], [0, 0]], "render() returned list, not an image"),
        (np.zeros((6, 8, 3), np.float32), "shape (6, 8, 3) and dtype float32"),
        (np.zeros((6, 8, 3, 1), np.uint8), "shape (6, 8, 3, 1) and dtype uint8"),
        (np.zeros((0, 8, 3), np.uint8), "shape (0, 8, 3) and dtype uint8"),
    ],
)
def test_what_is_not_an_image_stops_frames_with_its_description(run_id, capsys, frame, cause):
    env = FastLaneEnvWrapper(ScriptedEnv([frame]), run_id, slot=0, clock=Clock())
    assert env.reset(seed=0)[1] == {"reset": True}
    env.step(0)
    (line,) = capsys.readouterr().err.splitlines()
    assert cause in line and "slot 0" in line
    env.close()


def test_grayscale_rgba_and_single_channel_frames_are_images(run_id, capsys):
    for frame in (np.zeros((6, 8), np.uint8), np.zeros((6, 8, 4), np.uint8)):
        env = FastLaneEnvWrapper(ScriptedEnv([frame]), run_id, slot=0, clock=Clock())
        env.reset(seed=0)
        assert env.stopped is None and env.frames_rendered == 1
        env.close()
    assert capsys.readouterr().err == ""


def test_a_frame_beyond_the_rings_limit_is_downscaled_not_refused(run_id):
    wide = np.zeros((4, FASTLANE_MAX_EDGE + 100, 3), np.uint8)
    env = FastLaneEnvWrapper(ScriptedEnv([wide]), run_id, slot=0, clock=Clock())
    env.reset(seed=0)
    reader = FastLaneReader.attach(run_id)
    frame = reader.latest_frame(only_new=False)
    assert env.stopped is None and frame is not None
    assert frame.data.shape[1] <= FASTLANE_MAX_EDGE
    reader.close()
    env.close()


def test_publishing_that_fails_stops_frames_once(run_id, capsys, monkeypatch):
    env = FastLaneEnvWrapper(ScriptedEnv([_image()]), run_id, slot=2, frames=EVERY_STEP)
    reader = _watched(env, run_id)
    assert env.writer is not None

    def refuse(*args: Any, **kwargs: Any) -> int:
        raise BufferError("cannot close exported pointers exist")

    monkeypatch.setattr(env.writer, "publish", refuse)
    for _ in range(3):
        env.step(0)
    (line,) = capsys.readouterr().err.splitlines()
    assert "slot 2 (ScriptedEnv) cannot stream frames: publishing into the ring failed" in line
    assert "BufferError: cannot close exported pointers exist" in line
    reader.close()
    env.close()


def test_a_reward_the_hud_cannot_read_stops_frames_not_the_step(run_id, capsys):
    reward = {"not": "a number"}
    inner = ScriptedEnv([_image()], reward=reward)
    env = FastLaneEnvWrapper(inner, run_id, slot=0, frames=EVERY_STEP, clock=Clock())
    env.reset(seed=0)
    for _ in range(2):
        assert env.step(0)[1] is reward
    (line,) = capsys.readouterr().err.splitlines()
    assert "the HUD cannot read this step (TypeError:" in line
    env.close()


def test_one_element_rewards_are_read_without_warnings(run_id):
    inner = ScriptedEnv([_image()], reward=np.array([0.5], np.float32))
    env = FastLaneEnvWrapper(inner, run_id, slot=0, frames=EVERY_STEP, clock=Clock())
    reader = _watched(env, run_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env.step(0)
    frame = reader.latest_frame(only_new=False)
    assert env.stopped is None and frame is not None and frame.metrics.last_reward == 0.5
    reader.close()
    env.close()


def test_warnings_raised_while_the_fast_lane_renders_are_not_the_scripts(run_id, recwarn):
    class WarningEnv(ScriptedEnv):
        def render(self) -> Any:
            warnings.warn("render metadata looks odd", UserWarning, stacklevel=1)
            return super().render()

    env = FastLaneEnvWrapper(WarningEnv([_image()]), run_id, slot=0, clock=Clock())
    env.reset(seed=0)
    assert env.frames_rendered == 1 and len(recwarn) == 0
    env.close()


def test_keyboard_interrupt_in_render_is_not_a_frame_failure(run_id):
    env = FastLaneEnvWrapper(ScriptedEnv([KeyboardInterrupt()]), run_id, slot=0, clock=Clock())
    with pytest.raises(KeyboardInterrupt):
        env.reset(seed=0)
    assert env.stopped is None
    env.close()


def test_pendulum_after_float32_actions_streams_and_keeps_its_own_state(run_id, capsys):
    inner = gym.make("Pendulum-v1", render_mode="rgb_array")
    env = FastLaneEnvWrapper(inner, run_id, slot=0, frames=EVERY_STEP, clock=Clock())
    reader = _watched(env, run_id)
    pendulum = inner.unwrapped
    for _ in range(5):
        env.step(np.array([1.5], dtype=np.float32))
        torque = pendulum.last_u
        assert isinstance(torque, np.floating) and torque == np.float32(1.5)
    frame = reader.latest_frame(only_new=False)
    assert frame is not None and frame.metrics.global_step == 5 and env.frames_rendered == 6
    assert env.stopped is None and capsys.readouterr().err == ""
    try:  # on gymnasium 0.29.1 with numpy 2 the env's own render() fails here
        pendulum.render()
        needs_shim = False
    except TypeError:
        needs_shim = True
    assert (env._shim is not None) == needs_shim
    reader.close()
    env.close()


def test_the_pendulum_shim_draws_what_the_env_draws_with_a_float_torque():
    env = gym.make("Pendulum-v1", render_mode="rgb_array")
    env.reset(seed=0)
    env.step(np.array([-0.7], dtype=np.float32))
    pendulum = env.unwrapped
    shim = render_shims.find_shim(pendulum)
    assert shim is not None
    with shim(pendulum):
        shimmed = env.render()
    saved = pendulum.last_u
    pendulum.last_u = float(saved)
    try:
        expected = env.render()
    finally:
        pendulum.last_u = saved
    assert np.array_equal(shimmed, expected)
    assert render_shims.find_shim(gym.make("CartPole-v1").unwrapped) is None
    env.close()


@pytest.mark.parametrize(
    ("variables", "chosen"),
    [
        ({}, True),
        ({"DISPLAY": ":0"}, False),
        ({"WAYLAND_DISPLAY": "wayland-0"}, False),
        ({"SDL_VIDEODRIVER": "x11"}, False),
    ],
)
def test_sdl_gets_the_dummy_driver_only_without_any_display(monkeypatch, variables, chosen):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert render_shims.quiet_headless_sdl() is chosen
    assert os.environ.get("SDL_VIDEODRIVER") == variables.get(
        "SDL_VIDEODRIVER", "dummy" if chosen else None
    )
