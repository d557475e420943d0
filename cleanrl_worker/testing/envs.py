"""Tiny gymnasium envs whose frames and episodes prove which vector-env slot they come from.

Importing this module registers three ids, so gymnasium's ``"module:EnvId"`` form works without
any other import::

    gym.make("cleanrl_worker.testing.envs:SlotSignal-v0", render_mode="rgb_array")
    gym.make("cleanrl_worker.testing.envs:NoRender-v0", render_mode="rgb_array")
    gym.make("cleanrl_worker.testing.envs:SlotSignalCrash-v0")   # raises at its 200th step

Only numpy and gymnasium are needed. Both envs have ``Discrete(2)`` actions (ignored) and a
``Box`` observation, and work with gymnasium 0.29.1 and 1.x.

**SlotSignal-v0** knows its slot. CleanRL-style scripts seed the vector env once with
``envs.reset(seed=seed)``, and gymnasium seeds sub-env ``i`` with ``seed + i``; so the env takes
``slot = first_reset_seed - base_seed`` (``base_seed`` defaults to 1000: run the script with
``--seed 1000``). A ``slot=K`` kwarg overrides this. Each episode lasts exactly
``base_length + length_step * slot`` steps (5 + 3 * slot by default), then ``terminated=True``;
every step pays reward 1.0, so an episode's return equals its length. An unknown slot (no
seeded reset yet, or a seed outside ``base_seed .. base_seed + MAX_SLOT``) plays episodes of
``base_length`` steps.

Frame format (``render_mode="rgb_array"``): ``FRAME_HEIGHT x FRAME_WIDTH x 3`` uint8,

- red channel: the whole frame is ``SLOT_LEVEL_OFFSET + SLOT_LEVEL_STEP * slot`` (0 when the
  slot is unknown). A uniform fill survives downscaling, cropping and tiling; read it back with
  :func:`decode_slot` (on a whole frame or on one tile of a grid).
- green channel: the step within the current episode (0 after reset, ``length`` on the
  terminal frame, clipped to 255); read it back with :func:`decode_episode_step`.
- blue channel: 255 in the top-left quadrant, 0 elsewhere, so a flipped or transposed frame is
  visible.

**NoRender-v0** accepts ``render_mode="rgb_array"`` but cannot render: ``render()`` returns
``None`` (``failure="none"``, the default) or raises ``RuntimeError`` (``failure="raise"``).
Episodes last ``base_length`` steps (default 10).

>>> import gymnasium as gym
>>> env = gym.make("cleanrl_worker.testing.envs:SlotSignal-v0", render_mode="rgb_array")
>>> _ = env.reset(seed=1002)                      # slot 2 under the default base_seed
>>> frame = env.render()
>>> frame.shape, decode_slot(frame), decode_episode_step(frame)
((48, 64, 3), 2, 0)
>>> steps = 0
>>> while True:
...     _, reward, terminated, truncated, _ = env.step(0)
...     steps += 1
...     if terminated or truncated:
...         break
>>> steps, terminated, decode_episode_step(env.render())   # 5 + 3 * 2
(11, True, 11)
>>> env.close()
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

__all__ = [
    "FRAME_HEIGHT",
    "FRAME_WIDTH",
    "MAX_SLOT",
    "SLOT_LEVEL_OFFSET",
    "SLOT_LEVEL_STEP",
    "NoRenderEnv",
    "SlotSignalCrashEnv",
    "SlotSignalEnv",
    "decode_episode_step",
    "decode_slot",
    "slot_level",
]

# Frame geometry of SlotSignal-v0, in pixels: small so rendering costs microseconds.
FRAME_HEIGHT = 48
FRAME_WIDTH = 64
# Red level of slot k is OFFSET + STEP * k; 0 means "slot unknown". Step 16 leaves 8 levels of
# margin either side for lossy scaling; slots 0..13 fit below 256.
SLOT_LEVEL_OFFSET = 32
SLOT_LEVEL_STEP = 16
MAX_SLOT = 13
# Defaults of the env kwargs: tests pass --seed 1000 so that sub-env i is slot i.
DEFAULT_BASE_SEED = 1000
DEFAULT_BASE_LENGTH = 5
DEFAULT_LENGTH_STEP = 3
NO_RENDER_EPISODE_LENGTH = 10
_CHANNEL_MAX = 255


def slot_level(slot: int | None) -> int:
    """Red level that paints ``slot`` (0 for an unknown slot).

    >>> slot_level(0), slot_level(2), slot_level(None)
    (32, 64, 0)
    """
    if slot is None:
        return 0
    if not 0 <= slot <= MAX_SLOT:
        raise ValueError(f"Expected a slot in 0..{MAX_SLOT}, got {slot}")
    return SLOT_LEVEL_OFFSET + SLOT_LEVEL_STEP * slot


def decode_slot(frame: np.ndarray) -> int | None:
    """Slot painted into a SlotSignal frame (or a tile of one), ``None`` if unknown.

    >>> decode_slot(np.full((4, 4, 3), slot_level(3), np.uint8))
    3
    """
    level = float(np.median(frame[..., 0]))
    if level < SLOT_LEVEL_OFFSET - SLOT_LEVEL_STEP / 2:
        return None
    return round((level - SLOT_LEVEL_OFFSET) / SLOT_LEVEL_STEP)


def decode_episode_step(frame: np.ndarray) -> int:
    """Step within the episode painted into a SlotSignal frame (clipped to 255)."""
    return round(float(np.median(frame[..., 1])))


def _observation_space() -> spaces.Box:
    return spaces.Box(low=-1.0, high=np.inf, shape=(3,), dtype=np.float32)


class SlotSignalEnv(gym.Env[np.ndarray, np.int64]):
    """Episodes and frames that identify the env's vector slot (see the module docstring).

    Args:
        render_mode: ``None`` or ``"rgb_array"``.
        slot: The slot, or ``None`` to derive it from the first seeded reset.
        base_seed: Seed of slot 0 when the slot is derived from the reset seed.
        base_length: Episode length of slot 0.
        length_step: Extra steps per slot index.
        raise_after: Raise ``RuntimeError`` at this many steps of the env (None: never), to
            test what a crash in the middle of training leaves behind.
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(
        self,
        render_mode: str | None = None,
        slot: int | None = None,
        base_seed: int = DEFAULT_BASE_SEED,
        base_length: int = DEFAULT_BASE_LENGTH,
        length_step: int = DEFAULT_LENGTH_STEP,
        raise_after: int | None = None,
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"Expected render_mode None or 'rgb_array', got {render_mode!r}")
        if slot is not None and not 0 <= slot <= MAX_SLOT:
            raise ValueError(f"Expected slot in 0..{MAX_SLOT} or None, got {slot}")
        if base_length < 1 or length_step < 0:
            raise ValueError(
                f"Expected base_length >= 1 and length_step >= 0, got {base_length}, {length_step}"
            )
        self.render_mode = render_mode
        self.observation_space = _observation_space()
        self.action_space = spaces.Discrete(2)
        self._fixed_slot = slot
        self.slot: int | None = slot
        self._base_seed = base_seed
        self._base_length = base_length
        self._length_step = length_step
        self._step = 0
        self._raise_after = raise_after
        self._total_steps = 0

    @property
    def episode_length(self) -> int:
        """Steps per episode for the current slot."""
        return self._base_length + self._length_step * (self.slot or 0)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None and self._fixed_slot is None:
            offset = seed - self._base_seed
            self.slot = offset if 0 <= offset <= MAX_SLOT else None
        self._step = 0
        return self._observation(), {"slot": -1 if self.slot is None else self.slot}

    def step(self, action: np.int64) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self._step += 1
        self._total_steps += 1
        if self._raise_after is not None and self._total_steps >= self._raise_after:
            raise RuntimeError(
                f"SlotSignal slot {self.slot}: crash after {self._total_steps} steps"
            )
        terminated = self._step >= self.episode_length
        return self._observation(), 1.0, terminated, False, {}

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        frame = np.zeros((FRAME_HEIGHT, FRAME_WIDTH, 3), dtype=np.uint8)
        frame[..., 0] = slot_level(self.slot)
        frame[..., 1] = min(self._step, _CHANNEL_MAX)
        frame[: FRAME_HEIGHT // 2, : FRAME_WIDTH // 2, 2] = _CHANNEL_MAX
        return frame

    def _observation(self) -> np.ndarray:
        slot = -1.0 if self.slot is None else float(self.slot)
        return np.array([slot, self._step, self.episode_length], dtype=np.float32)


class SlotSignalCrashEnv(SlotSignalEnv):
    """SlotSignal that raises ``RuntimeError`` at its 200th step (registered as
    ``SlotSignalCrash-v0``): a training script that dies mid-run."""

    CRASH_AFTER = 200

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("raise_after", self.CRASH_AFTER)
        super().__init__(render_mode, **kwargs)


class NoRenderEnv(gym.Env[np.ndarray, np.int64]):
    """Accepts ``render_mode="rgb_array"`` but cannot render (see the module docstring).

    Args:
        render_mode: Accepted and stored; rendering still fails.
        failure: ``"none"``: ``render()`` returns ``None``; ``"raise"``: it raises RuntimeError.
        base_length: Episode length.

    >>> env = NoRenderEnv(render_mode="rgb_array", failure="raise")
    >>> _ = env.reset(seed=0)
    >>> env.render()
    Traceback (most recent call last):
    ...
    RuntimeError: NoRender-v0 cannot render (failure='raise')
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(
        self,
        render_mode: str | None = None,
        failure: str = "none",
        base_length: int = NO_RENDER_EPISODE_LENGTH,
    ) -> None:
        if failure not in ("none", "raise"):
            raise ValueError(f"Expected failure 'none' or 'raise', got {failure!r}")
        self.render_mode = render_mode
        self.observation_space = _observation_space()
        self.action_space = spaces.Discrete(2)
        self._failure = failure
        self._length = base_length
        self._step = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._step = 0
        return self._observation(), {}

    def step(self, action: np.int64) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self._step += 1
        return self._observation(), 1.0, self._step >= self._length, False, {}

    def render(self) -> np.ndarray | None:
        """Never a frame: ``None``, or RuntimeError with ``failure="raise"``."""
        if self._failure == "raise":
            raise RuntimeError(f"NoRender-v0 cannot render (failure={self._failure!r})")
        return None

    def _observation(self) -> np.ndarray:
        return np.array([0.0, self._step, self._length], dtype=np.float32)


def _register(env_id: str, entry_point: str) -> None:
    if env_id not in gym.registry:  # importing the module twice must not warn "overriding"
        gym.register(id=env_id, entry_point=entry_point)


_register("SlotSignal-v0", "cleanrl_worker.testing.envs:SlotSignalEnv")
_register("NoRender-v0", "cleanrl_worker.testing.envs:NoRenderEnv")
_register("SlotSignalCrash-v0", "cleanrl_worker.testing.envs:SlotSignalCrashEnv")
