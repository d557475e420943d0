"""Where the fast lane and the recorder go in one slot's wrapper stack.

A CleanRL thunk builds a slot as ``gymnasium.make(env_id)`` plus the script's wrappers:
``RecordEpisodeStatistics``, then, per family, life-loss and reward-clipping wrappers (Atari),
reward normalization and clipping (continuous control), observation transforms. The slot's
episode, as CleanRL reports it, is the one ``RecordEpisodeStatistics`` sees right above
``gymnasium.make``: the base env's episode with the base env's rewards. So :class:`SlotThunk`
puts both lanes there:

    VectorStepCounter                       AsyncVectorEnv: counts the slot's vector steps
      script's wrappers (RecordEpisodeStatistics, EpisodicLifeEnv, NormalizeReward, ...)
        EpisodeRecorderWrapper              the slow lane: base episodes, raw rewards
          FastLaneEnvWrapper                watched slots only: frames, HUD of raw returns
            what gymnasium.make returned    (TimeLimit and the env)

While the script's thunk runs, ``gymnasium.make`` (also reached as ``gym.make``) is replaced by
one that remembers each env it returns and, for a watched slot, passes
``render_mode="rgb_array"`` unless the caller gave a render mode. After the thunk, the
outermost remembered env found in the returned wrapper chain (followed through each wrapper's
``env`` attribute) gets the lanes spliced right above it. Envs the thunk made and did not
return (a probe env to read spaces) are left alone. A thunk whose env does not come from a
``gymnasium.make`` call inside it (an env class built directly, ``from gymnasium import make``,
an env made before the thunk) is wrapped on top instead: its episodes are then the stack's.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from cleanrl_worker.settings.model import WorkerSettings

__all__ = ["SlotThunk", "collecting_made_envs", "splice_above"]

_log = logging.getLogger(__name__)


@contextlib.contextmanager
def collecting_made_envs(
    made: list[Any], render_mode: str | None = None, injected: list[Any] | None = None
) -> Iterator[None]:
    """Within the block, every env ``gymnasium.make`` returns is appended to ``made``; with
    ``render_mode``, ``make`` passes it unless the caller gave one (and appends the env to
    ``injected`` then). Scripts look ``make`` up on the module at call time, so swapping the
    module attribute reaches them."""
    import gymnasium

    original = gymnasium.make

    @functools.wraps(original)
    def make(*args: Any, **kwargs: Any) -> Any:
        inject = render_mode is not None and kwargs.get("render_mode") is None
        if inject:
            kwargs["render_mode"] = render_mode
            with warnings.catch_warnings():  # gymnasium's warnings about the mode we asked for
                warnings.filterwarnings("ignore", message=".*render_mode")
                env = original(*args, **kwargs)
        else:
            env = original(*args, **kwargs)
        made.append(env)
        if inject and injected is not None:
            injected.append(env)
        return env

    gymnasium.make = make
    try:
        yield
    finally:
        gymnasium.make = original


def splice_above(top: Any, made: list[Any], wrap: Callable[[Any], Any]) -> tuple[Any, bool]:
    """Put ``wrap(base)`` in place of ``base``, the outermost of ``made`` in ``top``'s chain.

    Returns the (possibly new) top of the chain and whether a made env was found; if none is,
    ``wrap(top)`` is the new top.
    """
    made_ids = {id(env) for env in made}
    parent: Any = None
    current: Any = top
    while current is not None:
        if id(current) in made_ids:
            wrapped = wrap(current)
            if parent is None:
                return wrapped, True
            parent.env = wrapped
            return top, True
        parent, current = current, vars(current).get("env")
    return wrap(top), False


class SlotThunk:
    """Builds one slot as the script's ``env_fn`` does, with the lanes at the bottom.

    Picklable without a shared ``sink`` (grid mode shares one in-process sink and is for
    ``SyncVectorEnv`` only); the recorder pickles as a reference that re-attaches in a spawned
    worker.

    Args:
        env_fn: the script's thunk.
        slot: the vector-env index.
        num_envs: envs in the vector env.
        settings: the run's settings.
        watched: stream this slot's frames.
        recorder: the slow lane's recorder (None: frames only).
        sink: the grid's shared frame sink, if any.
        next_step_autoreset: the vector env resets finished slots on the next step.
        cell: in a worker process, where the main process writes how the script counts
            ``global_step`` (``AsyncVectorEnv`` only).
        vector_steps: the vector env's step count, when the slot lives in the same process
            (``SyncVectorEnv``); None: the slot counts for itself with a
            :class:`~cleanrl_worker.slowlane.episodes.VectorStepCounter` on top.
    """

    def __init__(
        self,
        env_fn: Callable[[], Any],
        slot: int,
        num_envs: int,
        settings: WorkerSettings,
        *,
        watched: bool,
        recorder: Any = None,
        sink: Any = None,
        next_step_autoreset: bool = False,
        cell: str | None = None,
        vector_steps: Any = None,
    ) -> None:
        self.env_fn = env_fn
        self.slot = slot
        self.num_envs = num_envs
        self.settings = settings
        self.watched = watched
        self.recorder = recorder
        self.sink = sink
        self.next_step_autoreset = next_step_autoreset
        self.cell = cell
        self.vector_steps = vector_steps
        self.parent_pid = os.getpid()

    def __call__(self) -> Any:
        if os.getpid() != self.parent_pid:
            _exit_cleanly_on_sigterm()
        made: list[Any] = []
        self._injected: list[Any] = []
        try:
            with collecting_made_envs(made, "rgb_array" if self.watched else None, self._injected):
                env = self.env_fn()
        except Exception:
            if not self.watched:
                raise
            # e.g. an env taking no render_mode: build it as the script asked (the fast-lane
            # wrapper then says, in one line, that it has no frames)
            made.clear()
            self._injected.clear()
            with collecting_made_envs(made):
                env = self.env_fn()
        if self.recorder is None:
            env, found = splice_above(env, made, self._frames)
            self._note(found)
            return env
        from cleanrl_worker.slowlane.episodes import VectorStepCounter
        from cleanrl_worker.slowlane.global_step import VectorStepCount

        count = self.vector_steps if self.vector_steps is not None else VectorStepCount()

        def lanes(base: Any) -> Any:
            return self.recorder.wrap(
                self._frames(base), self.slot, self.num_envs, vector_steps=count, cell=self.cell
            )

        env, found = splice_above(env, made, lanes)
        self._note(found)
        if self.vector_steps is not None:  # counted by the vector env in this process
            return env
        return VectorStepCounter(env, count, next_step_autoreset=self.next_step_autoreset)

    def _frames(self, env: Any) -> Any:
        if not self.watched:
            return env
        from cleanrl_worker.fastlane.wrapper import FastLaneEnvWrapper

        injected = any(env is mine for mine in self._injected)
        if injected:  # the script renders nothing itself
            _skip_render_check(env)

        s = self.settings
        return FastLaneEnvWrapper(
            env,
            s.run_id,
            self.slot,
            frames=s.tunables.frames,
            ring=s.tunables.ring,
            sink=self.sink,
            quiet_render=injected,
        )

    def _note(self, found: bool) -> None:
        if not found:
            _log.info(
                "slot %d: no env from gymnasium.make in the script's thunk; recorded on top of "
                "its wrappers",
                self.slot,
            )


def _skip_render_check(env: Any) -> None:
    """Mark the render check of gymnasium's ``PassiveEnvChecker`` (added by ``make``) as done.

    The checker inspects the env at its first ``render()`` call and warns about what it finds
    (Atari envs under gymnasium 0.29 declare no ``render_fps``). Here the first ``render()`` is
    the fast lane's, on a render mode the fast lane asked for: its warnings would be lines the
    script alone never prints.
    """
    current = env
    while current is not None:
        if type(current).__name__ == "PassiveEnvChecker" and "checked_render" in vars(current):
            current.checked_render = True
        current = vars(current).get("env")


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
