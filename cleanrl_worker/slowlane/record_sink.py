"""The interface every destination of the worker's records implements ("record sink").

The recorder hands each record to one sink and closes it at exit. Two sinks exist: the embedded
SQLite store (no bridge: the slow lane's default) and :class:`cleanrl_worker.emitter.emitter.BridgeEmitter`
(``FASTLANE_BRIDGE=HOST:PORT``). Both are drop-in alternatives:

- ``put(record)`` never blocks on disk or network: it hands the record to a background thread
  (or counts it as dropped when a bounded hand-off is full).
- ``close(timeout)`` flushes what was put, waits at most ``timeout`` seconds and returns True if
  every record reached its destination (for the emitter: is acknowledged by the bridge; what is
  not stays in the disk spool for ``gym-gui-bridge ingest``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from gym_gui_bridge.protocol.records import TelemetryEvent

__all__ = ["RecordSink"]


@runtime_checkable
class RecordSink(Protocol):
    """Where the recorder sends records: ``put`` (non-blocking) and ``close(timeout)``."""

    def put(self, record: TelemetryEvent) -> None: ...

    def close(self, timeout: float) -> bool: ...
