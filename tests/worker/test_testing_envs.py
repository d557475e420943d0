"""The slot-identifying test envs: registration, frames, episode lengths, and broken rendering."""

from __future__ import annotations

import doctest
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import cleanrl_worker.testing.envs as testing_envs
from cleanrl_worker.testing.envs import (
    FRAME_HEIGHT,
    FRAME_WIDTH,
    decode_episode_step,
    decode_slot,
)

SLOT_SIGNAL = "cleanrl_worker.testing.envs:SlotSignal-v0"
NO_RENDER = "cleanrl_worker.testing.envs:NoRender-v0"
SUBPROCESS_TIMEOUT_S = 60


def _frame(env: gym.Env) -> np.ndarray:
    frame = env.render()
    assert isinstance(frame, np.ndarray), f"Expected an rgb_array frame, got {type(frame)}"
    return frame


def _episode_length(env: gym.Env) -> int:
    steps = 0
    while True:
        _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert reward == 1.0
        steps += 1
        if terminated or truncated:
            assert terminated and not truncated
            return steps


def test_module_doctests_pass() -> None:
    result = doctest.testmod(testing_envs)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.slow
def test_module_colon_id_registers_in_a_fresh_interpreter() -> None:
    code = (
        "import gymnasium as gym\n"
        f"env = gym.make({SLOT_SIGNAL!r}, render_mode='rgb_array')\n"
        "env.reset(seed=1001)\n"
        "print(env.render()[0, 0, 0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == testing_envs.slot_level(1)


def test_vector_slots_paint_their_index_and_play_their_own_length() -> None:
    num_envs = 4
    envs = gym.vector.SyncVectorEnv(
        [lambda: gym.make(SLOT_SIGNAL, render_mode="rgb_array") for _ in range(num_envs)]
    )
    envs.reset(seed=testing_envs.DEFAULT_BASE_SEED)
    for slot, env in enumerate(envs.envs):
        frame = _frame(env)
        assert frame.shape == (FRAME_HEIGHT, FRAME_WIDTH, 3)
        assert frame.dtype == np.uint8
        assert decode_slot(frame) == slot
        assert _episode_length(env) == 5 + 3 * slot
    envs.close()


def test_terminal_frame_shows_the_last_step_and_reset_starts_over() -> None:
    env = gym.make(SLOT_SIGNAL, render_mode="rgb_array")
    env.reset(seed=testing_envs.DEFAULT_BASE_SEED + 3)
    length = _episode_length(env)
    assert decode_episode_step(_frame(env)) == length
    env.reset()  # unseeded resets keep the slot
    frame = _frame(env)
    assert (decode_slot(frame), decode_episode_step(frame)) == (3, 0)
    env.close()


def test_frame_pattern_reveals_orientation() -> None:
    env = gym.make(SLOT_SIGNAL, render_mode="rgb_array")
    env.reset(seed=testing_envs.DEFAULT_BASE_SEED)
    blue = _frame(env)[..., 2]
    assert blue[0, 0] == 255
    assert blue[0, -1] == 0
    assert blue[-1, 0] == 0
    env.close()


def test_explicit_slot_and_unknown_slot() -> None:
    fixed = gym.make(SLOT_SIGNAL, render_mode="rgb_array", slot=5, base_length=2, length_step=1)
    fixed.reset(seed=0)  # an explicit slot ignores the seed
    assert decode_slot(_frame(fixed)) == 5
    assert _episode_length(fixed) == 7
    unknown = gym.make(SLOT_SIGNAL, render_mode="rgb_array")
    unknown.reset(seed=7)  # below base_seed: slot unknown, base length
    assert decode_slot(_frame(unknown)) is None
    assert _episode_length(unknown) == testing_envs.DEFAULT_BASE_LENGTH


def test_without_render_mode_render_returns_none() -> None:
    env = testing_envs.SlotSignalEnv()
    env.reset(seed=testing_envs.DEFAULT_BASE_SEED)
    assert env.render() is None


def test_invalid_arguments_name_what_was_expected() -> None:
    with pytest.raises(ValueError, match=r"Expected slot in 0\.\.13"):
        testing_envs.SlotSignalEnv(slot=99)
    with pytest.raises(ValueError, match="Expected render_mode"):
        testing_envs.SlotSignalEnv(render_mode="human")
    with pytest.raises(ValueError, match="Expected failure"):
        testing_envs.NoRenderEnv(failure="sometimes")


def test_no_render_env_returns_none_or_raises() -> None:
    quiet = testing_envs.NoRenderEnv(render_mode="rgb_array")
    quiet.reset(seed=0)
    assert quiet.render() is None
    assert _episode_length(quiet) == testing_envs.NO_RENDER_EPISODE_LENGTH
    loud = gym.make(NO_RENDER, render_mode="rgb_array", failure="raise")
    loud.reset(seed=0)
    with pytest.raises(RuntimeError, match="cannot render"):
        loud.render()
