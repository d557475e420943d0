"""DequeFeed: a single producer's hand-off queue that a TelemetryDBSink reads directly.

The embedded recorder has one producer (the training thread) and one consumer (the sink), so it
needs no bus: :meth:`DequeFeed.put` is a length check and a ``deque.append`` (no lock, no
notification, nothing to wake), and the sink reads the feed exactly as it reads a RunBus
subscription (``get_batch``, ``qsize``, ``wake``, ``stats().delivered``, ``unsubscribe``).
The consumer is not woken per record: it sleeps until its batch is due (``DB_SINK_FLUSH_INTERVAL_S``),
until ``wake_at`` records wait (a burst) or until :meth:`wake`, so a training process pays no
thread wake-up per record.

>>> feed = DequeFeed(limit=2)
>>> feed.put("a"), feed.put("b"), feed.put("c")
(True, True, False)
>>> feed.get_batch(10, timeout=0.0), feed.stats().delivered, feed.dropped
(['a', 'b'], 2, 1)
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, NamedTuple

__all__ = ["DequeFeed", "FeedStats"]


class FeedStats(NamedTuple):
    """``delivered``: records put and accepted so far (taken by the consumer or queued)."""

    delivered: int
    depth: int
    dropped: int


class DequeFeed:
    """Bounded hand-off queue: one producer thread puts, one consumer thread takes batches.

    Args:
        limit: records queued at most; a ``put`` beyond it is refused and counted in ``dropped``.
        wake_at: queued records that wake a sleeping consumer at once (a burst; the sink's
            batch size): one comparison per ``put``, an ``Event.set`` only when it is reached.
    """

    def __init__(self, limit: int, wake_at: int | None = None) -> None:
        if limit < 1:
            raise ValueError(f"Expected limit >= 1, got {limit}")
        self._wake_at = limit if wake_at is None else max(1, wake_at) - 1
        self._items: deque[Any] = deque()
        self._limit = limit
        self._taken = 0
        self._lock = threading.Lock()  # ``_taken`` and the queue length are read together
        self._wake = threading.Event()
        self._closed = False
        self.dropped = 0  # written by the producer only

    # --- producer --------------------------------------------------------------------------------
    def put(self, item: Any) -> bool:
        """Queue ``item``; False (and counted) if the feed is full. Never blocks."""
        items = self._items
        depth = len(items)
        if depth >= self._limit:
            self.dropped += 1
            return False
        items.append(item)
        if depth == self._wake_at:  # lengths grow by one: every upward crossing is seen
            self._wake.set()
        return True

    # --- consumer (the subscription surface TelemetryDBSink uses) --------------------------------
    def get_batch(self, max_items: int, timeout: float | None = 0.0) -> list[Any]:
        """Up to ``max_items`` oldest items. If fewer are queued, first sleeps ``timeout`` seconds
        (None: until :meth:`wake`) or until :meth:`wake`; then returns what is there."""
        if len(self._items) < max_items and timeout != 0.0 and not self._closed:
            self._wake.wait(timeout)
        self._wake.clear()
        with self._lock:
            items = self._items
            count = min(max_items, len(items))
            batch = [items.popleft() for _ in range(count)]
            self._taken += count
        return batch

    def wake(self) -> None:
        """Make a consumer sleeping in :meth:`get_batch` return now."""
        self._wake.set()

    def qsize(self) -> int:
        return len(self._items)

    def unsubscribe(self) -> None:
        """The consumer stops: no more sleeping in :meth:`get_batch`."""
        self._closed = True
        self._wake.set()

    def stats(self) -> FeedStats:
        with self._lock:
            depth = len(self._items)
            return FeedStats(self._taken + depth, depth, self.dropped)
