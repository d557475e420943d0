"""Claiming a run's segment name for a new writer.

:func:`reclaim_run` removes this user's segments of the run that no writer owns any more (a dead
writer's, a corrupt one, one never set up and older than ``FASTLANE_CREATE_GRACE_S``) and
refuses (``FastLaneBusyError``) when a live writer has one. :func:`new_segment` creates the
segment under the run's plain name or, when that name is held by something that is not this
user's regular file (another user's segment, a directory, a link), under a fresh alternate
name ``mosaic.fastlane.<run_id>+<8 random hex digits>``. Other users' names are never touched.
"""

from __future__ import annotations

import logging
import os
import secrets
import time

from gym_gui_bridge.errors import (
    FastLaneBusyError,
    FastLaneCorruptError,
    FastLaneForeignError,
    FastLaneNotFoundError,
)
from gym_gui_bridge.fastlane import _shm, layout
from gym_gui_bridge.fastlane.layout import (
    SegmentState,
    alternate_fastlane_name,
    create_fastlane_name,
)
from gym_gui_bridge.fastlane.ring_file import RingFile

__all__ = ["new_segment", "reclaim_run"]

_log = logging.getLogger(__name__)
#: Alternate names tried when a run's plain name is taken by something not this user's.
_ALTERNATE_ATTEMPTS = 8


def new_segment(run_id: str, size: int, preferred: str) -> tuple[_shm.Segment, str]:
    """Create the run's segment under ``preferred`` or, when that name is taken by something
    that is not this user's file, under a fresh alternate name.

    Returns the segment and why ``preferred`` was not used ("" when it was). Raises
    ``FastLaneBusyError`` when ``preferred`` is this user's file (another writer created it
    at this moment) or no alternate name could be created.
    """
    try:
        return _shm.create(preferred, size), ""
    except FileExistsError:
        pass
    try:
        reason = _shm.name_problem(preferred)
    except FileNotFoundError:
        reason = "gone again"
    if not reason:
        raise FastLaneBusyError(f"{preferred} is being created by another writer at this moment")
    displaced = f"{_shm.path_of(preferred)} is {reason}"
    for _ in range(_ALTERNATE_ATTEMPTS):
        name = alternate_fastlane_name(run_id, secrets.token_hex(4))
        try:
            return _shm.create(name, size), displaced
        except FileExistsError:
            continue
    raise FastLaneBusyError(f"{displaced}, and {_ALTERNATE_ATTEMPTS} alternate names were taken")


def _mtime(name: str) -> float:
    try:
        return os.lstat(_shm.path_of(name)).st_mtime
    except OSError:
        return time.time()


def _unlink_if_stale(name: str, mtime: float) -> None:
    """Remove a segment no writer ever set up, once older than ``FASTLANE_CREATE_GRACE_S``;
    a younger one may be a writer's between creating it and writing its header."""
    age = time.time() - mtime
    if age < layout.FASTLANE_CREATE_GRACE_S:
        raise FastLaneBusyError(f"{name} is being created by another writer at this moment")
    _log.warning("replacing fast-lane segment %s: never set up by a writer (%.0f s old)", name, age)
    _shm.unlink(name)


def reclaim_run(run_id: str) -> int:
    """Remove this user's dead segments of ``run_id`` (plain and alternate names); return
    the highest generation they had (0 if none). Others' names are left alone."""
    plain = create_fastlane_name(run_id)
    names = [plain, *_shm.list_names(plain + layout.RUN_NAME_SEPARATOR)]
    generation = 0
    for name in names:
        if not _shm.exists(name):
            continue
        try:
            generation = max(generation, _reclaim(name))
        except FastLaneForeignError:
            continue  # not this user's: never touched; the ring goes elsewhere
    return generation


def _reclaim(name: str) -> int:
    """Remove a dead writer's segment; return its generation (0 if unreadable)."""
    try:
        file = _shm.open_file(name)
    except FileNotFoundError:
        return 0
    except ValueError:  # empty: a writer between creating and sizing it, or a stale one
        _unlink_if_stale(name, _mtime(name))
        return 0
    try:
        try:
            status = RingFile.of(file).status()
        except FastLaneNotFoundError:  # all zero: no header yet (or truncated meanwhile)
            _unlink_if_stale(name, file.mtime)
            return 0
        except FastLaneCorruptError:
            _log.warning("replacing corrupt fast-lane segment %s", name)
            _shm.unlink(name)
            return 0
    finally:
        file.close()
    if status.writer_alive and status.state == SegmentState.LIVE:
        pid = status.writer_pid
        owner = "this process" if pid == os.getpid() else f"live process {pid}"
        raise FastLaneBusyError(
            f"run id {status.run_id!r} is already being written by {owner}; "
            "choose another run id (FASTLANE_RUN_ID) or stop that writer"
        )
    _shm.unlink(name)
    return status.generation
