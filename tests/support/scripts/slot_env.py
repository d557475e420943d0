"""A tiny env whose frames say which vector-env slot they come from.

CleanRL resets its vector env once with ``envs.reset(seed=args.seed)``, which seeds slot ``i``
with ``seed + i``. This env remembers the first seed it was reset with and paints it into every
frame (red channel, whole frame), with the step count in green. A reader can then tell the slot:
``slot = frame[0, 0, 0] - seed``. Registered on import as ``slot_env:SlotPaint-v0``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["EPISODE_LENGTH", "FRAME_SHAPE", "SlotPaintEnv"]

EPISODE_LENGTH = 20
FRAME_SHAPE = (24, 32, 3)


class SlotPaintEnv(gym.Env[np.ndarray, int]):
    """Episodes of ``EPISODE_LENGTH`` steps, reward 1 per step; frames carry the first seed."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0.0, 1.0, (4,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.first_seed = -1
        self._t = 0
        self.renders = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None and self.first_seed < 0:
            self.first_seed = seed
        self._t = 0
        return np.zeros(4, np.float32), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self._t += 1
        return (
            np.full(4, self._t / EPISODE_LENGTH, np.float32),
            1.0,
            self._t >= EPISODE_LENGTH,
            False,
            {},
        )

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        self.renders += 1
        frame = np.zeros(FRAME_SHAPE, np.uint8)
        frame[:, :, 0] = self.first_seed % 256
        frame[:, :, 1] = self._t % 256
        return frame


gym.register(id="SlotPaint-v0", entry_point=SlotPaintEnv)
