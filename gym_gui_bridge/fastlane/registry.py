"""Finding the rings on this machine, and removing those whose writer is gone.

Only this user's regular files under the ``mosaic.fastlane.`` prefix are segments. Anything
else there (another user's segment of any mode, a directory, a symbolic link, a FIFO) is a
:class:`SkippedName`: listed with the reason so tools can say so in one line, and never opened
for reading, written or removed.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

from gym_gui_bridge.errors import FastLaneError, FastLaneForeignError, FastLaneNotFoundError
from gym_gui_bridge.fastlane import _shm, layout
from gym_gui_bridge.fastlane.config import FastLaneStatus
from gym_gui_bridge.fastlane.ring_file import RingFile
from gym_gui_bridge.logs import LOG_FASTLANE_SEGMENT_SKIPPED

__all__ = [
    "SegmentEntry",
    "SegmentScan",
    "SkippedName",
    "cleanup_segments",
    "list_segments",
    "log_skipped",
    "scan_segments",
]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentEntry:
    """One ``mosaic.fastlane.*`` segment of this user: its status, or why it could not be read."""

    name: str
    status: FastLaneStatus | None
    problem: str = ""
    #: seconds since the segment was last modified (only measured for unreadable ones)
    age_s: float = 0.0

    @property
    def orphaned(self) -> bool:
        """No live writer owns it: a dead writer's, a closed run's, or unreadable (never set
        up, corrupt) for longer than a writer needs to create it."""
        if self.status is None:
            return self.age_s >= layout.FASTLANE_CREATE_GRACE_S
        return not self.status.writer_alive

    @property
    def run_id(self) -> str:
        if self.status is not None:
            return self.status.run_id
        return layout.run_id_of_name(self.name)


@dataclass(frozen=True)
class SkippedName:
    """A name under the prefix that is not a segment of this user; it is left alone."""

    name: str
    reason: str

    @property
    def note(self) -> str:
        """One line for people: ``skipped /dev/shm/NAME: REASON``."""
        return f"skipped {_shm.path_of(self.name)}: {self.reason}"


@dataclass(frozen=True)
class SegmentScan:
    """What is under the prefix: this user's segments, and the names skipped."""

    entries: list[SegmentEntry]
    skipped: list[SkippedName]


def _age_s(mtime: float) -> float:
    return max(0.0, time.time() - mtime)


def _lstat_age_s(name: str) -> float:
    try:
        return _age_s(os.lstat(_shm.path_of(name)).st_mtime)
    except OSError:
        return 0.0


def _inspect(name: str) -> SegmentEntry | SkippedName:
    try:
        reason = _shm.name_problem(name)
        if reason:
            return SkippedName(name, reason)
        file = _shm.open_file(name)
    except FileNotFoundError:
        return SegmentEntry(name, None, "vanished while listing")
    except FastLaneForeignError as error:  # changed between the lstat and the open
        return SkippedName(name, str(error).removeprefix(_shm.path_of(name) + ": "))
    except ValueError as error:  # empty: a writer between creating and sizing it, or never
        return SegmentEntry(name, None, str(error), _lstat_age_s(name))
    age = _age_s(file.mtime)
    try:
        return SegmentEntry(name, RingFile.of(file).status())
    except FastLaneNotFoundError as error:  # all zero: no header yet
        if age >= layout.FASTLANE_CREATE_GRACE_S:
            problem = f"no header after {age:.0f} s: never set up by a writer (reclaimable)"
            return SegmentEntry(name, None, problem, age)
        return SegmentEntry(name, None, str(error), age)
    except FastLaneError as error:  # corrupt
        return SegmentEntry(name, None, str(error), age)
    finally:
        file.close()


def scan_segments() -> SegmentScan:
    """This user's segments, newest first (unreadable ones last), and the names skipped.

    Reads only; no heartbeat.
    """
    entries: list[SegmentEntry] = []
    skipped: list[SkippedName] = []
    for name in _shm.list_names(layout.NAME_PREFIX):
        found = _inspect(name)
        if isinstance(found, SkippedName):
            skipped.append(found)
        else:
            entries.append(found)
    entries.sort(key=lambda e: -(e.status.created_ns if e.status else -1))
    return SegmentScan(entries, skipped)


def list_segments() -> list[SegmentEntry]:
    """This user's segments, newest first (unreadable ones last). See :func:`scan_segments`."""
    return scan_segments().entries


def cleanup_segments(
    *, dry_run: bool = False, scan: SegmentScan | None = None
) -> list[SegmentEntry]:
    """Unlink every segment of this user whose writer is gone; return those (that would be)
    removed. ``scan`` reuses a :func:`scan_segments` result.

    A segment whose writer still runs is never touched, and neither is a skipped name.
    """
    removed = []
    for entry in (scan or scan_segments()).entries:
        if not entry.orphaned:
            continue
        if dry_run or _shm.unlink(entry.name):
            removed.append(entry)
    return removed


_noted: set[tuple[str, str]] = set()


def log_skipped(skipped: list[SkippedName]) -> None:
    """Log each skipped name once per process (for tools that re-list on a timer)."""
    for item in skipped:
        key = (item.name, item.reason)
        if key not in _noted:
            _noted.add(key)
            _log.warning("%s %s", LOG_FASTLANE_SEGMENT_SKIPPED, item.note)
