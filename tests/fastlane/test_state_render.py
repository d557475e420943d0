"""State renderers and the ring's state area, in one process (no sidecar started).

A state captured on the "training" env and restored into a fresh env of the same kind draws
the same picture, pixel for pixel; envs are matched by their unwrapped class; the state area
carries a state and its HUD under a seqlock; frame publishing moves between the writer and a
delegate without a gap or a repeat in the frame numbers; an env without a state renderer keeps
in-process frames.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from render_helpers import classic_param, render

from cleanrl_worker.fastlane.state_render import StateRenderer, register, renderer_for
from cleanrl_worker.fastlane.state_render.registry import EnvDescription, renderer_path
from cleanrl_worker.fastlane.wrapper import FastLaneEnvWrapper
from gym_gui_bridge.config.fastlane import FrameConfig
from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneMetrics, FastLaneReader, FastLaneWriter
from gym_gui_bridge.fastlane.state_area import DelegatePublisher

CLASSIC = [
    classic_param(env_id)
    for env_id in (
        "CartPole-v1",
        "Pendulum-v1",
        "Acrobot-v1",
        "MountainCar-v0",
        "MountainCarContinuous-v0",
    )
]


@pytest.mark.parametrize("env_id", CLASSIC)
def test_a_restored_state_draws_the_same_pixels(env_id: str) -> None:
    trained = gym.make(env_id, render_mode="rgb_array")
    drawer = gym.make(env_id, render_mode="rgb_array")
    trained.reset(seed=3)
    drawer.reset(seed=99)  # another state: the restore must replace it
    trained.action_space.seed(3)
    renderer = renderer_for(trained.unwrapped)
    assert renderer is not None
    compared = 0
    for step in range(60):
        if step:
            action = trained.action_space.sample()
            if isinstance(action, np.ndarray):
                action = action.astype(np.float32)  # CleanRL's actions (torch float32)
            _, _, terminated, truncated, _ = trained.step(action)
            if terminated or truncated:
                trained.reset()
        if step % 7:
            continue
        state = renderer.capture(trained.unwrapped)
        assert state.ndim == 1 and state.nbytes <= 64
        renderer.restore(drawer.unwrapped, np.frombuffer(state.tobytes(), state.dtype).copy())
        expected, drawn = render(trained), render(drawer)
        assert np.array_equal(drawn, expected), f"{env_id}: step {step} differs"
        compared += 1
    assert compared >= 8
    trained.close()
    drawer.close()


def test_envs_are_matched_by_their_class_and_its_bases() -> None:
    from gymnasium.envs.classic_control.cartpole import CartPoleEnv

    class TallCartPole(CartPoleEnv):
        pass

    assert type(renderer_for(TallCartPole())).__name__ == "CartPoleState"
    assert renderer_for(gym.make("FrozenLake-v1").unwrapped) is None


class _Grid(gym.Env[np.ndarray, int]):
    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0, 7, (2,), np.int64)
        self.action_space = gym.spaces.Discrete(2)
        self.position = np.zeros(2, np.int64)

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.position = np.zeros(2, np.int64)
        return self.position.copy(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.position[action] = (self.position[action] + 1) % 8
        return self.position.copy(), 0.0, False, False, {}

    def render(self) -> np.ndarray:
        frame = np.zeros((8, 8, 3), np.uint8)
        frame[self.position[0], self.position[1]] = 255
        return frame


class GridState(StateRenderer):
    def capture(self, env: Any) -> np.ndarray:
        return env.position.copy()

    def restore(self, env: Any, state: np.ndarray) -> None:
        env.position = state.copy()


def test_a_registered_renderer_draws_a_users_env() -> None:
    register(_Grid, GridState)
    env = _Grid(render_mode="rgb_array")
    env.reset()
    env.step(1)
    renderer = renderer_for(env)
    assert isinstance(renderer, GridState)
    assert renderer_path(env) == f"{__name__}:GridState"
    description = EnvDescription.of(env)
    assert description.env_id == "" and description.env_class.endswith(":_Grid")
    assert EnvDescription.from_json(description.to_json()) == description
    other = _Grid(render_mode="rgb_array")
    renderer.restore(other, renderer.capture(env))
    assert np.array_equal(other.render(), env.render())


def test_a_renderer_in_the_script_itself_is_refused() -> None:
    scripted = type("ScriptState", (StateRenderer,), {"__module__": "__main__"})
    with pytest.raises(ValueError, match="importable module"):
        register(_Grid, scripted)
    with pytest.raises(ValueError, match="StateRenderer subclass"):
        register(_Grid, dict)  # type: ignore[arg-type]


def test_the_state_area_carries_a_state_and_its_hud_only_when_asked(run_id: str) -> None:
    with FastLaneWriter.create(run_id, FastLaneConfig(width=4, height=2)) as writer:
        worker = writer.state_channel
        assert worker is not None
        sidecar = DelegatePublisher(writer.name, run_id, writer_pid=_pid(), rate_smoothing=0.5)
        try:
            assert not worker.wanted()
            assert sidecar.channel.read(0) is None
            wanted = sidecar.channel.request()
            assert worker.wanted()
            state = np.array([0.5, -1.25, 3.0], np.float32)
            seq = worker.write(state, FastLaneMetrics(last_reward=2.0, global_step=17))
            assert seq == wanted and not worker.wanted()
            got = sidecar.channel.read(0)
            assert got is not None and got.seq == seq
            assert got.state.dtype == np.float32 and np.array_equal(got.state, state)
            assert got.metrics.last_reward == 2.0 and got.metrics.global_step == 17
            assert sidecar.channel.read(seq) is None  # nothing newer
            with pytest.raises(ValueError, match="at most"):
                worker.write(np.zeros(10_000), FastLaneMetrics())
        finally:
            sidecar.close()


def test_frame_publishing_moves_to_the_delegate_and_back_without_a_gap(run_id: str) -> None:
    frame = np.zeros((2, 4, 3), np.uint8)
    with FastLaneWriter.create(run_id, FastLaneConfig(width=4, height=2)) as writer:
        reader = FastLaneReader.attach(run_id)
        delegate = DelegatePublisher(writer.name, run_id, writer_pid=_pid(), rate_smoothing=0.5)
        try:
            assert writer.publish(frame) == 1
            channel = writer.state_channel
            assert channel is not None
            delegate.channel.ask_for_frames(4242)
            assert channel.handoff_request == 4242
            channel.grant(4242)
            assert reader.status().frames_by == 4242
            seqs = [delegate.publish(frame + 9, FastLaneMetrics(render_mode="sidecar"))]
            seqs.append(delegate.publish(frame + 9, FastLaneMetrics(render_mode="sidecar")))
            got = reader.latest_frame()
            assert got is not None and got.seq == 3 and got.metrics.render_mode == "sidecar"
            delegate.channel.give_back(4242)
            writer.resume()
            seqs.append(writer.publish(frame, FastLaneMetrics(render_mode="in-process")))
            assert seqs == [2, 3, 4] and reader.status().frames_by == 0
            got = reader.latest_frame()
            assert got is not None and got.seq == 4 and got.metrics.render_mode == "in-process"
            with pytest.raises(ValueError, match="shape"):
                delegate.publish(np.zeros((3, 3, 3), np.uint8), FastLaneMetrics())
        finally:
            delegate.close()
            reader.close()


def test_an_env_without_a_state_renderer_keeps_budgeted_in_process_frames(run_id: str) -> None:
    env = FastLaneEnvWrapper(
        gym.make("FrozenLake-v1", render_mode="rgb_array", is_slippery=False),
        run_id,
        slot=0,
        frames=FrameConfig(fps=1e9, budget=1.0, watch_poll_s=1e-9),
    )
    env.reset(seed=0)
    reader = FastLaneReader.attach(run_id)
    reader.latest_frame(only_new=False)  # announces the reader: the run is watched
    for _ in range(3):
        env.step(1)  # down, down, down: no hole on that column
    frame = reader.latest_frame()
    assert env.sidecar is None
    assert frame is not None and frame.metrics.render_mode == "in-process"
    assert frame.metrics.render_ms > 0 and frame.metrics.global_step >= 1
    assert env.frames_rendered >= 2
    reader.close()
    env.close()


def _pid() -> int:
    import os

    return os.getpid()
