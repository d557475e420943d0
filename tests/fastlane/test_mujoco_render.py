"""MuJoCo envs drawn from their state: in this process, in a renderer sidecar, and the cases
that keep in-process frames.

The same state draws the same pixels in another env and another process: the state is set in
the "training" env with positions computed from it (``mj_forward``, what ``set_state`` and the
sidecar's restore do), because a ``render()`` straight after ``step()`` draws the positions of
the step's last physics substep (one ``model.opt.timestep`` earlier; see
cleanrl_worker/fastlane/state_render/mujoco.py). Both processes draw with the same OpenGL
backend (``MUJOCO_GL``, chosen here before the first render and inherited by the sidecar), so
the comparison is exact: no tolerance.

Runs once, on gymnasium 1.x (scripts/test.sh installs the ``mujoco`` extra into its venv).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from render_helpers import render
from sidecar_steps import sidecar_frames_of_steps
from waits import WAIT_S
from worker_helpers import clean_env

from cleanrl_worker.fastlane.render_shims import headless_mujoco_gl
from cleanrl_worker.fastlane.state_render import renderer_for
from cleanrl_worker.fastlane.state_render.mujoco import MujocoState
from cleanrl_worker.fastlane.wrapper import FastLaneEnvWrapper
from gym_gui_bridge.config.fastlane import FrameConfig
from gym_gui_bridge.fastlane import FastLaneReader
from gym_gui_bridge.fastlane.layout import STATE_MAX_BYTES

# slow: importing gymnasium's MuJoCo envs starts a process (the glfw package checks its
# library's version in a child Python), and some tests start renderer sidecars
pytestmark = [pytest.mark.slow, pytest.mark.gymnasium_line("1")]

ENVS = ["HalfCheetah-v5", "Hopper-v5"]
#: Longest wait for the sidecar's frame of one step (it asks 30 times a second; a 480x480
#: MuJoCo frame takes ~40 ms on a CPU).
_FRAME_OF_STEP_S = 2.0


@pytest.fixture(autouse=True)
def _headless_gl(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``MUJOCO_GL`` as the fast lane leaves it (unless set by the user), restored after; the
    working directory is a temporary one (MuJoCo 4 writes its compiler warnings about
    gymnasium's models into ./MUJOCO_LOG.TXT, here and in the sidecar)."""
    monkeypatch.chdir(tmp_path)
    chosen = os.environ.get("MUJOCO_GL")
    monkeypatch.setenv("MUJOCO_GL", chosen or "-")
    if not chosen:
        monkeypatch.delenv("MUJOCO_GL")
        headless_mujoco_gl()


def _action(env: Any) -> np.ndarray:
    return env.action_space.sample().astype(np.float32)  # CleanRL's actions (torch float32)


def _render_state(env: Any) -> np.ndarray:
    """``env``'s in-process picture of its state, positions computed from it."""
    import mujoco

    base = env.unwrapped
    mujoco.mj_forward(base.model, base.data)
    return render(env)


@pytest.mark.parametrize("env_id", ENVS)
def test_a_restored_mujoco_state_draws_the_same_pixels(env_id: str) -> None:
    trained = gym.make(env_id, render_mode="rgb_array")
    drawer = gym.make(env_id, render_mode="rgb_array")
    trained.reset(seed=3)
    drawer.reset(seed=99)  # another state: the restore must replace it
    trained.action_space.seed(3)
    render(trained)  # the camera is aimed at the first render, as in a run
    renderer = renderer_for(trained.unwrapped)
    assert type(renderer).__name__ == "MujocoState"
    compared = 0
    for step in range(1, 41):
        _, _, terminated, truncated, _ = trained.step(_action(trained))
        if terminated or truncated:
            trained.reset()
        if step % 8:
            continue
        state = renderer.capture(trained.unwrapped)
        assert state.dtype == np.float64 and state.ndim == 1 and state.nbytes <= 256
        renderer.restore(drawer.unwrapped, np.frombuffer(state.tobytes(), np.float64).copy())
        assert drawer.unwrapped.data.time == trained.unwrapped.data.time
        expected, drawn = _render_state(trained), render(drawer)
        assert np.array_equal(drawn, expected), f"{env_id}: step {step} differs"
        compared += 1
    assert compared == 5
    other = gym.make("Hopper-v5" if env_id != "Hopper-v5" else "HalfCheetah-v5")
    other.reset(seed=0)
    with pytest.raises(ValueError, match=r"Expected a state of a model with \(nq, nv"):
        renderer.restore(other.unwrapped, state)
    for env in (trained, drawer, other):
        env.close()


def test_a_headless_gl_backend_is_chosen_only_for_mujoco_without_a_display(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mujoco_env = gym.make("HalfCheetah-v5").unwrapped
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    assert headless_mujoco_gl(gym.make("CartPole-v1").unwrapped) is None
    assert "MUJOCO_GL" not in os.environ
    chosen = headless_mujoco_gl(mujoco_env)
    assert chosen in ("egl", "osmesa") and os.environ["MUJOCO_GL"] == chosen
    monkeypatch.setenv("MUJOCO_GL", "osmesa")  # the user's choice stays
    assert headless_mujoco_gl(mujoco_env) is None and os.environ["MUJOCO_GL"] == "osmesa"
    monkeypatch.delenv("MUJOCO_GL")
    monkeypatch.setenv("DISPLAY", ":0")  # a display: GLFW can draw, MUJOCO_GL stays unset
    assert headless_mujoco_gl(mujoco_env) is None and "MUJOCO_GL" not in os.environ
    mujoco_env.close()


#: A chain of hinged capsules, long enough that qpos and qvel do not fit the state area.
_LINKS = (STATE_MAX_BYTES // 8) // 2 + 1


def _chain_xml(path: Path) -> Path:
    body = "".join(
        f'<body pos="0 0 0.1"><joint name="j{i}" type="hinge" axis="0 1 0"/>'
        f'<geom type="capsule" size="0.01" fromto="0 0 0 0 0 0.1"/>'
        for i in range(_LINKS)
    )
    path.write_text(
        f'<mujoco><worldbody><light pos="0 0 3"/>{body}{"</body>" * _LINKS}</worldbody></mujoco>'
    )
    return path


def test_a_model_whose_state_does_not_fit_keeps_in_process_frames(
    run_id: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from gymnasium.envs.mujoco.mujoco_env import MujocoEnv

    class Chain(MujocoEnv):
        metadata = {"render_modes": ["rgb_array"], "render_fps": 500}

        def __init__(self, **kwargs: Any) -> None:
            space = gym.spaces.Box(-np.inf, np.inf, (1,), np.float64)
            super().__init__(str(_chain_xml(tmp_path / "chain.xml")), 1, space, **kwargs)

        def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
            self.do_simulation(self.data.ctrl, self.frame_skip)
            return np.zeros(1), 0.0, False, False, {}

        def reset_model(self) -> np.ndarray:
            return np.zeros(1)

    env = FastLaneEnvWrapper(
        Chain(render_mode="rgb_array", width=64, height=48),
        run_id,
        slot=0,
        frames=FrameConfig(fps=1e9, budget=1.0, watch_poll_s=1e-9),
    )
    env.reset(seed=0)
    reader = FastLaneReader.attach(run_id)
    try:
        reader.latest_frame(only_new=False)  # announces the reader: the run is watched
        for _ in range(3):
            env.step(None)
        frame = reader.latest_frame()
        assert env.sidecar is None
        assert frame is not None and frame.metrics.render_mode == "in-process"
        assert frame.data.shape == (48, 64, 3)
    finally:
        reader.close()
        env.close()
    err = capfd.readouterr().err
    size = (12 + 2 * _LINKS) * 8
    assert f"Expected a state of at most {STATE_MAX_BYTES} bytes, got {size}" in err
    assert "frames are rendered in-process under the frame budget" in err


# --- with a renderer sidecar (a real process) ---------------------------------------------------


@pytest.mark.parametrize(
    ("env_id", "plain"), [(env_id, False) for env_id in ENVS] + [("HalfCheetah-v5", True)]
)
def test_a_sidecar_mujoco_frame_equals_the_in_process_render_of_the_same_state(
    env_id: str, plain: bool, run_id: str
) -> None:
    # plain: every frame is over the sidecar's frame cost limit, so after its first frames it
    # draws without shadows, reflections and skybox; compared with the in-process render
    # with the same effects off. Otherwise the limit is off (0): the full picture throughout.
    frames = FrameConfig(sidecar_frame_ms=1e-6 if plain else 0.0)
    env = FastLaneEnvWrapper(gym.make(env_id, render_mode="rgb_array"), run_id, 0, frames=frames)
    env.reset(seed=5)
    env.action_space.seed(5)
    if plain:
        render(env)  # the in-process viewer, with the camera aimed as in a run
        assert MujocoState().simplify(env.unwrapped)
    reader = FastLaneReader.attach(run_id)
    matched: list[int] = []
    before_plain: list[int] = []  # sidecar frames of the full picture, before it simplified
    try:
        for step, frame in sidecar_frames_of_steps(env, reader, _action, _FRAME_OF_STEP_S):
            same = np.array_equal(frame.data, _render_state(env))
            if plain and not same and not matched:
                before_plain.append(frame.seq)
                continue
            assert same, f"{env_id}: step {step}"
            assert frame.metrics.render_ms > 0
            matched.append(step)
            if len(matched) == 3:
                break
        assert len(matched) == 3, f"{env_id}: {len(matched)} sidecar frames of 3"
        # the sidecar decides after its first frames (one, then the median of five more)
        assert len(before_plain) <= 6
        link = env.sidecar
        assert link is not None and link.publishing and link.started == 1
        assert link.pid is not None and os.getpriority(os.PRIO_PROCESS, link.pid) == 19
    finally:
        reader.close()
        env.close()
    assert link.pid is None and not link.publishing  # close() ended it


_UNDRAWABLE = """
import gymnasium as gym
from cleanrl_worker.fastlane.wrapper import FastLaneEnvWrapper
env = FastLaneEnvWrapper(gym.make("HalfCheetah-v5", render_mode="rgb_array"), "{run_id}", slot=0)
env.reset(seed=0)
for _ in range(20):
    env.step(env.action_space.sample())
env.close()
print("stepped", round(env.unwrapped.data.time, 6))
"""


def test_a_mujoco_env_that_cannot_render_here_trains_on_without_frames(
    run_id: str, tmp_path: Path
) -> None:
    # GLFW needs a display: with MUJOCO_GL=glfw and none, the env's render() raises
    environment = clean_env(MUJOCO_GL="glfw")
    environment.pop("DISPLAY", None)
    environment.pop("WAYLAND_DISPLAY", None)
    done = subprocess.run(
        [sys.executable, "-c", _UNDRAWABLE.format(run_id=run_id)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert done.returncode == 0, done.stderr
    assert "stepped 1.0" in done.stdout  # 20 steps of 0.05 s
    warning = [line for line in done.stderr.splitlines() if "cleanrl-fastlane: warning" in line]
    assert len(warning) == 1 and "slot 0 (HalfCheetah-v5) cannot stream frames" in warning[0]
    assert "render() raised" in warning[0] and "training continues without frames" in warning[0]
