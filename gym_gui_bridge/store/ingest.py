"""Loading JSONL files (spools left by emitters, exports) into the store: nothing lost in silence.

Three destinations: a SQLite file directly (``gym-gui-bridge ingest PATH --db FILE``), a running
bridge over gRPC (``--bridge ADDR``, :func:`gym_gui_bridge.server.client.send_files`), or the
bridge's own bus at its start-up (:class:`SpoolIngest`). Every line goes through the strict
decoder; a rejected line is counted and kept in the quarantine table with its reason, a record
the store refuses is quarantined by the sink, the records around them are stored. Re-ingesting
is harmless: the store ignores records (and quarantine entries) it already holds. A file is
*complete* once every record of it is stored or rejected: only complete files may be deleted.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gym_gui_bridge.bus.run_bus import RunBus
from gym_gui_bridge.config.bridge import BridgeConfig
from gym_gui_bridge.errors import RecordDecodeError
from gym_gui_bridge.logs import LOG_BRIDGE_SPOOL_INGESTED
from gym_gui_bridge.protocol.jsonl import decode_record
from gym_gui_bridge.protocol.records import TelemetryEvent
from gym_gui_bridge.protocol.spool import SpoolLock, find_orphan_spools, iter_complete_lines
from gym_gui_bridge.store.quarantine import Quarantined, quarantined_line
from gym_gui_bridge.store.schema import open_writer
from gym_gui_bridge.store.sink import TelemetryDBSink
from gym_gui_bridge.store.writes import write_batch

__all__ = [
    "IngestResult",
    "LineBatch",
    "SpoolIngest",
    "ingest_into_db",
    "jsonl_files",
    "read_batches",
]

_log = logging.getLogger(__name__)
_CHUNK = 4096  # lines handed on at a time
_WAIT_S = 0.2  # longest one wait of the start-up ingest for the sink (it looks at stop between)
_QUARANTINED_PER_CHUNK = BridgeConfig().quarantine_per_batch  # rejected lines kept per chunk


@dataclass
class IngestResult:
    """What an ingest did: files read, records stored, lines and records rejected, and the files
    every record of which was stored or rejected (``complete``: safe to delete)."""

    files: int = 0
    accepted: int = 0
    rejected: int = 0
    complete: list[Path] = field(default_factory=list)


@dataclass
class LineBatch:
    """Up to a chunk of lines of one file, decoded."""

    file: Path
    records: list[TelemetryEvent]
    rejected: int
    quarantine: list[Quarantined]
    last: bool
    """Whether this is the file's last batch."""


def jsonl_files(path: str | Path) -> list[Path]:
    """``path`` itself if it is a file, else every ``*.jsonl`` below it, sorted."""
    base = Path(path)
    if base.is_file():
        return [base]
    if base.is_dir():
        return sorted(p for p in base.rglob("*.jsonl") if p.is_file())
    raise FileNotFoundError(f"Expected a JSONL file or a directory at {base}, found nothing")


def read_batches(
    files: list[Path],
    source: str,
    size: int = _CHUNK,
    max_quarantined: int = _QUARANTINED_PER_CHUNK,
) -> Iterator[LineBatch]:
    """The lines of ``files`` decoded, ``size`` lines at a time and never two files in one
    batch, the rejected ones ready for the quarantine (at most ``max_quarantined`` per batch;
    all counted). A file's last batch has ``last`` set (a file without lines gives one, empty)."""
    for file in files:
        batch = LineBatch(file, [], 0, [], False)
        lines = 0
        for line, _ in iter_complete_lines(file):
            lines += 1
            try:
                batch.records.append(decode_record(line))
            except RecordDecodeError as error:
                batch.rejected += 1
                if len(batch.quarantine) < max_quarantined:
                    batch.quarantine.append(quarantined_line(line, error.code, str(error), source))
            if lines >= size:
                yield batch
                batch, lines = LineBatch(file, [], 0, [], False), 0
        batch.last = True
        yield batch


def ingest_into_db(path: str | Path, db_path: str | Path) -> IngestResult:
    """Write the records of ``path`` straight into the SQLite file ``db_path``.

    Raises:
        StoreError: ``db_path`` cannot be opened for writing.
        sqlite3.Error: writing failed for a transient reason (locked past the busy timeout, disk
            full); the result so far is lost with it, re-running is harmless.
    """
    files = jsonl_files(path)
    result = IngestResult(files=len(files))
    conn = open_writer(db_path)
    try:
        for batch in read_batches(files, "ingest"):
            written = write_batch(conn, batch.records, lines=batch.quarantine)
            result.accepted += written.rows
            result.rejected += batch.rejected + written.invalid
            if batch.last:
                result.complete.append(batch.file)
    finally:
        conn.close()
    return result


class SpoolIngest:
    """The bridge's start-up ingest of the orphaned spools under ``root`` (their emitter is gone).

    :meth:`run_for` ingests in the caller's thread until everything is stored or a time budget
    runs out (``BRIDGE_STARTUP_INGEST_S``: the bridge listens after it either way);
    :meth:`start` goes on in a background thread (``bridge-spool-ingest``) while the bridge
    serves. A spool directory is deleted once every record of it is stored or quarantined;
    one interrupted (:meth:`stop`, the bridge stopping) stays for the next start. Bad lines
    are quarantined through ``sink`` (source ``spool``), bad records by the sink itself.
    """

    def __init__(
        self,
        root: str | Path,
        bus: RunBus,
        sink: TelemetryDBSink,
        max_quarantined: int = _QUARANTINED_PER_CHUNK,
    ) -> None:
        self.root = Path(root)
        self._bus, self._sink = bus, sink
        self._max_quarantined = max_quarantined
        self.result = IngestResult()  # updated as directories complete (read it after stop)
        self.done = False
        self._stop = threading.Event()
        self._steps = self._ingest()
        self._thread: threading.Thread | None = None

    def run_for(self, seconds: float) -> bool:
        """Ingest until done or ``seconds`` passed (checked between chunks). True when done."""
        deadline = time.monotonic() + seconds
        # one step per chunk: stops at the first step past the deadline, True if none was
        return all(time.monotonic() < deadline for _ in self._steps)

    def start(self) -> None:
        """Go on with what :meth:`run_for` left, in a background thread."""
        if self.done or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="bridge-spool-ingest", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop between two chunks; what was published is stored by the sink, the directory in
        progress stays on disk. True if the thread ended in time."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        self._steps.close()  # never started in the background: release the lock held
        return True

    def _run(self) -> None:
        try:
            for _ in self._steps:
                if self._stop.is_set():
                    break
        except Exception:  # the thread's boundary: report; what is left stays on disk
            _log.exception("ingesting orphaned spools under %s failed", self.root)
        finally:
            self._steps.close()

    def _ingest(self) -> Generator[None, None, None]:
        try:
            directories = find_orphan_spools(self.root)
        except OSError as error:
            _log.warning("%s %s: not ingested: %s", LOG_BRIDGE_SPOOL_INGESTED, self.root, error)
            directories = []
        for directory in directories:
            if self._stop.is_set():
                return
            lock = SpoolLock(directory)
            try:
                if not lock.acquire():
                    continue  # its emitter came back meanwhile: it ships the spool itself
                result = yield from self._directory(directory)
            except OSError as error:  # unreadable: left as it is, for ``ingest`` by hand
                _log.warning("%s %s: not ingested: %s", LOG_BRIDGE_SPOOL_INGESTED, directory, error)
                continue
            finally:
                lock.release()
            if result is None:
                return  # stopped
            _log.info(
                "%s %s: %d records stored, %d lines rejected",
                LOG_BRIDGE_SPOOL_INGESTED,
                directory,
                result.accepted,
                result.rejected,
            )
            self.result.files += result.files
            self.result.accepted += result.accepted
            self.result.rejected += result.rejected
            self.result.complete.append(directory)
        self.done = True

    def _directory(self, directory: Path) -> Generator[None, None, IngestResult | None]:
        """Publish one spool directory and wait until it is stored (yielding between waits),
        then delete it. Returns its result, or None if stopped first."""
        bus, sink = self._bus, self._sink
        files = jsonl_files(directory)
        result = IngestResult(files=len(files))
        refused_before = sink.stats().invalid
        for batch in read_batches(files, "spool", max_quarantined=self._max_quarantined):
            while sink.stats().queued > bus.config.db_path_queue_size:
                if self._stop.is_set():
                    return None
                sink.flush(_WAIT_S)
                yield
            sink.quarantine(batch.quarantine)
            bus.publish_many(batch.records)
            result.accepted += len(batch.records)
            result.rejected += batch.rejected
            yield
        while not sink.flush(_WAIT_S):
            if self._stop.is_set():
                return None
            yield
        refused = sink.stats().invalid - refused_before  # the sink's (other streams' too)
        shutil.rmtree(directory, ignore_errors=True)
        result.rejected += min(refused, result.accepted)
        result.accepted -= min(refused, result.accepted)
        return result
