"""Slot-aware vector envs: build the watched slot(s) with frames, leave the others alone.

:func:`install` patches the constructors of gymnasium's ``SyncVectorEnv`` and ``AsyncVectorEnv``
(0.29.1 and 1.x; both take ``env_fns``, a list of thunks, one per slot). If gymnasium is not
imported yet, a post-import hook (:mod:`cleanrl_worker.patches.post_import`) patches the two
classes the moment their modules finish executing, so activation never imports gymnasium (or
numpy) before the script does.

The first vector env the script builds is the one watched (CleanRL builds its training envs
first; evaluation envs built later are left alone). Its watched slots' thunks are replaced by
a :class:`SlotThunk` that calls the script's thunk with ``gymnasium.make`` temporarily passing
``render_mode="rgb_array"`` (unless the script asked for a render mode itself) and wraps the
result in :class:`~cleanrl_worker.fastlane.wrapper.FastLaneEnvWrapper`. The other slots are
built exactly as the script asked. With ``AsyncVectorEnv`` the thunk is pickled to the worker process and the
wrapper runs, and publishes, there.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any

from cleanrl_worker.errors import FastLaneSlotError
from cleanrl_worker.patches import hooked, post_import
from cleanrl_worker.settings.model import WorkerSettings

__all__ = ["RecordedThunk", "SlotThunk", "install", "plan_or_refuse", "plan_slots"]

#: module -> vector-env class patched in it
_TARGETS = {
    "gymnasium.vector.sync_vector_env": "SyncVectorEnv",
    "gymnasium.vector.async_vector_env": "AsyncVectorEnv",
}
_PATCHED = "__cleanrl_fastlane_original_init__"


class _Hook:
    """Process-wide state of the hook: the settings and the recorder (the claim of the run's
    vector env is :func:`cleanrl_worker.patches.hooked.claim`)."""

    settings: WorkerSettings | None = None
    recorder: Any = (
        None  # the slow lane's recorder (cleanrl_worker.slowlane.recorder), if recording
    )
    #: the pending run (cleanrl_worker.run_start.PendingRun): started by the claimed vector env
    run: Any = None


def install(settings: WorkerSettings, recorder: Any = None, run: Any = None) -> None:
    """Patch the vector envs now if gymnasium is imported, else as soon as it is.

    ``recorder`` (a :class:`cleanrl_worker.slowlane.recorder.Recorder` or anything with the same
    ``wrap(env, slot, num_envs=...)``) wraps every slot of the watched vector env. ``run`` (a
    :class:`cleanrl_worker.run_start.PendingRun`) is started when the watched vector env is
    claimed, once its slots are known to exist, and gives the recorder; a slot that does not
    exist is then refused through it (one line, ``SystemExit(2)``) instead of raised.
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


class SlotThunk:
    """Builds slot ``slot`` with ``render_mode="rgb_array"`` and wraps it. Picklable without a
    shared ``sink`` (grid mode shares one in-process sink and is for ``SyncVectorEnv`` only)."""

    def __init__(
        self,
        env_fn: Callable[[], Any],
        slot: int,
        settings: WorkerSettings,
        sink: Any = None,
    ) -> None:
        self.env_fn = env_fn
        self.slot = slot
        self.settings = settings
        self.sink = sink
        self.parent_pid = os.getpid()

    def __call__(self) -> Any:
        from cleanrl_worker.fastlane.wrapper import FastLaneEnvWrapper

        if os.getpid() != self.parent_pid:
            _exit_cleanly_on_sigterm()

        try:
            with render_mode_injected("rgb_array"):
                env = self.env_fn()
        except Exception:  # e.g. an env taking no render_mode: build it as the script asked
            env = self.env_fn()  # (the wrapper then says, in one line, that it has no frames)
        s = self.settings
        return FastLaneEnvWrapper(
            env, s.run_id, self.slot, frames=s.tunables.frames, ring=s.tunables.ring, sink=self.sink
        )


class RecordedThunk:
    """Builds a slot as ``env_fn`` does, then wraps it in the slow lane's episode recorder
    (outermost, so it sees the fast-lane wrapper's ``last_frame_seq``). Picklable: the
    recorder pickles as a reference that re-attaches in a spawned worker."""

    def __init__(self, env_fn: Callable[[], Any], slot: int, num_envs: int, recorder: Any) -> None:
        self.env_fn = env_fn
        self.slot = slot
        self.num_envs = num_envs
        self.recorder = recorder

    def __call__(self) -> Any:
        return self.recorder.wrap(self.env_fn(), self.slot, num_envs=self.num_envs)


def _exit_cleanly_on_sigterm() -> None:
    """In a vector-env worker process: turn SIGTERM into ``SystemExit``.

    ``AsyncVectorEnv`` terminates its workers with SIGTERM when the main process dies without
    closing them (an exception or Ctrl-C in the script). By default that kills the worker
    before its env is closed and the ring stays behind; as ``SystemExit`` the worker's own
    ``finally: env.close()`` runs and the wrapper unlinks the ring. A handler the process
    already has is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_system_exit)


def _raise_system_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # the shell's convention for "killed by signal N"


@contextlib.contextmanager
def render_mode_injected(render_mode: str) -> Iterator[None]:
    """Within the block, ``gymnasium.make(...)`` (also reached as ``gym.make``) passes
    ``render_mode`` unless the caller gave one. Scripts look ``make`` up on the module at call
    time, so swapping the module attribute reaches them; ``from gymnasium import make`` does not.
    Warnings gymnasium raises about the injected mode (an env that does not list it) are not
    shown: the script did not ask for it.
    """
    import gymnasium

    original = gymnasium.make

    @functools.wraps(original)
    def make(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("render_mode") is not None:
            return original(*args, **kwargs)
        kwargs["render_mode"] = render_mode
        with warnings.catch_warnings():  # gymnasium's warnings about the mode we asked for
            warnings.filterwarnings("ignore", message=".*render_mode")
            return original(*args, **kwargs)

    gymnasium.make = make
    try:
        yield
    finally:
        gymnasium.make = original


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


def _wrap_env_fns(kind: str, env_fns: Sequence[Callable[[], Any]]) -> list[Callable[[], Any]]:
    settings = _Hook.settings
    env_fns = list(env_fns)
    if settings is None or not hooked.claim(kind, max(len(env_fns), 1)):
        return env_fns
    slots, grid = plan_or_refuse(settings, len(env_fns), kind)
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
    for slot in slots:
        env_fns[slot] = SlotThunk(env_fns[slot], slot, settings, sink)
    recorder = _Hook.recorder
    if recorder is not None:  # every slot records its episodes
        env_fns = [RecordedThunk(fn, k, len(env_fns), recorder) for k, fn in enumerate(env_fns)]
    return env_fns


def _patch(module: ModuleType) -> None:
    class_name = _TARGETS[module.__name__]
    cls = getattr(module, class_name)
    if _PATCHED in cls.__dict__:
        return
    original = cls.__init__

    @functools.wraps(original)
    def __init__(
        self: Any, env_fns: Sequence[Callable[[], Any]], *args: Any, **kwargs: Any
    ) -> None:
        original(self, _wrap_env_fns(class_name, env_fns), *args, **kwargs)

    setattr(cls, _PATCHED, original)
    cls.__init__ = __init__
