"""Episodes of every slot of a vector env, read from its batched step results (envpool).

Where the hooks cannot wrap each slot's env (envpool builds its envs in C++), the recorder
reads the vector env's results instead: per step a batch of rewards, ``terminated`` and
``truncated`` flags, and the slot each result belongs to (envpool's ``info["env_id"]``; all
slots in order when the vector env steps them all). :class:`VectorEpisodes` keeps each slot's
episode and emits the same records as the per-slot
:class:`~cleanrl_worker.slowlane.episodes.EpisodeRecorderWrapper`: an ``EpisodeRollup`` per
finished episode of every slot, and ``StepRecord`` s of the slots asked for.

What counts, for vector envs that reset a finished slot on its next step (envpool):

- **Reset results are not steps.** The result that follows a done (and a result whose
  ``elapsed`` is 0) is the slot's reset: its action was ignored. It adds nothing to the
  episode's length or return and records no step; it does count in ``global_step``.
- **An episode is the game, not a life.** Given ``lives`` (Atari), a done with lives left and
  no game over (``game_over``, envpool's ``info["terminated"]``) and no truncation is a lost
  life under an episodic-life setting: the episode goes on. Its return sums the ``rewards``
  given, which the caller takes before any clipping (envpool's ``info["reward"]``).
- **global_step** is the number of results the script has received (all slots, resets
  included) after the batch: CleanRL's ``global_step += num_envs`` per vector step, and
  ``+= len(env_id)`` per batch of an asynchronous pool.

An episode cut short by a reset of its slot is not recorded (counted in ``abandoned``).

>>> import numpy as np
>>> records = []
>>> episodes = VectorEpisodes(2, records.append, run_id="doc")
>>> episodes.reset(np.arange(2))
>>> ids = np.arange(2)
>>> _ = episodes.step(ids, np.array([1.0, 2.0]), np.array([False, True]), np.zeros(2, bool))
>>> [(r.slot, r.ep_return, r.length, r.global_step) for r in records]
[(1, 2.0, 1, 2)]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cleanrl_worker.slowlane.episodes import action_to_jsonable
from gym_gui_bridge.protocol.records import (
    DEFAULT_AGENT_ID,
    EpisodeRollup,
    StepRecord,
    TelemetryEvent,
)

__all__ = ["StepOutcome", "VectorEpisodes"]


@dataclass(frozen=True)
class StepOutcome:
    """What one batch of results meant, per result (index ``i`` is slot ``env_ids[i]``).

    ``stepped``: the result is a step (not a reset); ``ended``: it ended the slot's episode;
    ``episode`` / ``episode_step``: the episode it belongs to and its steps so far (this one
    included); ``returns``: that episode's return so far (this step included); ``global_step``:
    after this batch; ``in_order``: the batch has every slot, in order.
    """

    env_ids: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    stepped: np.ndarray
    ended: np.ndarray
    episode: np.ndarray
    episode_step: np.ndarray
    returns: np.ndarray
    global_step: int
    in_order: bool = False  # env_ids is 0..num_envs-1

    def index_of(self, slot: int) -> int | None:
        """The index of ``slot``'s result in this batch, None if it has none."""
        if self.in_order:
            return slot
        where = np.flatnonzero(self.env_ids == slot)
        return int(where[0]) if len(where) else None


class VectorEpisodes:
    """Every slot's episodes of a vector env, from its batched results.

    Args:
        num_envs: the vector env's slots.
        emit: called with each record, on the training thread; must not block. None keeps
            the bookkeeping (for the HUD) and records nothing.
        run_id: the run the records belong to.
        agent_id: the agent the records belong to.
        step_slots: slots whose steps are recorded as ``StepRecord`` s.
        clock: wall-clock seconds (``time.time``), injectable for tests.
    """

    def __init__(
        self,
        num_envs: int,
        emit: Callable[[TelemetryEvent], None] | None,
        *,
        run_id: str,
        agent_id: str = DEFAULT_AGENT_ID,
        step_slots: Collection[int] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"Expected num_envs >= 1, got {num_envs}")
        self.num_envs = num_envs
        self._emit = emit
        self._run_id = run_id
        self._agent_id = agent_id
        self._step_slots = frozenset(k for k in step_slots if 0 <= k < num_envs)
        self._clock = clock
        self._returns = np.zeros(num_envs, np.float64)
        self._lengths = np.zeros(num_envs, np.int64)
        self._episodes = np.zeros(num_envs, np.int64)
        # the slot's next result is its reset (after a done, and before its first reset)
        self._resetting = np.ones(num_envs, bool)
        self._started = np.full(num_envs, clock())
        self._episode_seq = [0] * num_envs
        self._step_seq = [0] * num_envs
        self._actions: dict[int, Any] = {}  # step slot -> its last action
        self._in_order_bytes: dict[str, bytes] = {}  # dtype -> bytes of 0..num_envs-1
        self.transitions = 0  # results received, all slots, resets included
        self.finished = 0  # episodes recorded
        self.abandoned = 0  # episodes cut short by a reset of their slot

    def reset(self, env_ids: np.ndarray) -> None:
        """Slots ``env_ids`` were reset by the script: their next result is a step."""
        ids = np.asarray(env_ids, np.int64)
        cut = ids[self._lengths[ids] > 0]
        self.abandoned += len(cut)
        self._episodes[cut] += 1
        self._returns[ids] = 0.0
        self._lengths[ids] = 0
        self._resetting[ids] = False
        self._started[ids] = self._clock()

    def _in_order(self, dtype: np.dtype[Any]) -> bytes:
        """The bytes of ``0..num_envs-1`` as ``dtype`` (a batch with every slot in order)."""
        key = dtype.str
        cached = self._in_order_bytes.get(key)
        if cached is None:
            cached = self._in_order_bytes[key] = np.arange(self.num_envs, dtype=dtype).tobytes()
        return cached

    def episode_of(self, slot: int) -> int:
        """The index of ``slot``'s current episode."""
        return int(self._episodes[slot])

    def sent(self, action: Any, env_ids: np.ndarray | None) -> None:
        """The script sent ``action`` (a batch, index ``i`` for slot ``env_ids[i]``, all slots
        in order when ``env_ids`` is None): kept for the step slots' ``StepRecord``."""
        if not self._step_slots or not isinstance(action, np.ndarray) or not action.ndim:
            return
        for slot in self._step_slots:
            if env_ids is None:
                index = slot if slot < len(action) else -1
            else:
                where = np.flatnonzero(np.asarray(env_ids) == slot)
                index = int(where[0]) if len(where) else -1
            if index >= 0:
                self._actions[slot] = action[index]

    def step(
        self,
        env_ids: np.ndarray,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        *,
        lives: np.ndarray | None = None,
        game_over: np.ndarray | None = None,
        elapsed: np.ndarray | None = None,
    ) -> StepOutcome:
        """One batch of results; emits the rollups of the episodes it ended (then call
        :meth:`record_steps` with the outcome, once its frames are published).

        Args:
            env_ids: the slot of each result (unique within the batch).
            rewards: each result's reward, before any clipping.
            terminated: the vector env's ``terminated`` flags (a lost life may set them).
            truncated: its ``truncated`` flags.
            lives: lives left after each result (Atari), or None.
            game_over: whether each result ended the game (Atari), or None.
            elapsed: the slot's steps since its reset (envpool's ``elapsed_step``), or None.
        """
        ids = np.asarray(env_ids)
        terminated = np.asarray(terminated, bool)
        truncated = np.asarray(truncated, bool)
        rewards = np.asarray(rewards, np.float64)
        self.transitions += len(ids)
        # every slot in order (a pool stepping all its envs): views instead of gathers
        in_order = len(ids) == self.num_envs and ids.tobytes() == self._in_order(ids.dtype)
        at: slice | np.ndarray = slice(None) if in_order else ids
        resetting = self._resetting[at]
        if elapsed is not None:
            resetting = resetting | (np.asarray(elapsed) == 0)
        stepped = ~resetting
        done = terminated | truncated
        ended = done & stepped
        if lives is not None:
            life_lost = ~truncated & (np.asarray(lives) > 0)
            if game_over is not None:
                life_lost &= ~np.asarray(game_over, bool)
            ended &= ~life_lost
        self._returns[at] += rewards * stepped
        self._lengths[at] += stepped
        self._resetting[at] = done
        outcome = StepOutcome(
            env_ids=ids,
            rewards=rewards,
            terminated=terminated,
            truncated=truncated,
            stepped=stepped,
            ended=ended,
            episode=self._episodes[at].copy(),
            episode_step=self._lengths[at].copy(),
            returns=self._returns[at].copy(),
            global_step=self.transitions,
            in_order=in_order,
        )
        if ended.any():
            for i in np.flatnonzero(ended).tolist():
                self._end_episode(int(ids[i]), bool(terminated[i]), bool(truncated[i]))
        return outcome

    def record_steps(
        self, outcome: StepOutcome, frame_seqs: Mapping[int, int] | None = None
    ) -> None:
        """Emit the ``StepRecord`` s of the step slots in ``outcome`` (resets record none).

        Args:
            outcome: what :meth:`step` returned for the batch.
            frame_seqs: slot -> fast-lane seq of the frame its result published, if any.
        """
        emit = self._emit
        if emit is None or not self._step_slots:
            return
        now = self._clock()
        for slot in self._step_slots:
            i = outcome.index_of(slot)
            if i is None or not outcome.stepped[i]:
                continue
            ended = bool(outcome.ended[i])
            seq = self._step_seq[slot]
            self._step_seq[slot] = seq + 1
            emit(
                StepRecord(  # positional: this runs on the training thread
                    self._run_id,
                    slot,
                    self._agent_id,
                    seq,
                    now,
                    int(outcome.episode[i]),
                    int(outcome.episode_step[i]) - 1,
                    outcome.global_step,
                    action_to_jsonable(self._actions.get(slot)),
                    float(outcome.rewards[i]),
                    ended and bool(outcome.terminated[i]),
                    ended and bool(outcome.truncated[i]),
                    frame_seqs.get(slot) if frame_seqs else None,
                )
            )

    # --- internals --------------------------------------------------------------------------

    def _end_episode(self, slot: int, terminated: bool, truncated: bool) -> None:
        now = self._clock()
        if self._emit is not None:
            seq = self._episode_seq[slot]
            self._episode_seq[slot] = seq + 1
            self._emit(
                EpisodeRollup(
                    run_id=self._run_id,
                    slot=slot,
                    agent_id=self._agent_id,
                    seq=seq,
                    wall_time=now,
                    episode=int(self._episodes[slot]),
                    ep_return=float(self._returns[slot]),
                    length=int(self._lengths[slot]),
                    terminated=terminated,
                    truncated=truncated,
                    global_step=self.transitions,
                    duration=max(0.0, now - float(self._started[slot])),
                )
            )
        self.finished += 1
        self._episodes[slot] += 1
        self._returns[slot] = 0.0
        self._lengths[slot] = 0
        self._started[slot] = now
