"""Finding the rings on this machine, and removing those whose writer is gone."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from gym_gui_bridge.errors import FastLaneError
from gym_gui_bridge.fastlane import _shm, layout
from gym_gui_bridge.fastlane.config import FastLaneStatus
from gym_gui_bridge.fastlane.ring import RingView, read_static_header

__all__ = ["SegmentEntry", "cleanup_segments", "list_segments"]


@dataclass(frozen=True)
class SegmentEntry:
    """One ``mosaic.fastlane.*`` segment: its status, or why it could not be read."""

    name: str
    status: FastLaneStatus | None
    problem: str = ""
    #: seconds since the segment was last modified (only measured for unreadable ones)
    age_s: float = 0.0

    @property
    def orphaned(self) -> bool:
        """No live writer owns it: a dead writer's, a closed run's, or unreadable for longer
        than a writer needs to create it."""
        if self.status is None:
            return self.age_s >= layout.FASTLANE_CREATE_GRACE_S
        return not self.status.writer_alive

    @property
    def run_id(self) -> str:
        return self.name[len(layout.NAME_PREFIX) :]


def _age_s(name: str) -> float:
    try:
        return time.time() - os.stat(os.path.join(_shm.SHM_DIR, name)).st_mtime
    except OSError:
        return 0.0


def _inspect(name: str) -> SegmentEntry:
    try:
        segment = _shm.attach(name)
    except FileNotFoundError:
        return SegmentEntry(name, None, "vanished while listing")
    except ValueError as error:
        return SegmentEntry(name, None, str(error), _age_s(name))
    try:
        config, run_id = read_static_header(segment)
        view = RingView(segment, config, run_id)
        status = view.status()
        view.release()
        return SegmentEntry(name, status)
    except FastLaneError as error:  # corrupt, or being created (no header yet)
        return SegmentEntry(name, None, str(error), _age_s(name))
    finally:
        segment.close()


def list_segments() -> list[SegmentEntry]:
    """Every fast-lane segment, newest first (unreadable ones last). Reads only; no heartbeat."""
    entries = [_inspect(name) for name in _shm.list_names(layout.NAME_PREFIX)]
    return sorted(entries, key=lambda e: -(e.status.created_ns if e.status else -1))


def cleanup_segments(*, dry_run: bool = False) -> list[SegmentEntry]:
    """Unlink every segment whose writer is gone; return those (that would be) removed.

    A segment whose writer still runs is never touched.
    """
    removed = []
    for entry in list_segments():
        if not entry.orphaned:
            continue
        if dry_run or _shm.unlink(entry.name):
            removed.append(entry)
    return removed
