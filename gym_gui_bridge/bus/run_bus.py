"""RunBus: in-process publish/subscribe of telemetry records, with one queue per subscriber.

``publish`` never blocks and never waits for a subscriber. Each subscriber owns a queue with
its own policy:

- ``DROP_OLDEST`` (fast path: live views): a bounded queue; when full, the oldest events are
  dropped and counted (``dropped``). A stuck viewer loses old events, nothing else notices.
- ``DURABLE`` (durable path: the SQLite sink): never drops while it has room under a *hard*
  cap (``RUNBUS_DURABLE_HARD_LIMIT`` of the bus's :class:`~gym_gui_bridge.config.bridge.RunBusConfig`). ``maxsize`` is a soft bound: past it events are still
  accepted, counted as ``over_bound`` and logged (``LOG_RUNBUS_DURABLE_OVER_BOUND``), so a slow
  disk costs memory, not records. Only a consumer stalled long enough to fill the hard cap
  loses records: the newest are refused, counted as ``lost`` and logged
  (``LOG_RUNBUS_DURABLE_RECORD_LOST``). Publishers are never slowed either way.

The bus also follows every stream's ``seq`` (per ``(run_id, agent_id, kind, slot)``, from the
first record it sees of that stream): a skipped number is a gap, counted in :meth:`seq_gaps`
and logged with ``LOG_RUNBUS_SEQ_GAP``; a repeated or older number is a duplicate (delivered
anyway: stores are idempotent). Events of one publisher reach a subscriber in publish order.

A publisher that comes and goes (a bridge's publishing stream) publishes through a
:class:`Publisher` from :meth:`RunBus.publisher`: the streams it published are followed while
it is open, and forgotten (last ``seq`` and gap count) when the last open publisher of a stream
closes, so a bridge serving many short-lived streams keeps no state for the ones that ended.
A stream published with :meth:`RunBus.publish_many` directly is followed for the bus's life.

>>> from gym_gui_bridge.protocol.records import ScalarRecord
>>> bus = RunBus()
>>> live = bus.subscribe("viewer", maxsize=1)
>>> db = bus.subscribe("db", policy=OverflowPolicy.DURABLE)
>>> for seq in (0, 1, 3):
...     bus.publish(ScalarRecord("r", -1, "default", seq, 0.0, "loss", 1.0, seq))
>>> [e.seq for e in db.get_batch(10, timeout=0)], live.get(timeout=0).seq
([0, 1, 3], 3)
>>> bus.overflow_stats()["viewer"].dropped, bus.seq_gaps()
(2, {('r', 'default', 'scalar', -1): 1})
>>> with bus.publisher() as stream:
...     stream.publish_many([ScalarRecord("s", -1, "default", 0, 0.0, "loss", 1.0, 0)])
...     bus.streams()
2
>>> bus.streams()
1
"""

from __future__ import annotations

import enum
import logging
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from gym_gui_bridge.config.bridge import RunBusConfig
from gym_gui_bridge.logs import (
    LOG_RUNBUS_DURABLE_OVER_BOUND,
    LOG_RUNBUS_DURABLE_RECORD_LOST,
    LOG_RUNBUS_SEQ_GAP,
    LOG_RUNBUS_SUBSCRIBER_OVERFLOW,
    LogThrottle,
)
from gym_gui_bridge.protocol.records import TelemetryEvent

__all__ = ["OverflowPolicy", "Publisher", "RunBus", "SubscriberStats", "Subscription"]

_log = logging.getLogger(__name__)
StreamKey = tuple[str, str, str, int]


class OverflowPolicy(enum.Enum):
    """What a subscriber's queue does when it is full."""

    DROP_OLDEST = "drop_oldest"
    DURABLE = "durable"


@dataclass(frozen=True)
class SubscriberStats:
    """Counters of one subscriber (events). ``depth`` is the current queue length."""

    name: str
    policy: str
    maxsize: int
    depth: int
    delivered: int
    dropped: int
    over_bound: int
    lost: int


class Subscription:
    """One subscriber's queue. Consume it with :meth:`get` or :meth:`get_batch`."""

    def __init__(
        self,
        bus: RunBus,
        name: str,
        policy: OverflowPolicy,
        maxsize: int,
        hard_limit: int,
    ) -> None:
        if maxsize < 1:
            raise ValueError(f"Expected maxsize >= 1, got {maxsize}")
        self.name = name
        self.policy = policy
        self.maxsize = maxsize
        self._bus = bus
        self._hard_limit = max(maxsize, hard_limit)
        # guards _items, _want, _woken, _closed and the counters; _ready waits on it
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._items: deque[TelemetryEvent] = deque(
            maxlen=maxsize if policy is OverflowPolicy.DROP_OLDEST else None
        )
        self._want = 0  # items a waiting consumer wants before it wakes; 0: nobody waits
        self._woken = False
        self._closed = False
        self._delivered = 0  # events put into the queue (accepted), ever
        self._dropped = 0
        self._over_bound = 0
        self._lost = 0

    # --- producer side (called by RunBus.publish) ---------------------------------------------
    def _offer(self, events: list[TelemetryEvent]) -> None:
        problem = ""
        with self._lock:
            if self._closed:
                return
            items = self._items
            n = len(events)
            if self.policy is OverflowPolicy.DROP_OLDEST:
                overflow = len(items) + n - self.maxsize
                if overflow > 0:
                    self._dropped += overflow
                    problem = LOG_RUNBUS_SUBSCRIBER_OVERFLOW
                items.extend(events)  # deque(maxlen) drops the oldest itself
                self._delivered += n
            else:
                room = self._hard_limit - len(items)
                if room < n:
                    self._lost += n - room
                    events = events[: max(room, 0)]
                    problem = LOG_RUNBUS_DURABLE_RECORD_LOST
                items.extend(events)
                self._delivered += len(events)
                above = len(items) - self.maxsize
                if above > 0:
                    self._over_bound += min(above, len(events))
                    problem = problem or LOG_RUNBUS_DURABLE_OVER_BOUND
            if self._want and len(items) >= self._want:
                self._ready.notify()
            depth = len(items)
        if problem:
            self._bus._report(self, problem, depth)

    # --- consumer side -------------------------------------------------------------------------
    def get(self, timeout: float | None = None) -> TelemetryEvent | None:
        """The oldest event, waiting up to ``timeout`` seconds (None: forever); None if none."""
        batch = self.get_batch(1, timeout)
        return batch[0] if batch else None

    def get_batch(self, max_items: int, timeout: float | None = 0.0) -> list[TelemetryEvent]:
        """Up to ``max_items`` oldest events. Waits until ``max_items`` are queued, ``timeout``
        seconds pass, :meth:`wake` is called or the subscription closes, whichever is first;
        then returns what is there (possibly nothing)."""
        with self._ready:
            items = self._items
            if len(items) < max_items and not self._closed and timeout != 0.0:
                self._want = max_items
                self._ready.wait_for(
                    lambda: len(items) >= max_items or self._woken or self._closed, timeout
                )
                self._want = 0
            self._woken = False
            count = min(max_items, len(items))
            return [items.popleft() for _ in range(count)]

    def wake(self) -> None:
        """Make a consumer waiting in :meth:`get_batch` return now with what is queued."""
        with self._ready:
            self._woken = True
            self._ready.notify_all()

    def qsize(self) -> int:
        """Events waiting in the queue."""
        with self._lock:
            return len(self._items)

    @property
    def closed(self) -> bool:
        return self._closed

    def unsubscribe(self) -> None:
        """Stop receiving events; a waiting consumer returns. Queued events stay readable."""
        self._bus.unsubscribe(self)

    def _close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def stats(self) -> SubscriberStats:
        with self._lock:
            return SubscriberStats(
                name=self.name,
                policy=self.policy.value,
                maxsize=self.maxsize,
                depth=len(self._items),
                delivered=self._delivered,
                dropped=self._dropped,
                over_bound=self._over_bound,
                lost=self._lost,
            )


class Publisher:
    """One publisher's hand on a :class:`RunBus` (a context manager; :meth:`close` when done).

    The bus follows the ``seq`` of the streams published through it while it is open; closing
    it forgets the streams no other open publisher holds. Not thread-safe: one thread publishes.
    """

    def __init__(self, bus: RunBus) -> None:
        self._bus = bus
        self.keys: set[StreamKey] = set()  # streams this publisher holds; guarded by the bus lock
        self.closed = False

    def publish_many(self, events: Iterable[TelemetryEvent]) -> None:
        """Hand ``events`` (in order) to every subscriber, as :meth:`RunBus.publish_many`."""
        if self.closed:
            raise ValueError("Expected an open publisher, got a closed one")
        self._bus._publish(events, self)

    def close(self) -> None:
        """Forget the streams only this publisher held. Idempotent."""
        if not self.closed:
            self.closed = True
            self._bus._release(self)

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class RunBus:
    """Fan-out of telemetry events to independent subscriber queues. Thread-safe.

    Args:
        config: default queue sizes, the durable hard cap and the gap log interval.
    """

    def __init__(self, config: RunBusConfig = RunBusConfig()) -> None:
        self.config = config
        # guards _subscribers (replaced, never mutated: publishers iterate a snapshot),
        # _last_seq, _gaps, _holders, every open Publisher's keys and _duplicates
        self._lock = threading.Lock()
        self._subscribers: tuple[Subscription, ...] = ()
        self._last_seq: dict[StreamKey, int] = {}
        self._gaps: dict[StreamKey, int] = {}
        self._holders: dict[StreamKey, int] = {}  # open publishers holding each stream
        self._duplicates = 0
        self._throttle = LogThrottle(config.gap_log_interval_s)

    def subscribe(
        self,
        name: str,
        policy: OverflowPolicy = OverflowPolicy.DROP_OLDEST,
        maxsize: int | None = None,
        hard_limit: int | None = None,
    ) -> Subscription:
        """A new subscriber queue receiving every event published from now on.

        ``maxsize`` defaults to the config's ``RUNBUS_UI_PATH_QUEUE_SIZE`` (drop-oldest) or
        ``RUNBUS_DB_PATH_QUEUE_SIZE`` (durable soft bound); ``hard_limit`` (default
        ``RUNBUS_DURABLE_HARD_LIMIT``) caps a durable queue (at least ``maxsize``).
        """
        config = self.config
        if maxsize is None:
            durable = policy is OverflowPolicy.DURABLE
            maxsize = config.db_path_queue_size if durable else config.ui_path_queue_size
        if hard_limit is None:
            hard_limit = config.durable_hard_limit
        subscription = Subscription(self, name, policy, maxsize, hard_limit)
        with self._lock:
            if any(s.name == name for s in self._subscribers):
                raise ValueError(f"Expected a new subscriber name, got {name!r} twice")
            self._subscribers = (*self._subscribers, subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Remove ``subscription``; unknown or already removed ones are ignored."""
        with self._lock:
            self._subscribers = tuple(s for s in self._subscribers if s is not subscription)
        subscription._close()

    def publish(self, event: TelemetryEvent) -> None:
        """Hand ``event`` to every subscriber. Never blocks on a subscriber."""
        self.publish_many((event,))

    def publish_many(self, events: Iterable[TelemetryEvent]) -> None:
        """Hand ``events`` (in order) to every subscriber; cheaper per event than publish().

        Their streams are followed for the bus's life; a publisher that comes and goes
        publishes through :meth:`publisher` instead."""
        self._publish(events, None)

    def publisher(self) -> Publisher:
        """A :class:`Publisher`: the streams it publishes are forgotten once it closes."""
        return Publisher(self)

    def _publish(self, events: Iterable[TelemetryEvent], publisher: Publisher | None) -> None:
        batch = events if isinstance(events, list) else list(events)
        if not batch:
            return
        gaps: list[tuple[StreamKey, int, int, int]] = []  # key, last seq, seq, total missing
        with self._lock:
            last_seq = self._last_seq
            held = None if publisher is None else publisher.keys
            for event in batch:
                key = (event.run_id, event.agent_id, event.kind, event.slot)
                seq = event.seq
                if held is not None and key not in held:
                    held.add(key)
                    self._holders[key] = self._holders.get(key, 0) + 1
                last = last_seq.get(key)
                if last is None or seq == last + 1:
                    last_seq[key] = seq
                elif seq > last:
                    total = self._gaps.get(key, 0) + seq - last - 1
                    self._gaps[key] = total
                    last_seq[key] = seq
                    gaps.append((key, last, seq, total))
                else:
                    self._duplicates += 1
            subscribers = self._subscribers
        for subscription in subscribers:
            subscription._offer(batch)
        for key, last, seq, total in gaps:
            if self._throttle.ready(key):
                _log.warning(
                    "%s stream %s jumped from seq %d to %d (%d missing; total %d)",
                    LOG_RUNBUS_SEQ_GAP,
                    key,
                    last,
                    seq,
                    seq - last - 1,
                    total,
                )

    def _release(self, publisher: Publisher) -> None:
        with self._lock:
            for key in publisher.keys:
                left = self._holders[key] - 1
                if left:
                    self._holders[key] = left
                    continue
                del self._holders[key]
                self._last_seq.pop(key, None)
                self._gaps.pop(key, None)
            publisher.keys = set()

    def streams(self) -> int:
        """Streams whose ``seq`` the bus follows now (the size of its per-stream tables)."""
        with self._lock:
            return len(self._last_seq)

    def overflow_stats(self) -> dict[str, SubscriberStats]:
        """Counters per subscriber name (drops, over-bound, lost, depth)."""
        return {s.name: s.stats() for s in self._subscribers}

    def seq_gaps(self) -> dict[StreamKey, int]:
        """Missing sequence numbers per stream followed now (see :class:`Publisher`)."""
        with self._lock:
            return dict(self._gaps)

    def duplicates(self) -> int:
        """Events whose seq was not above the last one seen on their stream."""
        with self._lock:
            return self._duplicates

    def _report(self, subscription: Subscription, problem: str, depth: int) -> None:
        if not self._throttle.ready((problem, subscription.name)):
            return
        stats = subscription.stats()
        _log.warning(
            "%s subscriber %r (%s, maxsize %d): depth %d, dropped %d, over bound %d, lost %d",
            problem,
            subscription.name,
            stats.policy,
            stats.maxsize,
            depth,
            stats.dropped,
            stats.over_bound,
            stats.lost,
        )
