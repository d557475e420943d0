"""EpisodeRecorderWrapper: records one vector-env slot's episodes (and optionally its steps).

The wrapper sits on a single env, *below* the vector env, so it sees exactly the ``reset()``
and ``step()`` calls of its slot, whatever the autoreset mode (gymnasium 0.29.1 resets inside
the terminal step, 1.x by default on the next step) and whatever the script does with
``infos``. In a hooked vector env it wraps what the slot's ``gymnasium.make`` returned, under
every wrapper of the script, so it records the base env's episodes with the base env's rewards:
what the script's innermost ``RecordEpisodeStatistics`` reports. Life-loss, reward clipping and
normalization wrappers above it change neither the episodes nor their returns.

It never renders. Per step it adds a float and an int; an :class:`EpisodeRollup` is emitted
when a step ends the episode (terminated or truncated). An episode cut short by a ``reset()``
before it ended is not a finished episode: it is counted in ``abandoned`` only.

``global_step``: the slot's :class:`VectorStepCounter` (the top of its stack) counts the vector
steps the slot took part in; the run's
:class:`~cleanrl_worker.slowlane.global_step.GlobalStepClock` maps that count to the script's
own ``global_step``, holding records until it knows how the script counts.

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

from cleanrl_worker.slowlane.global_step import GlobalStepClock, VectorStepCount
from gym_gui_bridge.protocol.records import (
    DEFAULT_AGENT_ID,
    EpisodeRollup,
    StepRecord,
    TelemetryEvent,
)

__all__ = [
    "EpisodeRecorderWrapper",
    "FrameSource",
    "VectorStepCounter",
    "action_to_jsonable",
    "find_frame_source",
]

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
        env: the env whose episodes are recorded: in a hooked vector env, what the slot's
            ``gymnasium.make`` returned (below the script's own wrappers).
        emit: called with each record, on the training thread; must not block.
        run_id: the run the records belong to.
        slot: the vector-env index of ``env``.
        agent_id: the agent the records belong to.
        record_steps: emit a StepRecord for every step.
        num_envs: envs in the vector env.
        frame_source: where ``frame_seq`` comes from; default: found in ``env``'s chain.
        vector_steps: the slot's vector steps, counted by a :class:`VectorStepCounter` at the
            top of the slot's stack; None: this wrapper's own steps are the vector steps.
        clock: maps vector steps to ``global_step``; None: ``steps x num_envs``.
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
        vector_steps: VectorStepCount | None = None,
        clock: GlobalStepClock | None = None,
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
        self._counts_itself = vector_steps is None
        self._vector_steps = VectorStepCount() if vector_steps is None else vector_steps
        self._clock = GlobalStepClock.fixed(num_envs) if clock is None else clock
        self._episode = 0  # index of the current episode
        self._return = 0.0
        self._length = 0
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
        if self._counts_itself:
            self._vector_steps.value += 1
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
        if self._counts_itself:
            self._vector_steps.value += 1
        now = time.time()
        frame_seq = frames.last_frame_seq if frames is not None else None
        clock = self._clock
        decided = clock.decided
        global_step = self._vector_steps.value  # held records carry n until mapped
        if decided:
            global_step = global_step * clock.scale + clock.offset
            if global_step < 0:
                global_step = 0
        record = StepRecord(  # positional: this runs on every step of the training thread
            self._run_id,
            self._slot,
            self._agent_id,
            self._step_seq,
            now,
            self._episode,
            self._length,
            global_step,
            action_to_jsonable(action),
            r,
            bool(terminated),
            bool(truncated),
            frame_seq if frame_seq != frame_before else None,
        )
        if decided:
            self._emit(record)
        else:
            clock.hold(record)
        self._step_seq += 1
        self._length += 1
        if terminated or truncated:
            self._end_episode(bool(terminated), bool(truncated), now)
        return result

    def _end_episode(self, terminated: bool, truncated: bool, now: float) -> None:
        n = self._vector_steps.value
        clock = self._clock
        record = EpisodeRollup(
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
            global_step=clock.global_step(n) if clock.decided else n,
            duration=now - self._started,
        )
        if clock.decided:
            self._emit(record)
        else:
            clock.hold(record, poll=True)
        self._episode_seq += 1
        self._episode += 1
        self._return = 0.0
        self._length = 0
        self._started = now


_NOT_GIVEN: Any = object()


class VectorStepCounter(gym.Wrapper):
    """The top of a recorded slot's stack: counts the vector steps the slot takes part in.

    Every ``step()`` is one; with next-step autoreset (gymnasium 1.x's default) the vector env
    resets a finished slot *instead of* stepping it, calling ``reset()`` without arguments,
    which is one too. A ``reset(seed=..., options=...)`` (the script's ``envs.reset``) is not,
    and neither is the same-step autoreset of gymnasium 0.29 (made inside the step).

    Args:
        env: the slot's env as the script built it.
        count: shared with the slot's :class:`EpisodeRecorderWrapper`.
        next_step_autoreset: the vector env autoresets on the next step.
    """

    def __init__(self, env: gym.Env, count: VectorStepCount, *, next_step_autoreset: bool) -> None:
        super().__init__(env)
        self.count = count
        self._next_step = next_step_autoreset

    def step(self, action: Any) -> Any:
        self.count.value += 1
        return self.env.step(action)

    def reset(self, *, seed: Any = _NOT_GIVEN, options: Any = _NOT_GIVEN) -> Any:
        if seed is _NOT_GIVEN and options is _NOT_GIVEN:
            if self._next_step:
                self.count.value += 1
            return self.env.reset()
        return self.env.reset(
            seed=None if seed is _NOT_GIVEN else seed,
            options=None if options is _NOT_GIVEN else options,
        )
