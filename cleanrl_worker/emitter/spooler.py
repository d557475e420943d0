"""The emitter's spooler thread: records from the RAM hand-off to JSONL segment files on disk.

Thread ``<name>-spool`` takes what the training thread appended to the hand-off deque (up to
4096 records at a time), encodes it as JSONL v1 and appends it to the current segment
(``seg-NNNNNNNNNNNN.jsonl``) with one ``write`` per chunk of whole lines, through a
:class:`~cleanrl_worker.emitter.segment_writer.SegmentWriter`.

A record leaves the emitter's memory only once all of its line is written. When the spool
cannot take a chunk (a write error such as ENOSPC, EFBIG, EIO or EROFS; a short write; a
segment that cannot be created; the spool root at its cap ``EMITTER_SPOOL_MAX_BYTES``), the
spooler holds the rest of the chunk in memory and tries again with backoff
(``EMITTER_RECONNECT_MIN_S`` doubling to ``EMITTER_RECONNECT_MAX_S``), logging why
(``LOG_EMITTER_SPOOL_BLOCKED``, rate-limited). Meanwhile the hand-off fills; once held and
queued records reach ``EMITTER_QUEUE_SIZE`` the newest are dropped and counted. At stop the
spooler tries once more to write what is held and queued; :meth:`Spooler.seal` then counts as
dropped whatever is still not written. (Values from the emitter's
:class:`~gym_gui_bridge.config.slowlane.EmitterConfig`.)
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from cleanrl_worker.emitter.ledger import SpoolLedger
from cleanrl_worker.emitter.segment_writer import SegmentWriter
from gym_gui_bridge.config.slowlane import EmitterConfig
from gym_gui_bridge.logs import LOG_EMITTER_SPOOL_BLOCKED
from gym_gui_bridge.protocol.jsonl import encode_record
from gym_gui_bridge.protocol.jsonl_batch import encode_valid_batch
from gym_gui_bridge.protocol.limits import JSONL_MAX_LINE_BYTES
from gym_gui_bridge.protocol.records import TelemetryEvent

__all__ = ["Spooler"]

_log = logging.getLogger(__name__)
_TAKE_MAX = 4096  # records the spooler encodes per write() call at most
_SEAL_WAIT_S = 1.0  # longest seal() waits for a write under way to end
_IDLE, _WROTE, _BLOCKED = "idle", "wrote", "blocked"  # outcomes of one step of the thread


class Spooler:
    """Thread ``<name>-spool``: hand-off deque -> segment files; updates the ledger.

    ``reclaim`` makes the spool directory (and its lock) again after it was removed; it returns
    False when it cannot (the spooler then retries later).
    """

    def __init__(
        self,
        ledger: SpoolLedger,
        queue: deque[TelemetryEvent | bytes],
        config: EmitterConfig,
        reclaim: Callable[[], bool] = lambda: True,
    ) -> None:
        self._ledger, self._queue, self._config = ledger, queue, config
        self._writer = SegmentWriter(ledger, config, reclaim)
        self._stop = threading.Event()
        self._wake = threading.Event()  # wake(): spool what is queued now, not at the interval
        # held by the thread around a write and its commit; seal() takes it to end the writing
        self._write_lock = threading.Lock()
        self._pending = b""  # encoded lines taken from the queue and not written yet
        self._pending_lines = 0
        self._thread = threading.Thread(target=self._run, name=f"{ledger.name}-spool", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Write what is held and queued (one attempt each), fsync, close the segment, end the
        thread. True if it ended within ``timeout``."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def seal(self) -> int:
        """Stop writing for good and count every record put and not spooled as dropped (held,
        queued, or put from now on). Returns that count. Waits up to ``_SEAL_WAIT_S`` for a
        write under way; should one outlast that, its records are counted too, and removed
        from the segment if the write ends later while the process lives."""
        ledger = self._ledger
        took = self._write_lock.acquire(timeout=_SEAL_WAIT_S)
        try:
            with ledger.changed:
                ledger.sealed = True
                left = max(0, ledger.put - ledger.spooled - ledger.dropped)
                ledger.dropped += left
                ledger.held = 0
                ledger.changed.notify_all()
        finally:
            if took:
                self._write_lock.release()
        why = "not written to the spool when the emitter closed"
        if ledger.spool_problem:
            why += f": {ledger.spool_problem}"
        ledger.report_drop(left, why)
        return left

    def wake(self) -> None:
        """Spool what is queued now instead of at the next ``EMITTER_FLUSH_INTERVAL_S``."""
        self._wake.set()

    @property
    def is_alive(self) -> bool:
        return self._thread.is_alive()

    # --- the thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        ledger, config = self._ledger, self._config
        backoff = config.reconnect_min_s
        self._writer.measure()
        while True:
            try:
                with self._write_lock:  # seal() waits for the step under way
                    if ledger.sealed:
                        break
                    state = self._step()
            except Exception:  # the thread's boundary: report, retry what is held
                _log.exception("%s: spooling to %s failed, retrying", ledger.name, ledger.spool_dir)
                state = _BLOCKED
            if state == _WROTE:
                backoff = config.reconnect_min_s
                continue
            if self._stop.is_set():
                break  # what is still held or queued is counted by seal()
            if state == _IDLE:
                self._wake.wait(config.flush_interval_s)
                self._wake.clear()
            else:
                self._stop.wait(backoff)
                backoff = min(backoff * 2, config.reconnect_max_s)
        self._writer.close()

    def _step(self) -> str:
        """Take and encode a chunk if none is held, then one attempt at writing it."""
        if not self._pending_lines:
            items = self._take()
            if not items:
                return _IDLE
            self._pending, self._pending_lines = self._encode(items)
            self._ledger.held = self._pending_lines
            if not self._pending_lines:
                return _WROTE  # all dropped (counted): progress all the same
        written, lines, problem = self._writer.write(self._pending)
        if written:
            self._pending = self._pending[written:]
            self._pending_lines -= lines
            self._ledger.held = self._pending_lines
        if problem:
            self._set_problem(problem)
        elif not self._pending_lines:
            self._set_problem("")
            self._writer.sync_if_due()
        return _WROTE if written else _BLOCKED

    def _take(self) -> list[TelemetryEvent | bytes]:
        queue = self._queue
        items: list[TelemetryEvent | bytes] = []
        while queue and len(items) < _TAKE_MAX:
            items.append(queue.popleft())
        self._ledger.held = len(items)
        return items

    def _encode(self, items: list[TelemetryEvent | bytes]) -> tuple[bytes, int]:
        """The JSONL of ``items`` and how many lines it has: in one call when every item is a
        plain record (:func:`encode_valid_batch`), else item by item, dropping (and counting)
        what cannot be encoded or is too long."""
        data = encode_valid_batch(items)  # type: ignore[arg-type]  # bytes items: None
        if data is not None and (
            len(data) <= JSONL_MAX_LINE_BYTES
            or max(map(len, data.split(b"\n"))) <= JSONL_MAX_LINE_BYTES
        ):
            return data, len(items)
        lines: list[bytes] = []
        for item in items:
            try:
                line = item if isinstance(item, bytes) else encode_record(item).encode("utf-8")
            except Exception as error:  # any refusal of the encoder loses this record only
                self._ledger.drop(1, f"not encodable: {error}")
                continue
            if len(line) > JSONL_MAX_LINE_BYTES:
                self._ledger.drop(1, f"line over {JSONL_MAX_LINE_BYTES} bytes")
                continue
            lines.append(line if line.endswith(b"\n") else line + b"\n")
        return b"".join(lines), len(lines)

    def _set_problem(self, problem: str) -> None:
        """Record (and log, rate-limited) why the spool takes nothing now; "" when it does."""
        ledger = self._ledger
        with ledger.lock:
            ledger.spool_problem = problem
        if problem and ledger.throttle.ready("blocked"):
            _log.warning(
                "%s %s: %s; %d records held in memory, retrying (past EMITTER_QUEUE_SIZE the "
                "newest are dropped and counted)",
                LOG_EMITTER_SPOOL_BLOCKED,
                ledger.name,
                problem,
                ledger.held + len(self._queue),
            )
