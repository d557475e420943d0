"""Bounded waits on conditions: what the tests do instead of sleeping a fixed time.

A test that waits for another process or thread polls the condition it needs (a row stored, a
line printed, a file written) until it holds or a generous bound passes. The bound only decides
how long a broken product may hang a test, never whether a working one passes: on a loaded
machine the wait is simply longer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["POLL_S", "WAIT_MS", "WAIT_S", "wait_until"]

#: Bound on every wait for another process or thread (the machine may be shared and loaded).
WAIT_S = 60.0
#: The same bound in milliseconds, for ``qtbot.waitUntil``.
WAIT_MS = round(WAIT_S * 1000)
#: Pause between two checks of a condition.
POLL_S = 0.02

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T], timeout: float = WAIT_S, what: str = "", poll: float = POLL_S
) -> T:
    """Call ``predicate`` until it returns a true value, and return that value.

    Raises:
        AssertionError: ``predicate`` stayed false for ``timeout`` seconds; the message names
            ``what`` was awaited (the predicate's name if ``what`` is empty).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            awaited = what or getattr(predicate, "__name__", "a condition")
            raise AssertionError(f"waited {timeout:g} s for {awaited}; it never happened")
        time.sleep(poll)
