"""What the emitter's spooler and shipper threads share: which spool lines exist, which are
acknowledged or known lost, and the counters. One lock guards it all; ``changed`` is notified
when data is spooled, acknowledged or lost.

A segment's lines are tracked in bytes (where the shipper reads) and in lines (what is counted):
``lines`` written, ``acked_lines`` acknowledged by the bridge, and ``lost_from``: the first line
of a segment whose file vanished (removed by hand, or with its directory) before it was sent;
every line from there on was counted in ``dropped`` exactly once.

>>> import tempfile
>>> ledger = SpoolLedger("doc", Path(tempfile.mkdtemp()))
>>> ledger.put = ledger.spooled = 2  # two records put, both written to segment 0 ...
>>> ledger.segments[0] = Segment(size=90, lines=2)  # ... in 90 bytes
>>> ledger.acknowledge(0, 40, 1)  # the bridge acknowledged the first line
>>> ledger.all_acked(), ledger.unacked_lines()
(False, 1)
>>> ledger.acknowledge(0, 90, 2)
>>> ledger.all_acked(), ledger.unacked_lines()
(True, 0)
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from gym_gui_bridge.config.slowlane import EmitterConfig
from gym_gui_bridge.logs import LOG_EMITTER_RECORDS_DROPPED, LogThrottle
from gym_gui_bridge.protocol.spool import list_segments, segment_path

__all__ = ["EmitterStats", "Segment", "SpoolLedger"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmitterStats:
    """Counters of an emitter (records unless named otherwise).

    ``put`` records handed over; ``dropped`` lost (each counted once, with its reason logged);
    ``spooled`` written to the spool; ``accepted`` / ``rejected`` acknowledged by the bridge as
    stored / invalid; ``pending`` in the spool and not yet acknowledged; ``held`` in memory,
    waiting for the spool to take them (disk full, cap reached); ``batches`` sent to the bridge;
    ``problem`` why records are waiting right now (empty when nothing is wrong).
    """

    put: int
    dropped: int
    spooled: int
    accepted: int
    rejected: int
    pending: int
    reconnects: int
    connected: bool
    spool_dir: str
    held: int = 0
    batches: int = 0
    write_failures: int = 0
    problem: str = ""


@dataclass
class Segment:
    """One spool segment file as the ledger knows it (see the module's docstring)."""

    size: int = 0  # bytes of whole lines written
    lines: int = 0  # lines in those bytes
    acked: int = 0  # bytes acknowledged (a prefix)
    acked_lines: int = 0
    lost_from: int | None = None  # first line counted lost (file vanished), None: intact

    @property
    def end_line(self) -> int:
        """Lines the bridge can still get: up to the first lost one."""
        return self.lines if self.lost_from is None else min(self.lines, self.lost_from)

    @property
    def settled(self) -> bool:
        """Every line is acknowledged or counted lost."""
        return self.acked_lines >= self.end_line


class SpoolLedger:
    """The spool's segments and the emitter's counters.

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
        self.segments: dict[int, Segment] = {}
        self.open_segment: int | None = None  # segment the spooler appends to
        self.put = 0  # incremented by the training thread alone, without the lock
        self.held = 0  # records the spooler holds in memory (read without the lock by put())
        self.dropped = 0
        self.spooled = 0
        self.accepted = 0
        self.rejected = 0
        self.batches = 0
        self.write_failures = 0
        self.reconnects = 0
        self.connected = False
        self.sealed = False  # set by close(): whatever is not spooled now is counted dropped
        self.spool_problem = ""  # why the spooler cannot write now
        self.bridge_problem = ""  # why nothing is being acknowledged now
        self.throttle = LogThrottle(log_interval_s)

    def load_existing(self) -> None:
        """Take over the segments an earlier process left (none of their lines acknowledged)."""
        for number, path in list_segments(self.spool_dir):
            data = path.read_bytes()
            size = data.rfind(b"\n") + 1  # a torn last line is ignored
            with self.lock:
                self.segments[number] = Segment(size=size, lines=data.count(b"\n", 0, size))

    def acknowledge(self, number: int, end: int, end_line: int) -> None:
        """The bridge has settled segment ``number`` up to byte ``end`` / line ``end_line``.
        Never moves backwards. The caller holds ``lock`` (or nobody else runs)."""
        segment = self.segments.get(number)
        if segment is not None and end_line > segment.acked_lines:
            segment.acked, segment.acked_lines = end, end_line

    def lose(self, number: int, from_line: int) -> int:
        """Segment ``number`` cannot be read from line ``from_line`` on: count the lines from there
        not counted yet as dropped, and return how many that is (the caller reports them with
        :meth:`report_drop` once it released ``lock``). The caller holds ``lock``."""
        segment = self.segments.get(number)
        if segment is None or from_line >= segment.end_line:
            return 0
        lost = segment.end_line - from_line
        segment.lost_from = from_line
        self.dropped += lost
        return lost

    def retire(self) -> list[int]:
        """Forget the closed segments that are settled; returns their numbers (the caller
        deletes their files). The caller holds ``lock``."""
        done = [n for n, s in self.segments.items() if n != self.open_segment and s.settled]
        for n in done:
            del self.segments[n]
        return done

    def delete(self, numbers: list[int]) -> None:
        """Delete the files of retired segments; one that cannot be deleted (a read-only
        folder) stays on disk for ``close`` or ``ingest`` (its lines are all settled)."""
        for number in numbers:
            with contextlib.suppress(OSError):
                segment_path(self.spool_dir, number).unlink(missing_ok=True)

    def all_acked(self) -> bool:
        """Every record put is spooled (or dropped) and every spooled line acknowledged (or
        counted lost). The caller holds ``lock`` (or accepts a racy answer)."""
        settled = self.spooled + self.dropped >= self.put
        return settled and all(s.settled for s in self.segments.values())

    def unacked_lines(self) -> int:
        """Lines in the spool neither acknowledged nor counted lost. The caller holds ``lock``."""
        return sum(max(0, s.end_line - s.acked_lines) for s in self.segments.values())

    def disk_bytes(self) -> int:
        """Bytes of this spool's segments still on disk. The caller holds ``lock``."""
        return sum(s.size for s in self.segments.values())

    def drop(self, count: int, why: str) -> None:
        """Count ``count`` records as dropped and log it (rate-limited)."""
        with self.lock:
            self.dropped += count
        self.report_drop(count, why)

    def report_drop(self, count: int, why: str) -> None:
        """Log (rate-limited) that ``count`` records were dropped, already counted. Called
        without ``lock``: a blocked stderr must never stall the other thread."""
        if count and self.throttle.ready("drop"):
            _log.warning(
                "%s %s: dropped %d records (%s); %d dropped in all",
                LOG_EMITTER_RECORDS_DROPPED,
                self.name,
                count,
                why,
                self.dropped,
            )

    def problem(self) -> str:
        """Why records are waiting now ("" when nothing is wrong). The caller holds ``lock``."""
        return "; ".join(p for p in (self.spool_problem, self.bridge_problem) if p)

    def stats(self) -> EmitterStats:
        with self.lock:
            return EmitterStats(
                put=self.put,
                dropped=self.dropped,
                spooled=self.spooled,
                accepted=self.accepted,
                rejected=self.rejected,
                pending=self.unacked_lines(),
                reconnects=self.reconnects,
                connected=self.connected,
                spool_dir=str(self.spool_dir),
                held=self.held,
                batches=self.batches,
                write_failures=self.write_failures,
                problem=self.problem(),
            )
