"""When may the worker render a frame? A frame-rate cap and a wall-time-share cap; lower wins.

Rendering is the expensive part of the fast lane (CartPole ~1.7 ms a frame against ~50 us for
a 4-env step), so frames are spaced so that

* at most ``fps`` frames start per second (the person watching sees no more anyway), and
* rendering takes at most ``share`` of wall time: a frame costing ``c`` seconds is followed by
  a gap of at least ``c / share`` seconds before the next one starts.

The effective interval is ``max(1 / fps, cost / share)`` with ``cost`` an exponentially smoothed
measurement of recent frames; :attr:`FrameBudget.rate_hz` is its inverse (what the HUD shows).
"""

from __future__ import annotations

__all__ = ["FrameBudget"]


class FrameBudget:
    """Spaces frames under a frame-rate cap and a wall-time-share cap.

    Args:
        fps: most frames per second.
        share: most fraction of wall time spent on frames (0 < share <= 1).
        smoothing: weight of the newest cost measurement (0..1).

    >>> budget = FrameBudget(fps=10.0, share=0.5, smoothing=1.0)
    >>> budget.due(0.0)
    True
    >>> budget.spent(start=0.0, end=0.2)  # 0.2 s at 50% share: next frame no earlier than 0.4
    >>> budget.due(0.3), budget.due(0.4), round(budget.rate_hz, 3)
    (False, True, 2.5)
    """

    def __init__(self, fps: float, share: float, smoothing: float) -> None:
        if not fps > 0:
            raise ValueError(f"Expected fps > 0, got {fps!r}")
        if not 0 < share <= 1:
            raise ValueError(f"Expected share in (0, 1], got {share!r}")
        self._min_interval = 1.0 / fps
        self._share = share
        self._smoothing = smoothing
        self._cost = 0.0  # smoothed seconds per frame, 0 until measured
        self._next_due = 0.0  # earliest start of the next frame under both caps
        self._next_share = 0.0  # earliest start under the wall-time cap alone
        self.frames = 0

    @property
    def interval_s(self) -> float:
        """Current spacing between frame starts (seconds)."""
        return max(self._min_interval, self._cost / self._share)

    @property
    def rate_hz(self) -> float:
        """The frame rate the budget allows right now (Hz)."""
        return 1.0 / self.interval_s

    def due(self, now: float) -> bool:
        """Whether a frame may start at ``now`` under both caps."""
        return now >= self._next_due

    def share_allows(self, now: float) -> bool:
        """Whether a frame may start at ``now`` under the wall-time cap alone (terminal frames)."""
        return now >= self._next_share

    def spent(self, start: float, end: float) -> None:
        """Record a frame that took from ``start`` to ``end`` (seconds on the same clock)."""
        cost = max(0.0, end - start)
        self._cost = (
            cost if self.frames == 0 else self._cost + self._smoothing * (cost - self._cost)
        )
        self.frames += 1
        self._next_share = start + self._cost / self._share
        self._next_due = max(start + self._min_interval, self._next_share)
