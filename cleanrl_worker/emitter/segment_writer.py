"""The spooler's current segment file: appends whole lines, and counts only what is written.

:meth:`SegmentWriter.write` appends the longest run of whole lines the spool takes and adds
them to the ledger (``spooled``, the segment's size and lines) only once all of their bytes are
in the file. What falls short is said, never counted:

- a short write keeps the whole lines it wrote and cuts the torn rest off (``ftruncate``); if
  that fails the segment is left, so nothing is ever appended after a torn line (the ledger's
  size ends before it, and readers skip a torn last line);
- a write error (ENOSPC, EFBIG, EIO, EROFS, ...) or a segment that cannot be created: nothing
  written; a segment that had data is closed, so that once acknowledged it is deleted and its
  space comes back;
- a segment whose file was removed (by hand, or with its folder: ``st_nlink`` 0 after the
  write): its new lines do not count; the folder and its lock are made again (``reclaim``);
- the spool root at its cap ``EMITTER_SPOOL_MAX_BYTES`` (:mod:`gym_gui_bridge.protocol.spool`
  says how it is shared): only the lines that fit.

A new segment starts past ``EMITTER_SEGMENT_BYTES``; fsync every ``EMITTER_FSYNC_INTERVAL_S``,
and always when a segment is closed. (Values from the emitter's
:class:`~gym_gui_bridge.config.slowlane.EmitterConfig`.)
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from cleanrl_worker.emitter.ledger import Segment, SpoolLedger
from gym_gui_bridge.config.slowlane import EmitterConfig
from gym_gui_bridge.logs import LOG_EMITTER_SPOOL_BLOCKED
from gym_gui_bridge.protocol.spool import segment_path, spool_root_bytes

__all__ = ["SegmentWriter"]

_log = logging.getLogger(__name__)


class SegmentWriter:
    """Appends to the spool's current segment for the spooler thread (its only user).

    ``reclaim`` makes the spool folder (and its lock) again after it was removed; False when
    it cannot.
    """

    def __init__(
        self, ledger: SpoolLedger, config: EmitterConfig, reclaim: Callable[[], bool]
    ) -> None:
        self._ledger, self._config, self._reclaim = ledger, config, reclaim
        self._root = ledger.spool_dir.parent
        self._fd, self._number, self._size = -1, 0, 0  # current segment: fd, number, bytes
        self._synced_at = time.monotonic()
        self._others = 0  # bytes of the other spools under the root, at the last measure

    def measure(self) -> None:
        """Measure what the other spools under the root hold."""
        self._others = spool_root_bytes(self._root, exclude=self._ledger.spool_dir)

    def write(self, data: bytes) -> tuple[int, int, str]:
        """Append what the spool takes of ``data`` (whole lines). Returns the bytes and lines
        written and counted, and why not all of ``data`` was ("" if all, or if the rest may
        simply be tried at once)."""
        config = self._config
        if self._fd >= 0 and self._size >= config.segment_bytes:
            self.close()
        room = self._room(len(data))
        cut = len(data) if room >= len(data) else data.rfind(b"\n", 0, room) + 1
        if cut == 0:
            return (
                0,
                0,
                (
                    f"the spool root {self._root} holds its cap EMITTER_SPOOL_MAX_BYTES "
                    f"({config.spool_max_bytes} bytes; other spools there hold {self._others})"
                ),
            )
        if self._fd < 0:
            problem = self._open()
            if problem:
                self._failed()
                return 0, 0, problem
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
        lines = data.count(b"\n", 0, whole)
        refused = self._commit(whole, lines) if whole else ""
        if refused:
            whole, lines, error = 0, 0, OSError(refused)
        if whole == cut:
            return whole, lines, ""
        self._failed()
        what = error or OSError(f"short write ({written} of {cut} bytes)")
        if self._size or torn or refused or isinstance(what, FileNotFoundError):
            self.close()  # give it back once acknowledged; write on in a new one
        return whole, lines, f"cannot write {self._path()}: {what}"

    def sync_if_due(self) -> None:
        if self._fd >= 0 and time.monotonic() - self._synced_at >= self._config.fsync_interval_s:
            try:
                os.fsync(self._fd)
            except OSError as error:
                self._sync_failed(error)
            self._synced_at = time.monotonic()

    def close(self) -> None:
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

    # --- internals ----------------------------------------------------------------------------
    def _commit(self, length: int, lines: int) -> str:
        """Count ``lines`` whole lines (``length`` bytes) just written. Returns "" or why they
        cannot count (the emitter was closed, or the segment is known lost meanwhile): the
        bytes are then cut off again."""
        ledger = self._ledger
        with ledger.changed:
            segment = ledger.segments.get(self._number)
            if ledger.sealed:
                refused = "the emitter was closed"
            elif segment is None or segment.lost_from is not None:
                refused = f"{self._path()} was removed while written"
            else:
                segment.size += length
                segment.lines += lines
                ledger.spooled += lines
                self._size += length
                ledger.changed.notify_all()
                return ""
        self._cut_back(self._size)
        return refused

    def _open(self) -> str:
        """Start the next segment (making the spool folder again if it was removed); returns
        "" or why it cannot."""
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
                    return f"cannot create {path}: {error}"
            except OSError as error:
                return f"cannot create {path}: {error}"
        else:
            return f"cannot create a new segment in {ledger.spool_dir}: the names are taken"
        with ledger.changed:
            ledger.segments[number] = Segment()
            ledger.open_segment = number
        self._fd, self._number, self._size = fd, number, 0
        self._synced_at = time.monotonic()
        self.measure()
        return ""

    def _room(self, need: int) -> int:
        """Bytes the spool root can still take under ``EMITTER_SPOOL_MAX_BYTES``; measures the
        other spools again when the cap is near."""
        cap = self._config.spool_max_bytes
        with self._ledger.lock:
            own = self._ledger.disk_bytes()
        if self._others + own + need > cap:
            self.measure()
        return max(0, cap - self._others - own)

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

    def _failed(self) -> None:
        with self._ledger.lock:
            self._ledger.write_failures += 1

    def _sync_failed(self, error: OSError) -> None:
        if self._ledger.throttle.ready("fsync"):
            _log.warning(
                "%s %s: fsync of %s failed (%s): its records are shipped from the page cache; "
                "a power cut before they are acknowledged may lose them",
                LOG_EMITTER_SPOOL_BLOCKED,
                self._ledger.name,
                self._path(),
                error,
            )

    def _path(self) -> str:
        return str(segment_path(self._ledger.spool_dir, self._number))
