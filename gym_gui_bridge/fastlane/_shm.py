"""POSIX shared-memory segments without the multiprocessing resource tracker.

``multiprocessing.shared_memory`` on Python < 3.13 registers every segment it *attaches* with
the process's resource tracker, which unlinks it when that process exits: a viewer closing
would destroy the live writer's segment. Neither side of the ring goes through it. Segments are
opened with ``_posixshmem.shm_open`` (the call ``SharedMemory`` itself makes) and mapped with
``mmap``; only :func:`unlink` removes a name, and only the writer or an explicit cleanup calls it.
"""

from __future__ import annotations

import _posixshmem  # CPython's own POSIX shm binding (what SharedMemory uses)
import contextlib
import mmap
import os
from dataclasses import dataclass

__all__ = ["Segment", "attach", "create", "exists", "list_names", "unlink"]

SHM_DIR = "/dev/shm"
_MODE_OWNER_ONLY = 0o600


@dataclass
class Segment:
    """An open mapping of one named segment. ``close()`` unmaps it; it never unlinks."""

    name: str
    buf: mmap.mmap

    @property
    def size(self) -> int:
        return len(self.buf)

    def close(self) -> None:
        if self.buf.closed:
            return
        # if someone still holds a view into the mapping, it is unmapped when that view dies
        with contextlib.suppress(BufferError):
            self.buf.close()


def _posix_name(name: str) -> str:
    return "/" + name


def _map(fd: int, size: int) -> mmap.mmap:
    try:
        return mmap.mmap(fd, size)
    finally:
        os.close(fd)


def create(name: str, size: int) -> Segment:
    """Create ``name`` with ``size`` bytes, owner read/write only. Fails if it exists."""
    if size <= 0:
        raise ValueError(f"Expected a positive segment size, got {size}")
    fd = _posixshmem.shm_open(
        _posix_name(name), os.O_CREAT | os.O_EXCL | os.O_RDWR, _MODE_OWNER_ONLY
    )
    try:
        os.ftruncate(fd, size)
    except OSError:
        os.close(fd)
        _posixshmem.shm_unlink(_posix_name(name))
        raise
    return Segment(name, _map(fd, size))


def attach(name: str) -> Segment:
    """Map an existing segment read/write. Raises ``FileNotFoundError`` if there is none."""
    fd = _posixshmem.shm_open(_posix_name(name), os.O_RDWR, 0)
    size = os.fstat(fd).st_size
    if size == 0:
        os.close(fd)
        raise ValueError(f"Segment {name!r} is empty (a writer is still creating it?)")
    return Segment(name, _map(fd, size))


def unlink(name: str) -> bool:
    """Remove ``name``; existing mappings stay valid. Returns False if it was already gone."""
    try:
        _posixshmem.shm_unlink(_posix_name(name))
    except FileNotFoundError:
        return False
    return True


def exists(name: str) -> bool:
    return os.path.exists(os.path.join(SHM_DIR, name))


def list_names(prefix: str) -> list[str]:
    """Names of the segments starting with ``prefix`` (Linux: the files in /dev/shm)."""
    try:
        entries = os.listdir(SHM_DIR)
    except FileNotFoundError:
        return []
    return sorted(entry for entry in entries if entry.startswith(prefix))
