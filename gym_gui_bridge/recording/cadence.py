"""``FrameCadence``: the ticks of a constant frame rate, so that video time follows wall time.

A recorder adds one video frame per tick: the newest frame of the run, or the previous one again
when nothing newer came. A recorder that fell behind (the machine was busy) owes several ticks
at once and adds the same frame for each, so the video stays as long as the time it covers. A
gap longer than ``max_catch_up_s`` (the process was stopped or the machine slept) is not filled:
its ticks are skipped and counted, and the video is shorter than the wall time by that much.
"""

from __future__ import annotations

import math

__all__ = ["FrameCadence"]


class FrameCadence:
    """Tick ``n`` falls at ``start_s + n / fps``; :meth:`take` says how many ticks are due.

    >>> cadence = FrameCadence(fps=10.0, start_s=100.0)
    >>> cadence.take(100.0)          # tick 0 falls at the start
    1
    >>> cadence.take(100.05), cadence.next_at()
    (0, 100.1)
    >>> cadence.take(100.35)         # ticks 1, 2, 3 are due: the last frame is added 3 times
    3
    >>> cadence.take(200.0), cadence.skipped   # a long stall: one tick, the rest skipped
    (1, 996)
    """

    def __init__(self, fps: float, start_s: float, *, max_catch_up_s: float = 1.0) -> None:
        if not fps > 0 or math.isinf(fps):
            raise ValueError(f"Expected fps > 0, got {fps!r}")
        self.fps = fps
        self._start_s = start_s
        self._max_owed = max(1, math.ceil(max_catch_up_s * fps))
        self.taken = 0  # ticks handed out so far
        self.skipped = 0  # ticks dropped after stalls longer than max_catch_up_s

    def next_at(self) -> float:
        """Time of the next tick not taken yet (same clock as ``start_s``)."""
        return self._start_s + (self.taken + self.skipped) / self.fps

    def take(self, now_s: float) -> int:
        """The number of ticks due at ``now_s`` and not taken yet; they count as taken."""
        due = math.floor((now_s - self._start_s) * self.fps + 1e-9) + 1  # ticks at or before now
        owed = due - self.taken - self.skipped
        if owed <= 0:
            return 0
        if owed > self._max_owed:
            self.skipped += owed - 1
            owed = 1
        self.taken += owed
        return owed
