"""TelemetryDBSink: the durable path's only writer, a background thread from RunBus to SQLite.

The sink subscribes to a :class:`~gym_gui_bridge.bus.run_bus.RunBus` with a durable queue
(``DB_SINK_WRITER_QUEUE_SIZE`` soft bound) and writes what arrives in batches: a batch is
written when it holds ``DB_SINK_BATCH_SIZE`` records or its oldest record has waited
``DB_SINK_FLUSH_INTERVAL_S``, whichever comes first, so nothing waits forever in a half-full
batch. Each batch is one transaction of ``INSERT OR IGNORE`` (idempotent).

A bad record never stops the others (:func:`~gym_gui_bridge.store.writes.write_batch`): one that
fails the validation, or that SQLite refuses for a reason retrying cannot cure (the batch is
split until it is alone), goes into the quarantine table with its reason, is counted
(``stats().invalid``) and logged (``LOG_SERVICE_DB_SINK_RECORD_QUARANTINED``, at most once per
``DB_SINK_LOG_INTERVAL_S`` with the count since the last line); the rest is stored. Lines a
decoder rejected upstream are handed over with :meth:`TelemetryDBSink.quarantine` and written
with the next batch (``stats().quarantined`` counts every entry written).

A batch failing for a transient reason (database locked past the busy timeout, disk full, I/O
error) is rolled back, logged with ``LOG_SERVICE_DB_SINK_BATCH_FAILED`` and retried unchanged
after a pause that doubles from ``DB_SINK_RETRY_BACKOFF_S`` up to ``DB_SINK_RETRY_BACKOFF_MAX_S``;
the first ``DB_SINK_MAX_RETRIES`` failures are logged each, later ones once per
``DB_SINK_LOG_INTERVAL_S``. Meanwhile new records wait on the bus. Once the fault clears every
record is written. Only ``stop()`` gives up on a batch that still fails at its deadline, and it
logs how many records were not written (``LOG_SERVICE_DB_SINK_RECORDS_LOST``). The thread never
dies of an error.

The WAL is bounded: SQLite's own passive checkpoint runs when the WAL passes
``DB_SINK_CHECKPOINT_PAGES`` pages (at the commit that passes it; a reader in another process
may postpone it to a later commit), the sink runs one more at stop, and ``journal_size_limit``
truncates the file after a checkpoint.
"""

from __future__ import annotations

import collections
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gym_gui_bridge.bus.feed import DequeFeed
from gym_gui_bridge.bus.run_bus import OverflowPolicy, RunBus, Subscription
from gym_gui_bridge.config.store import SinkConfig
from gym_gui_bridge.logs import (
    LOG_SERVICE_DB_SINK_BATCH_FAILED,
    LOG_SERVICE_DB_SINK_BATCH_RECOVERED,
    LOG_SERVICE_DB_SINK_CHECKPOINT,
    LOG_SERVICE_DB_SINK_QUEUE_DEPTH,
    LOG_SERVICE_DB_SINK_RECORD_QUARANTINED,
    LOG_SERVICE_DB_SINK_RECORDS_LOST,
    LogThrottle,
)
from gym_gui_bridge.protocol.records import TelemetryEvent
from gym_gui_bridge.store.quarantine import Quarantined
from gym_gui_bridge.store.schema import open_writer
from gym_gui_bridge.store.writes import BatchResult, FaultHook, write_batch

__all__ = ["SinkStats", "TelemetryDBSink"]

_log = logging.getLogger(__name__)
_PAGE_BYTES = 4096  # SQLite's default page size; only used to turn the WAL size into pages
_REFUSED_KEPT = 4096  # refused records remembered for refused_since() (the newest)


@dataclass(frozen=True)
class SinkStats:
    """Counters of a sink (records, batches). ``pending`` is taken from the bus, not written.

    ``invalid`` counts the records the sink refused (each is in the quarantine table);
    ``quarantined`` every quarantine entry it wrote: those records and the rejected lines
    handed to :meth:`TelemetryDBSink.quarantine`."""

    written: int
    invalid: int
    quarantined: int
    batches: int
    failed_batches: int
    pending: int
    queued: int
    lost: int
    last_error: str | None


class TelemetryDBSink:
    """Writes every record of a bus's durable path into one SQLite file.

    ``bus`` may be ``None`` when ``source`` is given: the sink then reads that queue instead
    of subscribing to a bus (the embedded recorder's :class:`~gym_gui_bridge.bus.feed.DequeFeed`).
    ``config`` holds the batch size, flush interval, busy timeout, retry pauses, log limits and
    the WAL's bounds (the ``DB_SINK_*`` tunables named in this module's docstring). ``decoded``:
    every record reaching the sink was returned by a JSONL decoder, which applied the
    validation already (the bridge's bus): records are not tested again; what SQLite refuses is
    still isolated and quarantined.

    >>> import tempfile, os
    >>> from gym_gui_bridge.protocol.records import ScalarRecord
    >>> bus = RunBus()
    >>> path = os.path.join(tempfile.mkdtemp(), "doc.sqlite")
    >>> sink = TelemetryDBSink(bus, path)
    >>> sink.start()
    >>> bus.publish(ScalarRecord("r", -1, "default", 0, 1.0, tag="loss", value=0.5, step=1))
    >>> sink.flush(timeout=5), sink.stop(), sink.stats().written
    (True, True, 1)
    """

    def __init__(
        self,
        bus: RunBus | None,
        db_path: str | Path,
        *,
        source: Subscription | DequeFeed | None = None,
        name: str = "telemetry-db-sink",
        config: SinkConfig = SinkConfig(),
        fault_hook: FaultHook | None = None,
        decoded: bool = False,
    ) -> None:
        if (bus is None) == (source is None):
            raise ValueError("Expected exactly one of a bus and a source")
        self._source = source
        self.name = name
        self.db_path = str(db_path)
        self._bus = bus
        self.config = config
        self._batch_size = config.batch_size
        self._flush_interval_s = config.flush_interval_s
        self._fault_hook = fault_hook
        self._decoded = decoded
        self._conn: sqlite3.Connection | None = None
        self._subscription: Subscription | DequeFeed | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._flush_wanted = threading.Event()
        self._stop_deadline = 0.0
        # guards the counters below; _progress is notified after every write
        self._lock = threading.Lock()
        self._progress = threading.Condition(self._lock)
        self._done = 0  # records taken from the bus and finished (written or invalid)
        self._written = 0
        self._invalid = 0
        self._lines: list[Quarantined] = []  # rejected lines waiting to be quarantined
        self._lines_given = 0  # entries ever handed to quarantine()
        self._lines_done = 0  # of them, written
        self._quarantined = 0
        self._refused: collections.deque[tuple[int, Quarantined]] = collections.deque(
            maxlen=_REFUSED_KEPT
        )  # (number, quarantine entry) of the newest refused records
        self._batches = 0
        self._failed_batches = 0
        self._pending = 0
        self._lost = 0
        self._last_error: str | None = None
        self._throttle = LogThrottle(config.log_interval_s)
        self._unreported = 0  # refused records not yet in a log line (the writer thread's)

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the database (raising now if it cannot), subscribe, start the thread."""
        if self._thread is not None:
            raise RuntimeError(f"Expected {self.name} to be started once, got a second start()")
        config = self.config
        self._conn = open_writer(
            self.db_path, config.busy_timeout_s, config.checkpoint_pages, config.wal_limit_bytes
        )
        if self._bus is None:
            self._subscription = self._source
        else:
            self._subscription = self._bus.subscribe(
                self.name, OverflowPolicy.DURABLE, maxsize=config.writer_queue_size
            )
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> bool:
        """Write everything published so far, then end the thread. True if it ended in time.

        ``timeout`` defaults to the config's ``DB_SINK_STOP_TIMEOUT_S``.
        """
        if timeout is None:
            timeout = self.config.stop_timeout_s
        thread = self._thread
        if thread is None:
            return True
        self._stop_deadline = time.monotonic() + timeout
        self._stopping.set()
        if self._subscription is not None:
            self._subscription.wake()
        thread.join(timeout)
        return not thread.is_alive()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every record published (and every line handed to :meth:`quarantine`)
        before this call is written or quarantined. False on timeout."""
        subscription = self._subscription
        if subscription is None or self._thread is None or not self._thread.is_alive():
            return False
        target = subscription.stats().delivered
        with self._lock:
            lines = self._lines_given
        self._flush_wanted.set()
        subscription.wake()
        with self._progress:
            return self._progress.wait_for(
                lambda: self._done >= target and self._lines_done >= lines, timeout
            )

    def quarantine(self, entries: Sequence[Quarantined]) -> None:
        """Hand over entries (lines a decoder rejected) to be written into the quarantine table
        with the next batch; :meth:`flush` waits for them too. Never blocks."""
        if not entries:
            return
        with self._lock:
            self._lines.extend(entries)
            self._lines_given += len(entries)
        if self._subscription is not None:
            self._subscription.wake()

    def refused_since(self, number: int) -> list[Quarantined]:
        """The quarantine entries of the records refused after the first ``number``
        (``stats().invalid`` taken earlier), as far as the sink remembers them (the newest few
        thousand); each entry's ``record`` is the refused record object."""
        with self._lock:
            return [entry for n, entry in self._refused if n >= number]

    @property
    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stats(self) -> SinkStats:
        queued = self._subscription.qsize() if self._subscription is not None else 0
        with self._lock:
            return SinkStats(
                written=self._written,
                invalid=self._invalid,
                quarantined=self._quarantined,
                batches=self._batches,
                failed_batches=self._failed_batches,
                pending=self._pending,
                queued=queued,
                lost=self._lost,
                last_error=self._last_error,
            )

    # --- the thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        subscription = self._subscription
        conn = self._conn
        assert subscription is not None and conn is not None
        batch: list[TelemetryEvent] = []
        oldest = 0.0  # monotonic time the oldest record of ``batch`` was taken
        failures = 0
        retry_at = 0.0
        while True:
            try:
                now = time.monotonic()
                urgent = self._stopping.is_set() or self._flush_wanted.is_set()
                if failures:  # a failing batch: wait for its retry, take nothing new
                    if self._give_up(now, batch):
                        break
                    if now < retry_at:
                        self._stopping.wait(min(retry_at - now, self._flush_interval_s))
                        continue
                elif len(batch) < self._batch_size:
                    if batch:
                        wait = max(0.0, oldest + self._flush_interval_s - now)
                    else:
                        wait = self._flush_interval_s
                    taken = subscription.get_batch(
                        self._batch_size - len(batch), 0.0 if urgent else wait
                    )
                    if taken and not batch:
                        oldest = time.monotonic()
                    batch += taken
                    with self._lock:
                        self._pending = len(batch)
                    self._watch_depth(subscription)
                    due = time.monotonic() - oldest >= self._flush_interval_s
                    if not batch and not self._lines:
                        if self._stopping.is_set():
                            break
                        self._flush_wanted.clear()
                        continue
                    if len(batch) < self._batch_size and not (urgent or due):
                        continue
                if self._write(conn, batch, failures):
                    batch, failures = [], 0
                    with self._lock:
                        self._pending = 0
                else:
                    failures += 1
                    pause = self.config.retry_backoff_s * 2 ** min(failures - 1, 16)
                    retry_at = time.monotonic() + min(pause, self.config.retry_backoff_max_s)
            except Exception:  # the thread's boundary: report, count, keep going
                _log.exception("%s: unexpected error in the writer loop, continuing", self.name)
                self._stopping.wait(self.config.retry_backoff_s)
        self._close(conn)

    def _write(self, conn: sqlite3.Connection, batch: list[TelemetryEvent], failures: int) -> bool:
        with self._lock:
            lines = self._lines[:]
        try:
            result = write_batch(conn, batch, self._fault_hook, lines, self._decoded)
        except sqlite3.Error as error:  # write_batch raises only transient ones
            with self._lock:
                self._failed_batches += 1
                self._last_error = f"{type(error).__name__}: {error}"
            if failures < self.config.max_retries or self._throttle.ready("failed"):
                first = batch[0] if batch else None
                _log.warning(
                    "%s %s: batch of %d records (first: %s) and %d quarantine entries failed "
                    "(attempt %d) on %s: %s; kept for retry",
                    LOG_SERVICE_DB_SINK_BATCH_FAILED,
                    self.name,
                    len(batch),
                    "none"
                    if first is None
                    else f"run {first.run_id} {first.kind} slot {first.slot} seq {first.seq}",
                    len(lines),
                    failures + 1,
                    self.db_path,
                    error,
                )
            return False
        if failures:
            _log.warning(
                "%s %s: batch of %d records written after %d failed attempts",
                LOG_SERVICE_DB_SINK_BATCH_RECOVERED,
                self.name,
                len(batch),
                failures,
            )
        with self._progress:
            del self._lines[: len(lines)]
            self._lines_done += len(lines)
            for entry in result.quarantined[: result.invalid]:
                self._refused.append((self._invalid, entry))
                self._invalid += 1
            self._done += len(batch)
            self._written += result.rows
            self._quarantined += len(result.quarantined)
            self._batches += 1
            self._progress.notify_all()
        if result.invalid:
            self._report_refused(result)
        return True

    def _report_refused(self, result: BatchResult) -> None:
        """Log the records refused by a batch: the first of each interval with its reason, the
        others counted into the next line."""
        self._unreported += result.invalid
        if not self._throttle.ready("quarantined"):
            return
        first = result.quarantined[0]
        _log.warning(
            "%s %s: %d records quarantined in %s since the last report; one of them: run %s, %s "
            "(gym-gui-bridge quarantine --db %s)",
            LOG_SERVICE_DB_SINK_RECORD_QUARANTINED,
            self.name,
            self._unreported,
            self.db_path,
            first.run_id,
            first.message,
            self.db_path,
        )
        self._unreported = 0

    def _give_up(self, now: float, batch: list[TelemetryEvent]) -> bool:
        """At stop, past the deadline with a batch still failing: count what is lost."""
        if not self._stopping.is_set() or now < self._stop_deadline - self._flush_interval_s:
            return False
        subscription = self._subscription
        queued = subscription.qsize() if subscription is not None else 0
        with self._lock:
            self._lost += len(batch) + queued
            lost, lines = self._lost, len(self._lines)
        _log.error(
            "%s %s: stopping with %d records (and %d rejected lines for the quarantine) not "
            "written to %s (last error: %s)",
            LOG_SERVICE_DB_SINK_RECORDS_LOST,
            self.name,
            lost,
            lines,
            self.db_path,
            self._last_error,
        )
        return True

    def _watch_depth(self, subscription: Subscription | DequeFeed) -> None:
        depth, pressure = subscription.qsize(), self.config.queue_pressure
        if depth > pressure and self._throttle.ready("depth"):
            _log.warning(
                "%s %s: %d records waiting (pressure threshold %d)",
                LOG_SERVICE_DB_SINK_QUEUE_DEPTH,
                self.name,
                depth,
                pressure,
            )

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        """A last passive checkpoint at close. While writing, SQLite's own automatic checkpoint
        (``PRAGMA wal_autocheckpoint`` = ``checkpoint_pages``, set by ``open_writer``) runs at
        each commit that leaves more frames than that in the WAL, and ``journal_size_limit``
        truncates the file after it. (A per-batch check of the WAL *file* size checkpointed
        after every batch once the file had grown: the file is reused, not shrunk.)"""
        try:
            wal_pages = os.stat(self.db_path + "-wal").st_size // _PAGE_BYTES
        except OSError:
            return
        try:
            busy, log_frames, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as error:
            busy, log_frames, done = 1, -1, -1
            self._last_error = f"checkpoint: {error}"
        if (busy or done < log_frames) and self._throttle.ready("checkpoint"):
            _log.info(
                "%s %s: passive checkpoint incomplete (%d of %d frames; WAL %d pages)",
                LOG_SERVICE_DB_SINK_CHECKPOINT,
                self.name,
                done,
                log_frames,
                wal_pages,
            )

    def _close(self, conn: sqlite3.Connection) -> None:
        self._checkpoint(conn)
        if self._subscription is not None:
            self._subscription.unsubscribe()
        conn.close()
        with self._progress:
            self._progress.notify_all()
