"""The JSONL-to-gRPC emitter: ships a worker's records to the bridge, never losing one.

Two named background threads (:mod:`cleanrl_worker.emitter.spooler`, :mod:`cleanrl_worker.emitter.shipper`,
sharing a :class:`~cleanrl_worker.emitter.ledger.SpoolLedger`); the training thread only appends
to a bounded deque:

- **spooler** (``<name>-spool``): encodes records as JSONL v1 and appends them to the run's disk
  spool (:mod:`gym_gui_bridge.protocol.spool`, ``runs/spool/<run_id>/seg-*.jsonl``). It fsyncs the
  current segment every ``EMITTER_FSYNC_INTERVAL_S``, and always when a segment is closed and
  at exit: a crash of the process loses nothing it wrote, a power cut at most that interval.
- **shipper** (``<name>-ship``): holds one bidirectional ``PublishRecords`` stream to the bridge,
  sends the spool's lines in batches (``EMITTER_BATCH_SIZE`` lines) with up to
  ``EMITTER_MAX_IN_FLIGHT`` batches unacknowledged, and deletes a segment once every line of it
  is acknowledged. The bridge acknowledges a batch after its SQLite commit. When the bridge is
  down, unreachable or restarting, records keep going to disk; the shipper reconnects with
  backoff and resumes from the first unacknowledged line. Re-sent lines are harmless: the store
  ignores a record it already holds.

At exit, :meth:`BridgeEmitter.close` waits a bounded time for the acknowledgements; what is left
stays in the spool (logged with ``LOG_EMITTER_SPOOL_LEFT``) for the bridge's start-up or
``gym-gui-bridge ingest``. Memory is bounded by ``EMITTER_QUEUE_SIZE`` records, disk by
``EMITTER_SPOOL_MAX_BYTES``; past either bound the newest records are dropped and counted. Every
``EMITTER_*`` value comes from the emitter's :class:`~gym_gui_bridge.config.slowlane.EmitterConfig`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from pathlib import Path

from cleanrl_worker.emitter.ledger import EmitterStats, SpoolLedger
from cleanrl_worker.emitter.shipper import Shipper
from cleanrl_worker.emitter.spooler import Spooler
from gym_gui_bridge.config.paths import EMITTER_SPOOL_DIR
from gym_gui_bridge.config.slowlane import EmitterConfig
from gym_gui_bridge.logs import LOG_EMITTER_SPOOL_LEFT
from gym_gui_bridge.protocol.records import TelemetryEvent
from gym_gui_bridge.protocol.spool import SpoolLock, list_segments, run_spool_dir
from gym_gui_bridge.protocol.wire import auth_metadata

__all__ = ["BridgeEmitter", "EmitterStats"]

_log = logging.getLogger(__name__)
#: Records queued that wake the spooler before its ``EMITTER_FLUSH_INTERVAL_S``: a burst
#: (a fast producer) is spooled at once instead of filling ``EMITTER_QUEUE_SIZE`` meanwhile.
_WAKE_DEPTH = 4096


class BridgeEmitter:
    """A record sink (see :mod:`cleanrl_worker.slowlane.record_sink`) that ships to a bridge.

    ``spool_name`` names the spool directory (default: the run id); two emitters of one run in
    two processes (the proxy and its child) need two names, a spool has one owner.
    ``config`` holds the emitter's tunables (batch size, queue and spool bounds, segment size,
    intervals, timeouts).
    """

    def __init__(
        self,
        address: str,
        run_id: str,
        *,
        spool_root: str | Path = EMITTER_SPOOL_DIR,
        token: str | None = None,
        name: str = "fastlane-emitter",
        spool_name: str | None = None,
        config: EmitterConfig = EmitterConfig(),
    ) -> None:
        self.name = name
        self.config = config
        self.address = address
        self.run_id = run_id
        self.spool_dir = run_spool_dir(spool_root, spool_name or run_id)
        self._queue: deque[TelemetryEvent | bytes] = deque()  # training thread -> spooler
        self._ledger = SpoolLedger(name, self.spool_dir, config.log_interval_s)
        self._lock_file = SpoolLock(self.spool_dir)
        self._spooler = Spooler(self._ledger, self._queue, config)
        self._shipper = Shipper(self._ledger, address, auth_metadata(token), config)
        self._started = False

    def start(self) -> None:
        """Take the run's spool (lock), pick up segments a previous process left, start both
        threads. Raises RuntimeError if another live process owns this run's spool."""
        if self._started:
            raise RuntimeError(f"Expected {self.name} to be started once, got a second start()")
        if not self._lock_file.acquire():
            raise RuntimeError(f"Expected to own the spool {self.spool_dir}, another process does")
        self._started = True
        self._ledger.load_existing()
        self._spooler.start()
        self._shipper.start()

    def put(self, record: TelemetryEvent | bytes) -> None:
        """Hand over a record (or an already validated JSONL line). Never blocks."""
        self._ledger.put += 1
        queue = self._queue
        depth = len(queue)
        if depth >= self.config.queue_size:
            self._ledger.drop(1, "hand-off queue full")
            return
        queue.append(record)
        if depth == _WAKE_DEPTH:  # a burst: spool now rather than at the spooler's interval
            self._spooler.wake()

    def backlog(self) -> int:
        """Records put and not yet written to the spool (the RAM hand-off's depth)."""
        return len(self._queue)

    def flush(self, timeout: float | None) -> bool:
        """Wait until every record put so far is acknowledged by the bridge (``timeout`` None:
        as long as it takes). False on timeout."""
        self._spooler.wake()
        with self._ledger.changed:
            return self._ledger.changed.wait_for(self._ledger.all_acked, timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Spool what was put, wait up to ``timeout`` s (default ``EMITTER_CLOSE_TIMEOUT_S``) for
        the bridge to acknowledge it all, stop both threads. True if nothing is left in the
        spool."""
        if timeout is None:
            timeout = self.config.close_timeout_s
        deadline = time.monotonic() + timeout
        if not self._started:
            return True
        spooled = self._spooler.stop(max(0.0, deadline - time.monotonic()))
        ledger = self._ledger
        with ledger.changed:
            ledger.changed.wait_for(ledger.all_acked, max(0.0, deadline - time.monotonic()))
            done = spooled and ledger.all_acked()
        # joined before the spool's lock is released (it sees the stop within a poll interval),
        # so it can never ship, and delete, a spool another process took over
        self._shipper.stop(max(deadline - time.monotonic(), self.config.reconnect_max_s))
        if done:
            for _, path in list_segments(self.spool_dir):
                path.unlink(missing_ok=True)
        else:
            _log.warning(
                "%s %s: %d records not acknowledged by the bridge at %s are kept in %s; "
                "load them with 'gym-gui-bridge ingest %s' (or restart the bridge there)",
                LOG_EMITTER_SPOOL_LEFT,
                self.name,
                self.stats().pending,
                self.address,
                self.spool_dir,
                self.spool_dir,
            )
        self._lock_file.release()
        if done:
            (self.spool_dir / ".lock").unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # not empty: someone else's files
                self.spool_dir.rmdir()
        return done

    def stats(self) -> EmitterStats:
        return self._ledger.stats()

    @property
    def dropped(self) -> int:
        """Records refused (hand-off queue or spool full): lost."""
        return self._ledger.dropped
