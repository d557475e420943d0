"""The emitter's spooler thread: records from the RAM hand-off to JSONL segment files on disk.

Thread ``<name>-spool`` takes what the training thread appended to the hand-off deque, encodes
it as JSONL v1 and appends it to the current segment (``seg-NNNNNNNNNNNN.jsonl``) with one
``write`` per chunk of whole lines. A new segment starts past ``EMITTER_SEGMENT_BYTES``. fsync:
the current segment every ``EMITTER_FSYNC_INTERVAL_S``, and always at rotation and at stop. The
spool is bounded by ``EMITTER_SPOOL_MAX_BYTES`` of unacknowledged bytes: past it the newest
records are dropped and counted. (All from the emitter's
:class:`~gym_gui_bridge.config.slowlane.EmitterConfig`.)
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque

from cleanrl_worker.emitter.ledger import SpoolLedger
from gym_gui_bridge.config.slowlane import EmitterConfig
from gym_gui_bridge.errors import RecordEncodeError
from gym_gui_bridge.protocol.jsonl import encode_record
from gym_gui_bridge.protocol.jsonl_batch import encode_valid_batch
from gym_gui_bridge.protocol.limits import JSONL_MAX_LINE_BYTES
from gym_gui_bridge.protocol.records import TelemetryEvent
from gym_gui_bridge.protocol.spool import segment_path

__all__ = ["Spooler"]

_log = logging.getLogger(__name__)
_TAKE_MAX = 4096  # records the spooler encodes per write() call at most


class Spooler:
    """Thread ``<name>-spool``: hand-off deque -> segment files; updates the ledger."""

    def __init__(
        self, ledger: SpoolLedger, queue: deque[TelemetryEvent | bytes], config: EmitterConfig
    ) -> None:
        self._ledger, self._queue, self._config = ledger, queue, config
        self._stop = threading.Event()
        self._wake = threading.Event()  # wake(): spool what is queued now, not at the interval
        self._thread = threading.Thread(target=self._run, name=f"{ledger.name}-spool", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Write what is queued, fsync, close the segment, end the thread. True if it ended."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def wake(self) -> None:
        """Spool what is queued now instead of at the next ``EMITTER_FLUSH_INTERVAL_S``."""
        self._wake.set()

    @property
    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        ledger, config = self._ledger, self._config
        fd, number, size, synced_at = -1, 0, 0, time.monotonic()
        while True:
            try:
                items = self._take()
                if not items:
                    if self._stop.is_set() and not self._queue:
                        break
                    self._wake.wait(config.flush_interval_s)
                    self._wake.clear()
                    continue
                data, count = self._encode(items)
                if not count:
                    continue
                if fd < 0 or size >= config.segment_bytes:
                    fd, number, size = self._rotate(fd, number)
                if ledger.unacked_bytes() + len(data) > config.spool_max_bytes:
                    ledger.drop(count, f"spool over {config.spool_max_bytes} bytes")
                    continue
                os.write(fd, data)
                size += len(data)
                with ledger.changed:
                    ledger.sizes[number] = size
                    ledger.spooled += count
                    ledger.changed.notify_all()
                if time.monotonic() - synced_at >= config.fsync_interval_s:
                    os.fsync(fd)
                    synced_at = time.monotonic()
            except Exception:  # the thread's boundary: report and keep going
                _log.exception("%s: spooling to %s failed, retrying", ledger.name, ledger.spool_dir)
                self._stop.wait(config.reconnect_min_s)
        if fd >= 0:
            os.fsync(fd)
            os.close(fd)
        with ledger.changed:
            ledger.open_segment = None
            ledger.changed.notify_all()

    def _take(self) -> list[TelemetryEvent | bytes]:
        queue = self._queue
        items: list[TelemetryEvent | bytes] = []
        while queue and len(items) < _TAKE_MAX:
            items.append(queue.popleft())
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
            except (RecordEncodeError, UnicodeEncodeError) as error:
                self._ledger.drop(1, f"not encodable: {error}")
                continue
            if len(line) > JSONL_MAX_LINE_BYTES:
                self._ledger.drop(1, f"line over {JSONL_MAX_LINE_BYTES} bytes")
                continue
            lines.append(line if line.endswith(b"\n") else line + b"\n")
        return b"".join(lines), len(lines)

    def _rotate(self, fd: int, number: int) -> tuple[int, int, int]:
        if fd >= 0:
            os.fsync(fd)
            os.close(fd)
        ledger = self._ledger
        with ledger.changed:
            number = max([number, *ledger.sizes]) + 1
            ledger.sizes[number], ledger.acked[number] = 0, 0
            ledger.open_segment = number
            ledger.changed.notify_all()
        path = segment_path(ledger.spool_dir, number)
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644), number, 0
