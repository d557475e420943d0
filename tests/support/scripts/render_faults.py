"""Envs whose ``render()`` fails in the ways real envs do, for the hostile frame tests.

Each id is a small episodic env (episodes of ``EPISODE_LENGTH`` steps, reward 1 per step, so
an episode's return is its length) that renders a valid frame until its ``render()`` goes wrong:

- ``render_faults:RaiseAtFirst-v0``: ``render()`` raises ``RuntimeError`` from the first call.
- ``render_faults:RaiseLater-v0``: the first ``GOOD_RENDERS`` frames are fine, then it raises.
- ``render_faults:ReturnsNone-v0``: ``render()`` returns ``None``.
- ``render_faults:FloatFrame-v0``: a float64 image in [0, 1] instead of uint8.
- ``render_faults:TwoChannels-v0``: a uint8 ``H x W x 2`` array, which no viewer can show.
- ``render_faults:NoRenderMode-v0``: an env whose constructor takes no ``render_mode`` at all.
- ``render_faults:Healthy-v0``: renders fine (for faults that are not the env's).
- ``render_faults:LaterRaiseInSlot1-v0``: slot 1 (seeded ``BASE_SEED + 1``) behaves like
  ``RaiseLater``, every other slot renders fine (for grids).

Importing the module registers them (gymnasium's ``"module:Id"`` form imports it).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["BASE_SEED", "EPISODE_LENGTH", "GOOD_RENDERS", "FaultyRenderEnv"]

EPISODE_LENGTH = 8
GOOD_RENDERS = 3  # frames a "later" fault renders fine first
BASE_SEED = 1000  # the tests seed the vector env with it: sub-env i is seeded BASE_SEED + i
FRAME_SHAPE = (24, 32, 3)


class FaultyRenderEnv(gym.Env[np.ndarray, np.int64]):
    """Episodes of ``EPISODE_LENGTH`` steps; ``render()`` fails as ``fault`` says.

    Args:
        render_mode: ``None`` or ``"rgb_array"``.
        fault: ``raise``, ``raise-later``, ``none``, ``float``, ``two-channels`` or ``ok``.
        only_slot: fail only in the sub-env first reset with seed ``BASE_SEED + only_slot``
            (None: every sub-env fails).
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(
        self, render_mode: str | None = None, fault: str = "raise", only_slot: int | None = None
    ) -> None:
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.fault = fault
        self.only_slot = only_slot
        self.slot: int | None = None
        self.renders = 0
        self._t = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None and self.slot is None:
            self.slot = seed - BASE_SEED
        self._t = 0
        return self._observation(), {}

    def step(self, action: np.int64) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self._t += 1
        return self._observation(), 1.0, self._t >= EPISODE_LENGTH, False, {}

    def render(self) -> Any:
        self.renders += 1
        frame = np.zeros(FRAME_SHAPE, np.uint8)
        frame[..., 1] = self._t
        if self.only_slot is not None and self.slot != self.only_slot:
            return frame
        if self.fault == "raise" or (self.fault == "raise-later" and self.renders > GOOD_RENDERS):
            raise RuntimeError(f"render failed at call {self.renders} (fault={self.fault})")
        if self.fault == "none":
            return None
        if self.fault == "float":
            return frame.astype(np.float64) / 255.0
        if self.fault == "two-channels":
            return frame[..., :2].copy()
        return frame

    def _observation(self) -> np.ndarray:
        return np.array([self._t / EPISODE_LENGTH, 0.0], dtype=np.float32)


class NoRenderModeEnv(FaultyRenderEnv):
    """An env written before render modes existed: ``NoRenderModeEnv()`` takes no arguments."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self) -> None:
        super().__init__(render_mode=None, fault="ok")


if "NoRenderMode-v0" not in gym.registry:
    gym.register(id="NoRenderMode-v0", entry_point=NoRenderModeEnv)

for _id, _kwargs in {
    "RaiseAtFirst-v0": {"fault": "raise"},
    "RaiseLater-v0": {"fault": "raise-later"},
    "ReturnsNone-v0": {"fault": "none"},
    "FloatFrame-v0": {"fault": "float"},
    "TwoChannels-v0": {"fault": "two-channels"},
    "Healthy-v0": {"fault": "ok"},
    "LaterRaiseInSlot1-v0": {"fault": "raise-later", "only_slot": 1},
}.items():
    if _id not in gym.registry:
        gym.register(id=_id, entry_point=FaultyRenderEnv, kwargs=_kwargs)
