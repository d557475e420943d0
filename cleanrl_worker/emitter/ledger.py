"""What the emitter's spooler and shipper threads share: which spool bytes exist, which are
acknowledged, and the counters. One lock guards it all; ``changed`` is notified when data is
spooled or acknowledged.

>>> import tempfile
>>> ledger = SpoolLedger("doc", Path(tempfile.mkdtemp()))
>>> ledger.put = ledger.spooled = 2  # two records put, both written to segment 0 ...
>>> ledger.sizes[0], ledger.acked[0] = 90, 40  # ... in 90 bytes; the bridge acked the first 40
>>> ledger.all_acked(), ledger.unacked_bytes()
(False, 50)
>>> ledger.acked[0] = 90
>>> ledger.all_acked(), ledger.unacked_bytes()
(True, 0)
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from gym_gui_bridge.config.slowlane import EmitterConfig
from gym_gui_bridge.logs import LOG_EMITTER_RECORDS_DROPPED, LogThrottle
from gym_gui_bridge.protocol.spool import list_segments

__all__ = ["EmitterStats", "SpoolLedger"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmitterStats:
    """Counters of an emitter (records). ``pending`` is spooled and not yet acknowledged."""

    put: int
    dropped: int
    spooled: int
    accepted: int
    rejected: int
    pending: int
    reconnects: int
    connected: bool
    spool_dir: str


class SpoolLedger:
    """The spool's segments (bytes written, bytes acknowledged) and the emitter's counters.

    ``log_interval_s`` (``EMITTER_LOG_INTERVAL_S``) rate-limits the emitter's repeated warnings.
    """

    def __init__(
        self, name: str, spool_dir: Path, log_interval_s: float = EmitterConfig().log_interval_s
    ) -> None:
        self.name = name
        self.spool_dir = spool_dir
        # guards every attribute below; ``changed`` waits on it
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.sizes: dict[int, int] = {}  # segment -> bytes of whole lines written
        self.acked: dict[int, int] = {}  # segment -> offset acknowledged up to
        self.open_segment: int | None = None  # segment the spooler appends to
        self.put = 0  # incremented by the training thread alone, without the lock
        self.dropped = 0
        self.spooled = 0
        self.accepted = 0
        self.rejected = 0
        self.reconnects = 0
        self.connected = False
        self.throttle = LogThrottle(log_interval_s)

    def load_existing(self) -> None:
        """Take over the segments an earlier process left (none of their lines acknowledged)."""
        for number, path in list_segments(self.spool_dir):
            data = path.read_bytes()
            with self.lock:
                self.sizes[number] = data.rfind(b"\n") + 1  # a torn last line is ignored
                self.acked[number] = 0

    def all_acked(self) -> bool:
        """Every record put is spooled (or dropped) and every spooled line acknowledged.
        The caller holds ``lock`` (or accepts a racy answer)."""
        settled = self.spooled + self.dropped >= self.put
        return settled and all(self.acked[n] >= s for n, s in self.sizes.items())

    def unacked_bytes(self) -> int:
        with self.lock:
            return sum(size - self.acked.get(n, 0) for n, size in self.sizes.items())

    def drop(self, count: int, why: str) -> None:
        """Count ``count`` records as dropped and log it (rate-limited)."""
        with self.lock:
            self.dropped += count
            total = self.dropped
        if self.throttle.ready("drop"):
            _log.warning(
                "%s %s: dropped %d records (%s); %d dropped in all",
                LOG_EMITTER_RECORDS_DROPPED,
                self.name,
                count,
                why,
                total,
            )

    def stats(self) -> EmitterStats:
        with self.lock:
            return EmitterStats(
                put=self.put,
                dropped=self.dropped,
                spooled=self.spooled,
                accepted=self.accepted,
                rejected=self.rejected,
                pending=max(0, self.spooled - self.accepted - self.rejected),
                reconnects=self.reconnects,
                connected=self.connected,
                spool_dir=str(self.spool_dir),
            )
