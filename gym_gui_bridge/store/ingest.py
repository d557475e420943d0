"""Loading JSONL files (spools left by emitters, exports) into the store: nothing is lost.

Three destinations: a running bridge's RunBus (the bridge's start-up), a SQLite file directly
(``gym-gui-bridge ingest PATH --db FILE``), or a running bridge over gRPC (``--bridge ADDR``).
Every line goes through the strict decoder; bad lines are counted, never fatal. Re-ingesting is
harmless: the store ignores records it already holds.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gym_gui_bridge.bus.run_bus import RunBus
from gym_gui_bridge.logs import LOG_BRIDGE_SPOOL_INGESTED
from gym_gui_bridge.protocol.jsonl import JsonlDecoder
from gym_gui_bridge.protocol.records import TelemetryEvent
from gym_gui_bridge.protocol.spool import SpoolLock, find_orphan_spools, iter_complete_lines
from gym_gui_bridge.store.schema import open_writer
from gym_gui_bridge.store.sink import TelemetryDBSink
from gym_gui_bridge.store.writes import write_batch

__all__ = [
    "IngestResult",
    "ingest_into_bus",
    "ingest_into_db",
    "ingest_orphan_spools",
    "jsonl_files",
    "read_batches",
]

_log = logging.getLogger(__name__)
_CHUNK = 4096  # records handed on at a time


@dataclass
class IngestResult:
    """What an ingest did: files read, records stored (or handed to the bus), lines rejected."""

    files: int = 0
    accepted: int = 0
    rejected: int = 0


def jsonl_files(path: str | Path) -> list[Path]:
    """``path`` itself if it is a file, else every ``*.jsonl`` below it, sorted."""
    base = Path(path)
    if base.is_file():
        return [base]
    if base.is_dir():
        return sorted(p for p in base.rglob("*.jsonl") if p.is_file())
    raise FileNotFoundError(f"Expected a JSONL file or a directory at {base}, found nothing")


def read_batches(
    files: list[Path], decoder: JsonlDecoder, size: int = _CHUNK
) -> Iterator[list[TelemetryEvent]]:
    """Valid records of ``files`` in file order, ``size`` at a time."""
    batch: list[TelemetryEvent] = []
    for file in files:
        for line, _ in iter_complete_lines(file):
            record = decoder.decode(line)
            if record is not None:
                batch.append(record)
                if len(batch) >= size:
                    yield batch
                    batch = []
    if batch:
        yield batch


def ingest_into_db(path: str | Path, db_path: str | Path) -> IngestResult:
    """Write the records of ``path`` straight into the SQLite file ``db_path``."""
    files = jsonl_files(path)
    decoder = JsonlDecoder()
    conn = open_writer(db_path)
    try:
        for batch in read_batches(files, decoder):
            write_batch(conn, batch)
    finally:
        conn.close()
    return IngestResult(len(files), decoder.stats.accepted, decoder.stats.rejected)


def ingest_into_bus(path: str | Path, bus: RunBus, sink: TelemetryDBSink) -> IngestResult:
    """Publish the records of ``path`` on ``bus`` and wait until ``sink`` committed them.

    Waits for the sink whenever its queue holds more than the bus's ``RUNBUS_DB_PATH_QUEUE_SIZE``.
    """
    files = jsonl_files(path)
    decoder = JsonlDecoder()
    for batch in read_batches(files, decoder):
        while sink.stats().queued > bus.config.db_path_queue_size:
            sink.flush(1.0)
        bus.publish_many(batch)
    sink.flush(None)
    return IngestResult(len(files), decoder.stats.accepted, decoder.stats.rejected)


def ingest_orphan_spools(root: str | Path, bus: RunBus, sink: TelemetryDBSink) -> IngestResult:
    """Ingest and delete every spool under ``root`` whose emitter is gone (the bridge's start-up)."""
    total = IngestResult()
    for directory in find_orphan_spools(root):
        lock = SpoolLock(directory)
        if not lock.acquire():
            continue  # its emitter came back meanwhile: it ships the spool itself
        try:
            result = ingest_into_bus(directory, bus, sink)
            shutil.rmtree(directory, ignore_errors=True)
        finally:
            lock.release()
        _log.info(
            "%s %s: %d records stored, %d lines rejected",
            LOG_BRIDGE_SPOOL_INGESTED,
            directory,
            result.accepted,
            result.rejected,
        )
        total.files += result.files
        total.accepted += result.accepted
        total.rejected += result.rejected
    return total
