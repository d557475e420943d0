"""``global_step`` as the script counts it: from a slot's vector-step count to the script's step.

A vector step is one ``envs.step(actions)`` call. Each slot counts its own vector steps
(:class:`VectorStepCount`, kept by the wrapper at the top of the slot's stack); the main process
counts the watched vector env's ``step()`` calls. With ``n`` vector steps so far (the current one
included) and ``E`` envs, CleanRL's scripts count in one of two ways:

- ``after_step`` (PPO, PQN, ``ppo_continuous_action``): ``global_step += num_envs`` right
  before ``envs.step``, so the step's ``global_step`` is ``n * E``;
- ``loop_index`` (DQN, C51, SAC, TD3, DDPG, ``dqn_jax``): ``for global_step in range(...)``
  around ``envs.step``, so the step's ``global_step`` is ``n - 1``.

Which one a run uses is learned from the script's own scalars (:meth:`GlobalStepClock.observe`):
the first ``charts/episodic_return`` (or ``charts/episodic_length``) whose step equals one of
the two values for the vector steps seen at that moment decides; any other tag decides too if
its step (>= 1) matches. A run that logs no matching scalar uses ``env_steps`` (``n * E``, the
same numbers as ``after_step``, not confirmed by the script), decided when
``RECORDER_GLOBAL_STEP_HOLD`` records are waiting or when the run ends. The main process
records the decision as a scalar ``fastlane/global_step/<convention>`` (value: the vector steps
seen then; step: the ``global_step`` they map to).

Until the run's convention is known, a process holds its step and episode records (their
``global_step`` field carries ``n`` meanwhile) and releases them, mapped, in order, at the
decision. ``AsyncVectorEnv`` workers record their slots in their own processes: the main
process writes its decision into a small file (:func:`cell_path`) that the workers read
whenever they hold an episode and when they close; it is removed after the workers have exited.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any

__all__ = [
    "AFTER_STEP",
    "CONVENTIONS",
    "ENV_STEPS",
    "EPISODIC_TAGS",
    "LOOP_INDEX",
    "GlobalStepClock",
    "VectorStepCount",
    "cell_path",
]

AFTER_STEP = "after_step"  # global_step = n * num_envs
LOOP_INDEX = "loop_index"  # global_step = n - 1
ENV_STEPS = "env_steps"  # n * num_envs, not confirmed by the script's scalars
CONVENTIONS = (AFTER_STEP, LOOP_INDEX, ENV_STEPS)
#: Tags CleanRL logs once per finished episode at the step it ended: they decide first.
EPISODIC_TAGS = frozenset({"charts/episodic_return", "charts/episodic_length"})
#: Prefix of the scalar that records a run's convention.
MARKER_TAG = "fastlane/global_step/"


class VectorStepCount:
    """The vector steps one slot has taken part in (a step, or a next-step autoreset)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


def cell_path(run_id: str, main_pid: int) -> str:
    """The file through which the main process tells its vector-env workers the convention."""
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"cleanrl-fastlane.{run_id}.{main_pid}.global_step")


def _affine(convention: str, num_envs: int) -> tuple[int, int]:
    """(scale, offset) with ``global_step = scale * n + offset``."""
    return (1, -1) if convention == LOOP_INDEX else (num_envs, 0)


class GlobalStepClock:
    """One process's mapping from vector steps to the script's ``global_step``.

    Args:
        emit: where released records go (the recorder's ``emit``).
        hold_limit: records held at most before falling back to ``env_steps``.
        announce: main process only: ``announce(tag, value, step)`` records the decision as a
            scalar (the recorder's ``record_scalar``).
    """

    def __init__(
        self,
        emit: Callable[[Any], None],
        *,
        hold_limit: int,
        announce: Callable[[str, float, int], None] | None = None,
    ) -> None:
        if hold_limit < 1:
            raise ValueError(f"Expected hold_limit >= 1, got {hold_limit}")
        self._emit = emit
        self._hold_limit = hold_limit
        self._announce = announce
        self.decided = False
        self.convention: str | None = None
        self.num_envs = 1
        self.scale = 1
        self.offset = 0
        self._held: list[Any] = []
        self._vector_steps: Callable[[], int] | None = None  # main: the watched env's steps
        self._cell: str | None = None
        self._writes_cell = False

    @classmethod
    def fixed(cls, num_envs: int) -> GlobalStepClock:
        """A clock already decided on ``env_steps`` (a wrapper used on its own)."""
        clock = cls(lambda record: None, hold_limit=1)
        clock.num_envs = num_envs
        clock._set(ENV_STEPS)
        return clock

    # --- set-up ---------------------------------------------------------------------------------
    def watch(
        self, num_envs: int, vector_steps: Callable[[], int], cell: str | None = None
    ) -> None:
        """Main process: the watched vector env has ``num_envs`` envs and ``vector_steps()``
        steps so far; with ``cell``, its slots record in worker processes that read it."""
        self.num_envs = num_envs
        self._vector_steps = vector_steps
        if cell is not None:
            self._cell, self._writes_cell = cell, True
            _remove_after_the_workers(cell)

    def follow(self, num_envs: int, cell: str | None) -> None:
        """Worker process: learn the convention from the main process's ``cell`` file (None: no
        main process decides for this one, ``env_steps`` at once)."""
        self.num_envs = num_envs
        if cell is None:
            if not self.decided:
                self._decide(ENV_STEPS)
            return
        self._cell = cell
        self._poll()

    # --- the training thread --------------------------------------------------------------------
    def global_step(self, n: int) -> int:
        """The script's ``global_step`` of vector step ``n`` (decided clocks only)."""
        value = self.scale * n + self.offset
        return value if value > 0 else 0

    def hold(self, record: Any, poll: bool = False) -> None:
        """Keep ``record`` (its ``global_step`` holds ``n``) until the convention is known;
        ``poll``: look at the main process's cell file first (an episode ends)."""
        if poll and self._cell is not None and not self._writes_cell:
            self._poll()
            if self.decided:
                self._emit(record._replace(global_step=self.global_step(record.global_step)))
                return
        self._held.append(record)
        if len(self._held) >= self._hold_limit:
            self._decide(ENV_STEPS)

    def observe(self, tag: str, step: int) -> None:
        """Main process: the script logged ``tag`` at ``step``; decide if it tells how it counts."""
        if self.decided or self._vector_steps is None:
            return
        n = self._vector_steps()
        if n < 1:
            return
        episodic = tag in EPISODIC_TAGS
        if not episodic and (step < 1 or tag.startswith(MARKER_TAG)):
            return
        if step == n * self.num_envs:
            self._decide(AFTER_STEP, n)
        elif step == n - 1:
            self._decide(LOOP_INDEX, n)

    def settle(self) -> None:
        """The process ends: decide (from the cell, else ``env_steps``) and release everything."""
        if not self.decided and self._cell is not None and not self._writes_cell:
            self._poll()
        if not self.decided:  # the workers settle the same way: no cell to write
            self._decide(ENV_STEPS, tell_workers=False)

    def forget(self) -> None:
        """After a fork, in the child: the parent releases what it held; start undecided."""
        self._held = []
        self.decided, self.convention = False, None
        self._vector_steps, self._cell, self._writes_cell = None, None, False
        self._announce = None  # the child records no scalars

    # --- internals ------------------------------------------------------------------------------
    def _set(self, convention: str) -> None:
        self.scale, self.offset = _affine(convention, self.num_envs)
        self.convention = convention
        self.decided = True

    def _decide(self, convention: str, n: int | None = None, tell_workers: bool = True) -> None:
        self._set(convention)
        if tell_workers and self._writes_cell and self._cell is not None:
            _write_cell(self._cell, convention)
        if self._announce is not None and self._vector_steps is not None:  # a hooked env
            steps = self._vector_steps() if n is None else n
            self._announce(f"{MARKER_TAG}{convention}", float(steps), self.global_step(steps))
        held, self._held = self._held, []
        emit, global_step = self._emit, self.global_step
        for record in held:
            emit(record._replace(global_step=global_step(record.global_step)))

    def _poll(self) -> None:
        if self._cell is None:
            return
        try:
            with open(self._cell, encoding="ascii") as cell:
                convention = cell.read().strip()
        except OSError:
            return
        if convention in CONVENTIONS:
            self._decide(convention)


def _write_cell(path: str, convention: str) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "w", encoding="ascii") as cell:
            cell.write(convention + "\n")
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _remove_after_the_workers(path: str) -> None:
    """Remove ``path`` at exit, after multiprocessing has joined the vector-env workers (a
    finalizer with a negative priority runs in multiprocessing's last exit pass)."""
    import multiprocessing.util

    multiprocessing.util.Finalize(None, _unlink, args=(path,), exitpriority=-10)


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
