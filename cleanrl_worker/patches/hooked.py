"""Which vector env this run hooked, and the one line for a vector env the hooks cannot see.

A run watches one vector env: the first that a hook claims (gymnasium's ``SyncVectorEnv`` /
``AsyncVectorEnv`` in :mod:`cleanrl_worker.patches.vector_env`, ``envpool.make`` in
:mod:`cleanrl_worker.patches.envpool`). :func:`claim` is that moment, once per process; the
listeners registered with :func:`on_hooked` are called there (e.g. to start the run's records
or print what the run will show). :func:`current` tells what was hooked, if anything.

When the script trains on a vector env none of the hooks can see (a custom class, JAX envs),
:func:`report_unseen` prints one line saying so and what still works, once per process
(:mod:`cleanrl_worker.patches.unhooked` decides when). :func:`frames_expected` is the state a
start-up or exit line can quote: ``None`` while nothing is known yet, ``True`` once a vector
env was hooked, ``False`` once an unseen one was reported.

Imports nothing beyond the standard library: hooks call it on the script's thread.

>>> _reset_for_tests()
>>> claim("SyncVectorEnv", 4), claim("SyncVectorEnv", 2)
(True, False)
>>> current()
HookedVectorEnv(kind='SyncVectorEnv', num_envs=4)
>>> _reset_for_tests()
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "HOOKED_KINDS",
    "HookedVectorEnv",
    "claim",
    "current",
    "frames_expected",
    "on_hooked",
    "report_unseen",
    "unseen_message",
]

#: What the hooks can see, as the unseen line names it.
HOOKED_KINDS = "gymnasium's SyncVectorEnv / AsyncVectorEnv and envpool.make"
_PREFIX = "cleanrl-fastlane"


@dataclass(frozen=True)
class HookedVectorEnv:
    """The vector env a run watches: its kind (``"SyncVectorEnv"``, ``"AsyncVectorEnv"``,
    ``"envpool"``) and its number of slots."""

    kind: str
    num_envs: int


Listener = Callable[[HookedVectorEnv], object]

_lock = threading.Lock()  # guards _hooked, _unseen_reported and _listeners
_hooked: HookedVectorEnv | None = None
_unseen_reported = False
_listeners: list[Listener] = []


def claim(kind: str, num_envs: int) -> bool:
    """Claim the run's watched vector env: True for the first call of the process, then False.

    The listeners of :func:`on_hooked` run (outside the lock, in registration order) on the
    first call only; an exception in one propagates to the hook that claimed.

    Raises:
        ValueError: ``num_envs`` is below 1.
    """
    global _hooked
    if num_envs < 1:
        raise ValueError(f"Expected num_envs >= 1, got {num_envs} ({kind})")
    with _lock:
        if _hooked is not None:
            return False
        _hooked = HookedVectorEnv(kind, num_envs)
        listeners = list(_listeners)
    for listener in listeners:
        listener(_hooked)
    return True


def current() -> HookedVectorEnv | None:
    """The vector env this process hooked, or None."""
    return _hooked


def on_hooked(listener: Listener) -> None:
    """Call ``listener(hooked)`` when a vector env is claimed (at once if one already was)."""
    with _lock:
        if listener not in _listeners:
            _listeners.append(listener)
        hooked = _hooked
    if hooked is not None:
        listener(hooked)


def frames_expected() -> bool | None:
    """None while nothing was hooked or reported, True once hooked, False once reported unseen.

    A line printed at start-up can promise frames only when this is True; at exit, a run with
    None hooked nothing at all.
    """
    if _hooked is not None:
        return True
    return False if _unseen_reported else None


def unseen_message(subject: str, run_id: str, recording: bool) -> str:
    """The line for a vector env the hooks cannot see.

    Args:
        subject: what was seen, as the start of a sentence
            (``"MyVecEnv is a vector env the fast lane cannot hook"``).
        run_id: the run.
        recording: whether the slow lane records (False with ``FASTLANE_ONLY``).

    >>> line = unseen_message("MyVecEnv is a vector env the fast lane cannot hook", "r1", False)
    >>> line.endswith("run r1 gets no frames, and nothing is recorded (FASTLANE_ONLY)")
    True
    """
    if recording:
        still = (
            "no frames and no episodes; the script's add_scalar scalars and the run's start "
            "and end are still recorded"
        )
    else:
        still = "no frames, and nothing is recorded (FASTLANE_ONLY)"
    return f"{_PREFIX}: {subject} (the hooks see {HOOKED_KINDS}): run {run_id} gets {still}"


def report_unseen(subject: str, run_id: str, recording: bool) -> bool:
    """Print :func:`unseen_message` on stderr once per process, unless a vector env was hooked.

    Returns whether this call printed it.
    """
    global _unseen_reported
    with _lock:
        if _hooked is not None or _unseen_reported:
            return False
        _unseen_reported = True
    print(unseen_message(subject, run_id, recording), file=sys.stderr, flush=True)
    return True


def _reset_for_tests() -> None:
    """Forget the claim, the report and the listeners (tests of the hooks in one process)."""
    global _hooked, _unseen_reported
    with _lock:
        _hooked = None
        _unseen_reported = False
        _listeners.clear()
