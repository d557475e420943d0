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

Every record put is, in the end, either acknowledged by the bridge, left in the spool (counted
in ``pending``) or counted in ``dropped``, never lost unseen:

- Memory is bounded by ``EMITTER_QUEUE_SIZE`` records, queued or held by the spooler while the
  spool cannot take them (disk full, write errors, the spool root at its cap
  ``EMITTER_SPOOL_MAX_BYTES``, shared by every emitter under the root); past it the newest
  records are dropped and counted.
- Spool lines whose file vanished before the bridge had them are counted as dropped.
- At exit, :meth:`BridgeEmitter.close` first lets the spooler write what was put (within its
  timeout); what it could not write is counted as dropped. It then waits the rest of the
  timeout for the acknowledgements; what is left stays in the spool (logged with
  ``LOG_EMITTER_SPOOL_LEFT``) for the bridge's start-up or ``gym-gui-bridge ingest``.

Every ``EMITTER_*`` value comes from the emitter's
:class:`~gym_gui_bridge.config.slowlane.EmitterConfig`.
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
from gym_gui_bridge.logs import LOG_EMITTER_FLUSH_TIMEOUT, LOG_EMITTER_SPOOL_LEFT
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
        tls_ca: str | Path | None = None,
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
        self._spooler = Spooler(self._ledger, self._queue, config, self._reclaim)
        self._shipper = Shipper(self._ledger, address, auth_metadata(token), config, tls_ca)
        self._limit = config.queue_size  # 0 once closed: every later put is dropped, counted
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
        ledger = self._ledger
        ledger.put += 1
        queue = self._queue
        depth = len(queue)
        if depth + ledger.held >= self._limit:
            self._refuse()
            return
        queue.append(record)
        if depth == _WAKE_DEPTH:  # a burst: spool now rather than at the spooler's interval
            self._spooler.wake()

    def _refuse(self) -> None:
        """Count the record just put as dropped, saying why."""
        if not self._limit:
            why = "put after the emitter was closed"
        else:
            why = f"hand-off queue full (EMITTER_QUEUE_SIZE {self.config.queue_size})"
            problem = self._ledger.spool_problem
            if problem:
                why += f" while the spool takes nothing: {problem}"
        self._ledger.drop(1, why)

    def backlog(self) -> int:
        """Records put and not yet written to the spool (queued or held in RAM)."""
        return len(self._queue) + self._ledger.held

    def flush(self, timeout: float | None) -> bool:
        """Wait until every record put so far is acknowledged by the bridge or counted as
        dropped (``timeout`` None: as long as it takes). False on timeout; the reason records
        are waiting (spool full, bridge unreachable, ...) is logged and in ``stats().problem``.
        """
        self._spooler.wake()
        ledger = self._ledger
        with ledger.changed:
            if ledger.changed.wait_for(ledger.all_acked, timeout):
                return True
            waiting = ledger.unacked_lines() + max(0, ledger.put - ledger.spooled - ledger.dropped)
            problem = ledger.problem() or "the bridge has not acknowledged them yet"
        _log.warning(
            "%s %s: flush timed out after %.1f s: %d records not stored yet (%s)",
            LOG_EMITTER_FLUSH_TIMEOUT,
            self.name,
            timeout,
            waiting,
            problem,
        )
        return False

    def _reclaim(self) -> bool:
        """Make the spool folder and its lock again (removed while running); False if the
        folder cannot be made or another process took it meanwhile."""
        lock = self._lock_file
        if lock.still_held():
            return True
        lock.release()
        try:
            return lock.acquire()
        except OSError:
            return False

    def close(self, timeout: float | None = None) -> bool:
        """Spool what was put, wait up to ``timeout`` s (default ``EMITTER_CLOSE_TIMEOUT_S``) for
        the bridge to acknowledge it all, stop both threads. True if nothing is left in the
        spool.

        The spooler gets the timeout first: every record put is either written to the spool or,
        if it could not be written by then (disk full, spool unwritable, time up), counted in
        ``dropped`` before this returns. Later puts are dropped and counted."""
        if timeout is None:
            timeout = self.config.close_timeout_s
        deadline = time.monotonic() + timeout
        self._limit = 0
        if not self._started:
            self._ledger.drop(len(self._queue), "put before the emitter was started")
            self._queue.clear()
            return True
        self._spooler.stop(max(0.0, deadline - time.monotonic()))
        self._spooler.seal()  # what the spooler could not write is counted as dropped
        ledger = self._ledger
        with ledger.changed:
            ledger.changed.wait_for(ledger.all_acked, max(0.0, deadline - time.monotonic()))
            done = ledger.all_acked()
        # joined before the spool's lock is released (it sees the stop within a poll interval),
        # so it can never ship, and delete, a spool another process took over
        self._shipper.stop(max(deadline - time.monotonic(), self.config.reconnect_max_s))
        if done:
            ledger.delete([number for number, _ in list_segments(self.spool_dir)])
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
            with contextlib.suppress(OSError):  # not empty (someone else's files), read-only
                (self.spool_dir / ".lock").unlink(missing_ok=True)
                self.spool_dir.rmdir()
        return done

    def stats(self) -> EmitterStats:
        return self._ledger.stats()

    @property
    def dropped(self) -> int:
        """Records lost, each counted once: refused by the full hand-off, not encodable, not
        written to the spool by close, or in a spool file that vanished before it was sent."""
        return self._ledger.dropped
