"""The interface every writer of the worker's records implements ("record sink"), and the
embedded one.

The recorder (and the trainer proxy) hand each record to one sink and close it at exit. Two
sinks exist, drop-in alternatives: :class:`EmbeddedSink` (no bridge: the slow lane's default
writes into a SQLite file in the training process) and
:class:`cleanrl_worker.emitter.emitter.BridgeEmitter` (``FASTLANE_BRIDGE=HOST:PORT``: a disk
spool shipped to the bridge).

- ``start()`` starts the sink's background thread(s); raises if the destination cannot be opened.
- ``put(record)`` never blocks on disk or network: it hands the record to a background thread,
  or counts it in ``dropped`` when a bounded hand-off is full.
- ``flush(timeout)`` waits until every record put so far reached its destination.
- ``close(timeout)`` flushes, waits at most ``timeout`` seconds, stops the threads and returns
  True if every record reached its destination (for the emitter: is acknowledged by the bridge;
  what is not stays in the disk spool for ``gym-gui-bridge ingest``).
- ``stats()`` the sink's own counters; ``dropped`` the records refused and so lost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from gym_gui_bridge.config.slowlane import RecorderConfig
from gym_gui_bridge.config.store import SinkConfig
from gym_gui_bridge.protocol.records import TelemetryEvent

if TYPE_CHECKING:
    from gym_gui_bridge.store.sink import SinkStats

__all__ = ["EmbeddedSink", "RecordSink"]


class RecordSink(Protocol):
    """Where records go: ``start``, ``put`` (non-blocking), ``flush``, ``close``, counters."""

    def start(self) -> None: ...

    def put(self, record: TelemetryEvent) -> object: ...

    def flush(self, timeout: float | None) -> bool: ...

    def close(self, timeout: float) -> bool: ...

    def stats(self) -> object: ...

    @property
    def dropped(self) -> int: ...


class EmbeddedSink:
    """Writes records into the SQLite file ``db_path`` from a thread of this process.

    The training thread's ``put`` is a :class:`~gym_gui_bridge.bus.feed.DequeFeed`'s: a length
    check and a deque append, refused (and counted in ``dropped``) past ``limit`` queued
    records. A :class:`~gym_gui_bridge.store.sink.TelemetryDBSink` thread named ``name`` (with
    ``config``, the worker's ``[sink]`` table) takes what is queued when its batch is due, or at
    once when ``config.batch_size`` records wait. The
    SQLite modules are imported when the sink is created, not with this module.
    """

    def __init__(
        self,
        db_path: str,
        *,
        name: str = "fastlane-db-sink",
        limit: int = RecorderConfig().buffer_limit,
        config: SinkConfig = SinkConfig(),
    ) -> None:
        from gym_gui_bridge.bus.feed import DequeFeed
        from gym_gui_bridge.store.sink import TelemetryDBSink

        self.feed = DequeFeed(limit, wake_at=config.batch_size)
        self.writer = TelemetryDBSink(None, db_path, source=self.feed, name=name, config=config)
        self.put = self.feed.put  # the training thread's call: no extra frame

    def start(self) -> None:
        self.writer.start()

    def flush(self, timeout: float | None = None) -> bool:
        return self.writer.flush(timeout)

    def close(self, timeout: float) -> bool:
        return self.writer.stop(timeout)

    def stats(self) -> SinkStats:
        return self.writer.stats()

    @property
    def dropped(self) -> int:
        return self.feed.dropped
