"""Log ids of both lanes and a rate limiter for repeated log lines.

Log ids are stable strings at the start of a log message, for grep and alerts: a message reads
``"<LOG_ID> what happened: details"``. Some keep the names operators of the older GUI-bound
system search for (``LOG_CREDIT_STARVED``, ``LOG_SERVICE_DB_SINK_*``,
``LOG_WORKER_CONFIG_DURABLE_PATH``). Every id here is logged by some component and explained
for operators in docs/operations.md (a test keeps the two lists equal).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable

__all__ = [
    "LOG_BRIDGE_AUTH_FAILED",
    "LOG_BRIDGE_BATCH_REJECTED",
    "LOG_BRIDGE_SPOOL_INGESTED",
    "LOG_BRIDGE_STATUS",
    "LOG_BRIDGE_STREAM_IDLE",
    "LOG_BRIDGE_STREAM_REFUSED",
    "LOG_CREDIT_STARVED",
    "LOG_EMITTER_ACKS_MISSING",
    "LOG_EMITTER_BRIDGE_UNREACHABLE",
    "LOG_EMITTER_CONNECTED",
    "LOG_EMITTER_FLUSH_TIMEOUT",
    "LOG_EMITTER_RECORDS_DROPPED",
    "LOG_EMITTER_SPOOL_BLOCKED",
    "LOG_EMITTER_SPOOL_LEFT",
    "LOG_FASTLANE_SEGMENT_SKIPPED",
    "LOG_LIVE_RECORD_SKIPPED",
    "LOG_PROXY_CHILD_KILLED",
    "LOG_PROXY_OUTPUT_CLOSED",
    "LOG_PROXY_RECORD_REJECTED",
    "LOG_RECORDER_CLOSE_TIMEOUT",
    "LOG_RECORDER_RECORDS_DROPPED",
    "LOG_RECORDER_SCALAR_MIRROR_FAILED",
    "LOG_RELAY_ATTACHED",
    "LOG_RELAY_TAP_FAILED",
    "LOG_RUNBUS_DURABLE_OVER_BOUND",
    "LOG_RUNBUS_DURABLE_RECORD_LOST",
    "LOG_RUNBUS_SEQ_GAP",
    "LOG_RUNBUS_SUBSCRIBER_OVERFLOW",
    "LOG_SERVICE_DB_SINK_BATCH_FAILED",
    "LOG_SERVICE_DB_SINK_BATCH_RECOVERED",
    "LOG_SERVICE_DB_SINK_CHECKPOINT",
    "LOG_SERVICE_DB_SINK_QUEUE_DEPTH",
    "LOG_SERVICE_DB_SINK_RECORDS_LOST",
    "LOG_SERVICE_DB_SINK_RECORD_QUARANTINED",
    "LOG_WORKER_CONFIG_DURABLE_PATH",
    "LogThrottle",
]

# --- RunBus ---------------------------------------------------------------------------------
#: A stream's ``seq`` skipped numbers: records were lost before they reached the bus.
LOG_RUNBUS_SEQ_GAP = "LOG_RUNBUS_SEQ_GAP"
#: A fast-path subscriber's queue was full: its oldest events were dropped (by design).
LOG_RUNBUS_SUBSCRIBER_OVERFLOW = "LOG_RUNBUS_SUBSCRIBER_OVERFLOW"
#: A durable subscriber's queue passed its soft bound: nothing lost yet, the consumer is slow.
LOG_RUNBUS_DURABLE_OVER_BOUND = "LOG_RUNBUS_DURABLE_OVER_BOUND"
#: A durable subscriber's queue reached its hard cap: records were lost (counted).
LOG_RUNBUS_DURABLE_RECORD_LOST = "LOG_RUNBUS_DURABLE_RECORD_LOST"

# --- live subscribers (fast path) -------------------------------------------------------------
#: A live subscriber ran out of credits and is throttled (once per starvation episode).
LOG_CREDIT_STARVED = "LOG_CREDIT_STARVED"
#: A live subscriber skipped a record its message cannot hold (counted; the stream goes on).
LOG_LIVE_RECORD_SKIPPED = "LOG_LIVE_RECORD_SKIPPED"

# --- SQLite sink (durable path) -------------------------------------------------------------
#: The sink's backlog passed DB_SINK_QUEUE_PRESSURE.
LOG_SERVICE_DB_SINK_QUEUE_DEPTH = "LOG_SERVICE_DB_SINK_QUEUE_DEPTH"
#: Writing a batch failed (locked, disk full, I/O error); it is kept and retried.
LOG_SERVICE_DB_SINK_BATCH_FAILED = "LOG_SERVICE_DB_SINK_BATCH_FAILED"
#: A batch that had failed was written after all.
LOG_SERVICE_DB_SINK_BATCH_RECOVERED = "LOG_SERVICE_DB_SINK_BATCH_RECOVERED"
#: A WAL checkpoint could not complete (readers or other writers in the way).
LOG_SERVICE_DB_SINK_CHECKPOINT = "LOG_SERVICE_DB_SINK_CHECKPOINT"
#: The sink stopped with records it could not write (the fault never cleared).
LOG_SERVICE_DB_SINK_RECORDS_LOST = "LOG_SERVICE_DB_SINK_RECORDS_LOST"
#: Records the sink could not store (invalid, or refused by SQLite) went into the quarantine
#: table; the rest of their batch was stored (rate-limited, with the count since the last line).
LOG_SERVICE_DB_SINK_RECORD_QUARANTINED = "LOG_SERVICE_DB_SINK_RECORD_QUARANTINED"

# --- records and worker ---------------------------------------------------------------------
#: Where the worker's durable path goes (embedded SQLite file or a bridge).
LOG_WORKER_CONFIG_DURABLE_PATH = "LOG_WORKER_CONFIG_DURABLE_PATH"
#: The recorder's exit-time flush did not finish in time.
LOG_RECORDER_CLOSE_TIMEOUT = "LOG_RECORDER_CLOSE_TIMEOUT"
#: The recorder's hand-off queue was full (``RECORDER_BUFFER_LIMIT``): records were refused
#: (counted; logged once, at close, with the count).
LOG_RECORDER_RECORDS_DROPPED = "LOG_RECORDER_RECORDS_DROPPED"
#: Mirroring a ``SummaryWriter.add_scalar`` call failed (the script's call itself succeeded).
LOG_RECORDER_SCALAR_MIRROR_FAILED = "LOG_RECORDER_SCALAR_MIRROR_FAILED"

# --- fast lane -----------------------------------------------------------------------------
#: A name under the fast-lane prefix is not a segment of this user (another user's, a
#: directory, a link, a FIFO): skipped, never read or removed (once per name and process).
LOG_FASTLANE_SEGMENT_SKIPPED = "LOG_FASTLANE_SEGMENT_SKIPPED"

# --- gRPC bridge, emitter and proxy ------------------------------------------------------------
#: The emitter cannot reach the bridge; it keeps spooling to disk and retries with backoff.
LOG_EMITTER_BRIDGE_UNREACHABLE = "LOG_EMITTER_BRIDGE_UNREACHABLE"
#: The emitter (re)connected to the bridge and resumes from the first unacknowledged record.
LOG_EMITTER_CONNECTED = "LOG_EMITTER_CONNECTED"
#: The emitter lost records, each counted in ``dropped``: its RAM hand-off was full, a record
#: could not be encoded, the spool could not take them by close, or a spool file vanished.
LOG_EMITTER_RECORDS_DROPPED = "LOG_EMITTER_RECORDS_DROPPED"
#: The emitter's spool takes no records (disk full, write error, spool root at its cap): they
#: wait in memory and the write is retried with backoff.
LOG_EMITTER_SPOOL_BLOCKED = "LOG_EMITTER_SPOOL_BLOCKED"
#: The bridge ended a publishing stream without acknowledging every batch, or acknowledged one
#: that does not match what was sent: the emitter sends them again.
LOG_EMITTER_ACKS_MISSING = "LOG_EMITTER_ACKS_MISSING"
#: ``flush`` on the emitter timed out (how many records wait and why).
LOG_EMITTER_FLUSH_TIMEOUT = "LOG_EMITTER_FLUSH_TIMEOUT"
#: The emitter exited with unacknowledged records left in its spool (path and count given).
LOG_EMITTER_SPOOL_LEFT = "LOG_EMITTER_SPOOL_LEFT"
#: A request to the bridge lacked the shared token or had a wrong one (UNAUTHENTICATED).
LOG_BRIDGE_AUTH_FAILED = "LOG_BRIDGE_AUTH_FAILED"
#: Records of a published batch were rejected (reasons in the message and the ack).
LOG_BRIDGE_BATCH_REJECTED = "LOG_BRIDGE_BATCH_REJECTED"
#: The bridge loaded an orphaned spool (or a file given to ``ingest``).
LOG_BRIDGE_SPOOL_INGESTED = "LOG_BRIDGE_SPOOL_INGESTED"
#: Periodic status line of ``gym-gui-bridge serve`` (runs, records/s, depths, drops, WAL).
LOG_BRIDGE_STATUS = "LOG_BRIDGE_STATUS"
#: A stream was refused at a cap (in all or per peer; RESOURCE_EXHAUSTED names the cap).
LOG_BRIDGE_STREAM_REFUSED = "LOG_BRIDGE_STREAM_REFUSED"
#: A publishing stream idle for BRIDGE_IDLE_TIMEOUT_S was ended, freeing its slot.
LOG_BRIDGE_STREAM_IDLE = "LOG_BRIDGE_STREAM_IDLE"
#: The frame relay attached to or detached from a watched run's ring.
LOG_RELAY_ATTACHED = "LOG_RELAY_ATTACHED"
#: A relay tap thread failed; its watches see state "closed".
LOG_RELAY_TAP_FAILED = "LOG_RELAY_TAP_FAILED"
#: The trainer telemetry proxy rejected a line that looked like a JSONL record.
LOG_PROXY_RECORD_REJECTED = "LOG_PROXY_RECORD_REJECTED"
#: The proxy's stdout or stderr was closed (``| head``): it ends the child and exits.
LOG_PROXY_OUTPUT_CLOSED = "LOG_PROXY_OUTPUT_CLOSED"
#: The proxy's child outlived SIGTERM by the stop grace and was killed (SIGKILL).
LOG_PROXY_CHILD_KILLED = "LOG_PROXY_CHILD_KILLED"


class LogThrottle:
    """Says whether a log line for ``key`` is due: the first time, then once per ``interval_s``.

    Keys whose interval has passed are forgotten once many keys have gathered, so a throttle
    keyed by short-lived things (streams, subscribers) stays small.

    >>> throttle = LogThrottle(60.0)
    >>> throttle.ready("gap"), throttle.ready("gap"), throttle.ready("other")
    (True, False, True)
    """

    _PRUNE_AT = 1024  # keys held before the ones past their interval are forgotten

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._lock = threading.Lock()  # guards _last and _prune_at
        self._last: dict[Hashable, float] = {}
        self._prune_at = self._PRUNE_AT

    def ready(self, key: Hashable) -> bool:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self._interval_s:
                return False
            self._last[key] = now
            if len(self._last) > self._prune_at:  # amortised: the bound doubles with live keys
                self._last = {k: t for k, t in self._last.items() if now - t < self._interval_s}
                self._prune_at = max(self._PRUNE_AT, 2 * len(self._last))
            return True

    def __len__(self) -> int:
        """Keys remembered now."""
        with self._lock:
            return len(self._last)
