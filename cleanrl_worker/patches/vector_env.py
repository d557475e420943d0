"""Slot-aware vector envs: build the watched slot(s) with frames, leave the others alone.

:func:`install` patches the constructors of gymnasium's ``SyncVectorEnv`` and ``AsyncVectorEnv``
(0.29.1 and 1.x; both take ``env_fns``, a list of thunks, one per slot). If gymnasium is not
imported yet, a post-import hook (:mod:`cleanrl_worker.patches.post_import`) patches the two
classes the moment their modules finish executing, so activation never imports gymnasium (or
numpy) before the script does.

The first vector env the script builds is the one watched (CleanRL builds its training envs
first; evaluation envs built later are left alone). Its slots' thunks are replaced by
:class:`~cleanrl_worker.patches.slot_stack.SlotThunk`, which builds each slot as the script
does and splices the lanes right above what ``gymnasium.make`` returned: the recorder on every
slot, :class:`~cleanrl_worker.fastlane.wrapper.FastLaneEnvWrapper` under it on the watched
slot(s), which are made with ``render_mode="rgb_array"``. With ``AsyncVectorEnv`` the thunk
is pickled to the worker process and the wrappers run, record and publish there.

The watched vector env's ``step()`` calls are counted: the run's global_step clock
(:mod:`cleanrl_worker.slowlane.global_step`) compares that count with the steps of the
script's scalars to learn how the script counts ``global_step``.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from cleanrl_worker.errors import FastLaneSlotError
from cleanrl_worker.patches import hooked, post_import
from cleanrl_worker.patches.slot_stack import SlotThunk
from cleanrl_worker.settings.model import WorkerSettings

__all__ = ["SlotThunk", "install", "plan_or_refuse", "plan_slots"]

#: module -> vector-env class patched in it
_TARGETS = {
    "gymnasium.vector.sync_vector_env": "SyncVectorEnv",
    "gymnasium.vector.async_vector_env": "AsyncVectorEnv",
}
_PATCHED = "__cleanrl_fastlane_original_init__"


class _Hook:
    """Process-wide state of the hook: the settings and whether a vector env was claimed."""

    settings: WorkerSettings | None = None
    recorder: Any = (
        None  # the slow lane's recorder (cleanrl_worker.slowlane.recorder), if recording
    )
    #: the pending run (cleanrl_worker.run_start.PendingRun): started by the claimed vector env
    run: Any = None
    claimed = False
    watched: Any = None  # the claimed vector env
    vector_steps: Any = None  # its step() calls so far (a VectorStepCount)


def install(settings: WorkerSettings, recorder: Any = None, run: Any = None) -> None:
    """Patch the vector envs now if gymnasium is imported, else as soon as it is.

    ``recorder`` (a :class:`cleanrl_worker.slowlane.recorder.Recorder`, or anything with its
    ``wrap(env, slot, num_envs, vector_steps=..., cell=...)`` and ``clock``) records every slot
    of the watched vector env. ``run`` (a :class:`cleanrl_worker.run_start.PendingRun`) is
    started when the watched vector env is claimed, once its slots are known to exist, and gives
    the recorder; a slot that does not exist is then refused through it (one line,
    ``SystemExit(2)``) instead of raised.
    """
    _Hook.settings = settings
    _Hook.recorder = recorder
    _Hook.run = run
    for module_name in _TARGETS:
        post_import.when_imported(module_name, _patch)


def plan_slots(settings: WorkerSettings, num_envs: int, kind: str) -> tuple[list[int], bool]:
    """The slots to watch in a vector env of ``num_envs`` and whether they share a grid.

    Raises:
        FastLaneSlotError: the single watched slot does not exist.
    """
    if settings.video_mode == "off":
        return [], False
    if settings.video_mode == "grid":
        if kind == "SyncVectorEnv":
            return list(range(min(settings.grid, num_envs))), True
        print(
            f"cleanrl-fastlane: warning: grid mode needs SyncVectorEnv (its slots run in one "
            f"process); {kind} streams slot {settings.slot} alone",
            file=sys.stderr,
            flush=True,
        )
    if settings.slot >= num_envs:
        source = dict(settings.sources).get("slot", "FASTLANE_SLOT")
        raise FastLaneSlotError(
            f"{source}: expected a slot in 0..{num_envs - 1} (the script's {kind} has "
            f"num_envs={num_envs}), got {settings.slot}"
        )
    return [settings.slot], False


def plan_or_refuse(settings: WorkerSettings, num_envs: int, kind: str) -> tuple[list[int], bool]:
    """:func:`plan_slots`, with a slot that does not exist refused through the pending run
    (one line, ``SystemExit(2)``) when there is one, raised otherwise."""
    try:
        return plan_slots(settings, num_envs, kind)
    except FastLaneSlotError as error:
        if _Hook.run is None:
            raise
        _Hook.run.refuse(str(error))
        raise  # not reached: refuse() raises SystemExit


def _wrap_env_fns(
    kind: str,
    env_fns: Sequence[Callable[[], Any]],
    init: Callable[..., None],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> list[Callable[[], Any]]:
    settings = _Hook.settings
    env_fns = list(env_fns)
    if settings is None or not hooked.claim(kind, max(len(env_fns), 1)):
        return env_fns
    _Hook.claimed = True
    num_envs = len(env_fns)
    slots, grid = plan_or_refuse(settings, num_envs, kind)
    if _Hook.run is not None:
        _Hook.recorder = _Hook.run.start()  # before any slot is built or worker started
    sink = None
    if grid:
        from cleanrl_worker.fastlane.frame_targets import GridCompositor

        sink = GridCompositor(
            settings.run_id,
            tiles=len(slots),
            frames=settings.tunables.frames,
            ring=settings.tunables.ring,
        )
    recorder = _Hook.recorder
    cell = None
    in_process = None  # Sync: every slot reads the vector env's own count
    if recorder is not None:
        from cleanrl_worker.slowlane.global_step import VectorStepCount, cell_path

        _Hook.vector_steps = count = VectorStepCount()
        if kind == "AsyncVectorEnv":
            cell = cell_path(settings.run_id, os.getpid())
        else:
            in_process = count
        recorder.clock.watch(num_envs, lambda: count.value, cell)
    next_step = _next_step_autoreset(init, env_fns, args, kwargs)
    for slot in range(num_envs):
        if recorder is not None or slot in slots:  # every slot records its episodes
            env_fns[slot] = SlotThunk(
                env_fns[slot],
                slot,
                num_envs,
                settings,
                watched=slot in slots,
                recorder=recorder,
                sink=sink,
                next_step_autoreset=next_step,
                cell=cell,
                vector_steps=in_process,
            )
    return env_fns


def _next_step_autoreset(
    init: Callable[..., None],
    env_fns: list[Callable[[], Any]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> bool:
    """Whether the vector env resets a finished slot on the step after (gymnasium 1.x's
    ``AutoresetMode.NEXT_STEP``, its default) rather than inside the step (0.29, SAME_STEP)."""
    import inspect

    import gymnasium

    if int(gymnasium.__version__.split(".")[0]) < 1:
        return False
    try:
        bound = inspect.signature(init).bind(None, env_fns, *args, **kwargs)
    except TypeError:
        return True
    mode = bound.arguments.get("autoreset_mode")
    if mode is None:
        return True
    return str(getattr(mode, "value", mode)) == "NextStep"


def _patch(module: ModuleType) -> None:
    class_name = _TARGETS[module.__name__]
    cls = getattr(module, class_name)
    if _PATCHED in cls.__dict__:
        return
    original = cls.__init__
    original_step = cls.step

    @functools.wraps(original)
    def __init__(
        self: Any, env_fns: Sequence[Callable[[], Any]], *args: Any, **kwargs: Any
    ) -> None:
        claimed = _Hook.claimed
        original(self, _wrap_env_fns(class_name, env_fns, original, args, kwargs), *args, **kwargs)
        if not claimed and _Hook.claimed:
            _Hook.watched = self

    @functools.wraps(original_step)
    def step(self: Any, actions: Any) -> Any:
        if self is _Hook.watched and _Hook.vector_steps is not None:
            _Hook.vector_steps.value += 1
        return original_step(self, actions)

    setattr(cls, _PATCHED, original)
    cls.__init__ = __init__
    cls.step = step
