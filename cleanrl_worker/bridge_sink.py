"""The emitter dressed as the embedded recorder's bus and sink, so the recorder ships to a bridge.

:class:`cleanrl_worker.slowlane.Recorder` hands its records to ``bus.publish_many(records)`` and
drives ``sink.start() / flush(timeout) / stop(timeout) / stats()``; it builds both with
``Recorder._start_sink(bus_class, sink_class)``. :func:`bridge_sink_classes` returns a pair of
classes with exactly that surface backed by one :class:`~cleanrl_worker.emitter.BridgeEmitter`,
so switching a worker from the embedded SQLite file to a bridge is one call::

    # in Recorder._open(), when FASTLANE_BRIDGE is set:
    self._start_sink(*bridge_sink_classes(self.bridge, self.run_id, token=self.token))

Each process (the script and every spawned vector-env worker) gets its own spool directory,
``runs/spool/<run_id>.<pid>``: a spool has a single owner.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cleanrl_worker.emitter import BridgeEmitter, EmitterStats
from gym_gui_bridge.constants import EMITTER_CLOSE_TIMEOUT_S, EMITTER_SPOOL_DIR
from gym_gui_bridge.records import TelemetryEvent

__all__ = ["EmitterBus", "EmitterSink", "bridge_sink_classes"]


class EmitterBus:
    """What the recorder's hand-off thread publishes to: forwards to the emitter (non-blocking)."""

    def __init__(self) -> None:
        self.emitter: BridgeEmitter | None = None  # set by EmitterSink

    def publish_many(self, records: Iterable[TelemetryEvent]) -> None:
        emitter = self.emitter
        if emitter is None:
            raise RuntimeError("Expected the EmitterSink to be created before publishing")
        for record in records:
            emitter.put(record)

    def publish(self, record: TelemetryEvent) -> None:
        self.publish_many((record,))

    def overflow_stats(self) -> dict[str, Any]:
        return {}

    def seq_gaps(self) -> dict[Any, int]:
        return {}


@dataclass(frozen=True)
class _Config:
    address: str
    run_id: str
    token: str | None
    spool_root: str


class EmitterSink:
    """``TelemetryDBSink``'s lifecycle over a :class:`BridgeEmitter` (``db_path`` is unused)."""

    config: _Config  # set on the subclass made by bridge_sink_classes

    def __init__(
        self, bus: EmitterBus, db_path: str | Path, *, name: str = "fastlane-emitter"
    ) -> None:
        cfg = self.config
        self.name = name
        self.db_path = str(db_path)
        self.emitter = BridgeEmitter(
            cfg.address, cfg.run_id, spool_root=cfg.spool_root, token=cfg.token, name=name,
            spool_name=f"{cfg.run_id}.{os.getpid()}",
        )  # fmt: skip
        bus.emitter = self.emitter

    def start(self) -> None:
        self.emitter.start()

    def flush(self, timeout: float | None = None) -> bool:
        return self.emitter.flush(timeout)

    def stop(self, timeout: float = EMITTER_CLOSE_TIMEOUT_S) -> bool:
        """Close the emitter, waiting at most ``EMITTER_CLOSE_TIMEOUT_S`` even when the
        recorder allows more: what is not acknowledged by then is safe in the disk spool."""
        return self.emitter.close(min(timeout, EMITTER_CLOSE_TIMEOUT_S))

    def stats(self) -> EmitterStats:
        return self.emitter.stats()


def bridge_sink_classes(
    address: str, run_id: str, *, token: str | None = None, spool_root: str = EMITTER_SPOOL_DIR
) -> tuple[type[EmitterBus], type[EmitterSink]]:
    """``(bus_class, sink_class)`` for ``Recorder._start_sink``, shipping to ``address``."""
    config = _Config(address, run_id, token, spool_root)
    sink_class = type("BoundEmitterSink", (EmitterSink,), {"config": config})
    return EmitterBus, sink_class
