"""Rate-limited logging: a condition that keeps recurring is logged at most once per interval."""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable

__all__ = ["LogThrottle"]


class LogThrottle:
    """Says whether a log line for ``key`` is due: the first time, then once per ``interval_s``.

    >>> throttle = LogThrottle(60.0)
    >>> throttle.ready("gap"), throttle.ready("gap"), throttle.ready("other")
    (True, False, True)
    """

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._lock = threading.Lock()  # guards _last
        self._last: dict[Hashable, float] = {}

    def ready(self, key: Hashable) -> bool:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self._interval_s:
                return False
            self._last[key] = now
            return True
