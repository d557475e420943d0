"""The emitter's spooler thread: records from the RAM hand-off to JSONL segment files on disk.

Thread ``<name>-spool`` takes what the training thread appended to the hand-off deque, encodes
it as JSONL v1 and appends it to the current segment (``seg-NNNNNNNNNNNN.jsonl``) with one
``write`` per chunk of whole lines. A new segment starts past ``EMITTER_SEGMENT_BYTES``. fsync:
the current segment every ``EMITTER_FSYNC_INTERVAL_S``, and always at rotation and at stop.

A record leaves the emitter's memory only once all of its line is written: the ledger counts
whole lines written, never bytes asked for. When the spool cannot take a chunk (a write error
such as ENOSPC, EFBIG, EIO or EROFS; a short write; a segment that cannot be created; the
spool root at its cap ``EMITTER_SPOOL_MAX_BYTES``, see :mod:`gym_gui_bridge.protocol.spool`),
the spooler keeps the chunk in memory and retries with backoff (``EMITTER_RECONNECT_MIN_S`` to
``EMITTER_RECONNECT_MAX_S``); meanwhile the hand-off fills, and once held and queued records
reach ``EMITTER_QUEUE_SIZE`` the newest are dropped and counted. A short write keeps the whole
lines it wrote and cuts off the torn rest (or, if that fails, leaves the segment: the ledger
never counts the torn bytes, and nothing is appended after them). A segment that had data when
a write failed is closed, so that once the bridge has acknowledged it, it is deleted and gives
its space back. A segment whose file was removed (by hand, or with its directory) is left; the
directory and its lock are made again and writing goes on in a new segment. At stop the
spooler tries once more to write what is held and queued; what it cannot write is counted as
dropped by :meth:`Spooler.seal`. (All values from the emitter's
:class:`~gym_gui_bridge.config.slowlane.EmitterConfig`.)
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable

from cleanrl_worker.emitter.ledger import Segment, SpoolLedger
from gym_gui_bridge.config.slowlane import EmitterConfig
from gym_gui_bridge.logs import LOG_EMITTER_SPOOL_BLOCKED
from gym_gui_bridge.protocol.jsonl import encode_record
from gym_gui_bridge.protocol.jsonl_batch import encode_valid_batch
from gym_gui_bridge.protocol.limits import JSONL_MAX_LINE_BYTES
from gym_gui_bridge.protocol.records import TelemetryEvent
from gym_gui_bridge.protocol.spool import segment_path, spool_root_bytes

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
        self._reclaim = reclaim
        self._root = ledger.spool_dir.parent
        self._stop = threading.Event()
        self._wake = threading.Event()  # wake(): spool what is queued now, not at the interval
        # held by the thread around a write and its commit; seal() takes it to end the writing
        self._write_lock = threading.Lock()
        self._pending = b""  # encoded lines taken from the queue and not written yet
        self._pending_lines = 0
        self._fd, self._number, self._size = -1, 0, 0  # current segment: fd, number, bytes
        self._synced_at = time.monotonic()
        self._others = 0  # bytes of the other spools under the root, at the last measure
        self._thread = threading.Thread(target=self._run, name=f"{ledger.name}-spool", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Write what is held and queued (one attempt), fsync, close the segment, end the
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
        self._others = spool_root_bytes(self._root, exclude=ledger.spool_dir)
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
        self._close_segment()

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
        if not self._write_some():
            return _BLOCKED
        if not self._pending_lines:
            self._set_problem("")
            self._sync_if_due()
        return _WROTE

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

    # --- writing ------------------------------------------------------------------------------
    def _write_some(self) -> bool:
        """One attempt at the held lines; True if at least one line was written."""
        data, config = self._pending, self._config
        if self._fd >= 0 and self._size >= config.segment_bytes:
            self._close_segment()
        room = self._room(len(data))
        cut = len(data) if room >= len(data) else data.rfind(b"\n", 0, room) + 1
        if cut == 0:
            self._set_problem(
                f"the spool root {self._root} holds its cap EMITTER_SPOOL_MAX_BYTES "
                f"({config.spool_max_bytes} bytes; other spools there hold {self._others})"
            )
            return False
        if self._fd < 0 and not self._open_segment():
            return False
        error: OSError | None = None
        try:
            written = os.write(self._fd, data[:cut] if cut < len(data) else data)
        except OSError as caught:
            error, written = caught, 0
        whole = data.rfind(b"\n", 0, written) + 1  # the whole lines among what was written
        torn = whole < written and not self._cut_back(self._size + whole)
        if torn:
            error = error or OSError(f"could not cut a torn line off {self._path()}")
        if whole and self._vanished():
            whole, error = 0, FileNotFoundError(f"{self._path()} was removed while written")
        if whole and not self._commit(whole, data.count(b"\n", 0, whole)):
            whole = 0
        if whole < cut:
            with self._ledger.lock:
                self._ledger.write_failures += 1
            what = error or OSError(f"short write ({written} of {cut} bytes)")
            self._set_problem(f"cannot write {self._path()}: {what}")
            if self._size or torn or isinstance(what, FileNotFoundError):
                self._close_segment()  # give it back once acknowledged; write on in a new one
        return whole > 0

    def _commit(self, length: int, lines: int) -> bool:
        """Count ``lines`` whole lines (``length`` bytes) just written; False (the bytes are
        cut off again) if the emitter was sealed or the segment is known lost meanwhile."""
        ledger = self._ledger
        with ledger.changed:
            segment = ledger.segments.get(self._number)
            if not ledger.sealed and segment is not None and segment.lost_from is None:
                segment.size += length
                segment.lines += lines
                ledger.spooled += lines
                self._size += length
                self._pending = self._pending[length:]
                self._pending_lines -= lines
                ledger.held = self._pending_lines
                ledger.changed.notify_all()
                return True
        self._cut_back(self._size)
        return False

    def _cut_back(self, size: int) -> bool:
        try:
            os.ftruncate(self._fd, size)
            return True
        except OSError:
            return False

    def _vanished(self) -> bool:
        """True if the current segment's file was removed (by hand, or with its folder)."""
        try:
            return os.fstat(self._fd).st_nlink == 0
        except OSError:
            return True

    def _room(self, need: int) -> int:
        """Bytes the spool root can still take under ``EMITTER_SPOOL_MAX_BYTES``; measures the
        other spools again when the cap is near."""
        cap = self._config.spool_max_bytes
        with self._ledger.lock:
            own = self._ledger.disk_bytes()
        if self._others + own + need > cap:
            self._others = spool_root_bytes(self._root, exclude=self._ledger.spool_dir)
        return max(0, cap - self._others - own)

    def _open_segment(self) -> bool:
        """Start the next segment (making the spool folder again if it was removed)."""
        ledger = self._ledger
        with ledger.lock:
            number = max([self._number, *ledger.segments]) + 1
        for attempt in range(3):
            path = segment_path(ledger.spool_dir, number)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
                break
            except FileExistsError:
                number += 1
            except FileNotFoundError as error:
                if attempt or not self._reclaim():
                    self._set_problem(f"cannot create {path}: {error}")
                    return False
            except OSError as error:
                self._set_problem(f"cannot create {path}: {error}")
                return False
        else:
            return False
        with ledger.changed:
            ledger.segments[number] = Segment()
            ledger.open_segment = number
        self._fd, self._number, self._size = fd, number, 0
        self._synced_at = time.monotonic()
        self._others = spool_root_bytes(self._root, exclude=ledger.spool_dir)
        return True

    def _close_segment(self) -> None:
        """fsync and close the current segment; delete the settled closed ones."""
        ledger = self._ledger
        if self._fd >= 0:
            gone = self._vanished()
            try:
                os.fsync(self._fd)
            except OSError as error:
                self._sync_failed(error)
            os.close(self._fd)
            self._fd = -1
            if gone:
                self._reclaim()
        with ledger.changed:
            ledger.open_segment = None
            done = ledger.retire()
            ledger.changed.notify_all()
        ledger.delete(done)

    def _sync_if_due(self) -> None:
        if self._fd >= 0 and time.monotonic() - self._synced_at >= self._config.fsync_interval_s:
            try:
                os.fsync(self._fd)
            except OSError as error:
                self._sync_failed(error)
            self._synced_at = time.monotonic()

    def _sync_failed(self, error: OSError) -> None:
        if self._ledger.throttle.ready("fsync"):
            _log.warning(
                "%s %s: fsync of %s failed (%s): its records are shipped from memory's page "
                "cache, a power cut before then may lose them",
                LOG_EMITTER_SPOOL_BLOCKED,
                self._ledger.name,
                self._path(),
                error,
            )

    def _path(self) -> str:
        return str(segment_path(self._ledger.spool_dir, self._number))

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
