"""A tiny env with a known episode length and return, for the recording tests.

``FixedLengthEnv(length)`` ends every episode (terminated) after ``length`` steps; the reward
of step ``i`` (from 0) is ``i + 1``, so an episode's return is ``length * (length + 1) / 2``.
With ``truncate=True`` the episode is truncated instead of terminated.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


def expected_return(length: int) -> float:
    return length * (length + 1) / 2


class FixedLengthEnv(gym.Env):  # type: ignore[type-arg]
    metadata = {"render_modes": []}

    def __init__(self, length: int, truncate: bool = False) -> None:
        self.length = length
        self.truncate = truncate
        self.observation_space = gym.spaces.Box(0.0, 1e6, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self._t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action: Any) -> Any:
        self._t += 1
        done = self._t >= self.length
        obs = np.array([self._t], np.float32)
        return obs, float(self._t), done and not self.truncate, done and self.truncate, {}
