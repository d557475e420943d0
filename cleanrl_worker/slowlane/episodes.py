"""EpisodeRecorderWrapper: records one vector-env slot's episodes (and optionally its steps).

The wrapper sits on a single env, *below* the vector env, so it sees exactly the ``reset()``
and ``step()`` calls of its slot, whatever the autoreset mode (gymnasium 0.29.1 resets inside
the terminal step, 1.x by default on the next step) and whatever the script does with
``infos``. It never renders. Per step it adds a float and an int; an :class:`EpisodeRollup` is
emitted when a step ends the episode (terminated or truncated). An episode cut short by a
``reset()`` before it ended is not a finished episode: it is counted in ``abandoned`` only.

Frames (the tiny protocol with the fast lane): any wrapper *below* this one in the chain that
has an attribute ``last_frame_seq`` (``int | None``: the fast-lane seq of the newest frame it
published, None before the first) is a frame source. If that value changed during a step, the
step produced that frame and its :class:`StepRecord` carries it as ``frame_seq``. So wrap the
FastLaneEnvWrapper first and this wrapper around it (``Recorder.wrap`` does). A frame source
can also be passed explicitly.

>>> import gymnasium as gym
>>> records = []
>>> env = EpisodeRecorderWrapper(gym.make("CartPole-v1"), records.append, run_id="doc", slot=0)
>>> _ = env.reset(seed=0)
>>> done = False
>>> while not done:
...     _, _, terminated, truncated, _ = env.step(0)
...     done = terminated or truncated
>>> [(r.kind, r.episode, r.length == r.ep_return) for r in records]
[('episode', 0, True)]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import gymnasium as gym

from gym_gui_bridge.protocol.records import (
    DEFAULT_AGENT_ID,
    EpisodeRollup,
    StepRecord,
    TelemetryEvent,
)

__all__ = ["EpisodeRecorderWrapper", "FrameSource", "action_to_jsonable", "find_frame_source"]

FRAME_SEQ_ATTRIBUTE = "last_frame_seq"


class FrameSource(Protocol):
    """Anything exposing the fast-lane seq of the newest frame it published (None: none yet)."""

    last_frame_seq: int | None


def find_frame_source(env: Any) -> FrameSource | None:
    """The outermost env or wrapper in ``env``'s chain that defines ``last_frame_seq``.

    Only attributes defined on the object itself or its class count: gymnasium 0.29 wrappers
    forward unknown attributes to the inner env, which would hide where the value lives.
    """
    current = env
    while current is not None:
        if FRAME_SEQ_ATTRIBUTE in vars(current) or hasattr(type(current), FRAME_SEQ_ATTRIBUTE):
            source: FrameSource = current
            return source
        current = vars(current).get("env")
    return None


def action_to_jsonable(action: Any) -> Any:
    """An action as a JSON-able value: int, float, (nested) list of numbers, or None.

    >>> import numpy as np
    >>> action_to_jsonable(np.int64(3)), action_to_jsonable(np.array([0.5, 1.0])), action_to_jsonable({"a": 1})
    (3, [0.5, 1.0], None)
    """
    kind = type(action)
    if kind is int or kind is float:
        return action
    if kind is bool:
        return int(action)
    tolist = getattr(action, "tolist", None)
    if tolist is not None:  # numpy scalars and arrays, torch tensors
        value = tolist()
        if type(value) is bool:
            return int(value)
        return value if type(value) in (int, float, list) else None
    if isinstance(action, (list, tuple)):
        return [action_to_jsonable(item) for item in action]
    return None


class EpisodeRecorderWrapper(gym.Wrapper):
    """Emits an EpisodeRollup per finished episode, and a StepRecord per step if asked.

    Args:
        env: the single env of one vector slot.
        emit: called with each record, on the training thread; must not block.
        run_id: the run the records belong to.
        slot: the vector-env index of ``env``.
        agent_id: the agent the records belong to.
        record_steps: emit a StepRecord for every step.
        num_envs: envs in the vector env, for ``global_step`` (slot transitions x num_envs).
        frame_source: where ``frame_seq`` comes from; default: found in ``env``'s chain.
    """

    def __init__(
        self,
        env: gym.Env,
        emit: Callable[[TelemetryEvent], None],
        *,
        run_id: str,
        slot: int,
        agent_id: str = DEFAULT_AGENT_ID,
        record_steps: bool = False,
        num_envs: int = 1,
        frame_source: FrameSource | None = None,
    ) -> None:
        super().__init__(env)
        if slot < 0:
            raise ValueError(f"Expected slot >= 0, got {slot}")
        if num_envs < 1:
            raise ValueError(f"Expected num_envs >= 1, got {num_envs}")
        self._emit = emit
        self._run_id = run_id
        self._slot = slot
        self._agent_id = agent_id
        self._record_steps = record_steps
        self._num_envs = num_envs
        self._frames = frame_source if frame_source is not None else find_frame_source(env)
        self._episode = 0  # index of the current episode
        self._return = 0.0
        self._length = 0
        self._transitions = 0  # all steps of this slot so far
        self._episode_seq = 0
        self._step_seq = 0
        self._started = time.time()
        self.abandoned = 0  # episodes cut short by reset() before they ended

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        result = self.env.reset(seed=seed, options=options)
        if self._length:  # the previous episode never ended: it is not a finished episode
            self.abandoned += 1
            self._episode += 1
        self._return = 0.0
        self._length = 0
        self._started = time.time()
        return result

    def step(self, action: Any) -> Any:
        if self._record_steps:
            return self._step_recorded(action)
        result = self.env.step(action)  # the hot path of every unwatched slot: keep it short
        self._return += float(result[1])
        self._length += 1
        self._transitions += 1
        if result[2] or result[3]:
            self._end_episode(bool(result[2]), bool(result[3]), time.time())
        return result

    def _step_recorded(self, action: Any) -> Any:
        frames = self._frames
        frame_before = frames.last_frame_seq if frames is not None else None
        result = self.env.step(action)
        _, reward, terminated, truncated, _ = result
        r = float(reward)
        self._return += r
        self._transitions += 1
        now = time.time()
        frame_seq = frames.last_frame_seq if frames is not None else None
        self._emit(  # positional: this runs on every step of the training thread
            StepRecord(
                self._run_id,
                self._slot,
                self._agent_id,
                self._step_seq,
                now,
                self._episode,
                self._length,
                self._transitions * self._num_envs,
                action_to_jsonable(action),
                r,
                bool(terminated),
                bool(truncated),
                frame_seq if frame_seq != frame_before else None,
            )
        )
        self._step_seq += 1
        self._length += 1
        if terminated or truncated:
            self._end_episode(bool(terminated), bool(truncated), now)
        return result

    def _end_episode(self, terminated: bool, truncated: bool, now: float) -> None:
        self._emit(
            EpisodeRollup(
                run_id=self._run_id,
                slot=self._slot,
                agent_id=self._agent_id,
                seq=self._episode_seq,
                wall_time=now,
                episode=self._episode,
                ep_return=self._return,
                length=self._length,
                terminated=terminated,
                truncated=truncated,
                global_step=self._transitions * self._num_envs,
                duration=now - self._started,
            )
        )
        self._episode_seq += 1
        self._episode += 1
        self._return = 0.0
        self._length = 0
        self._started = now
