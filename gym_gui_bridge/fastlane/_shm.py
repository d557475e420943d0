"""POSIX shared-memory segments: this user's regular files only, no resource tracker.

``multiprocessing.shared_memory`` on Python < 3.13 registers every segment it *attaches* with
the process's resource tracker, which unlinks it when that process exits: a viewer closing
would destroy the live writer's segment. Neither side of the ring goes through it. Segments are
the files of ``/dev/shm`` (what ``shm_open`` opens on Linux), opened with ``os.open`` and mapped
with ``mmap``; only :func:`unlink` removes a name, and only the writer or an explicit cleanup
calls it.

Only the current user's regular files are segments. :func:`attach` opens with ``O_NOFOLLOW``
(a symbolic link is refused, never followed) and ``O_NONBLOCK`` (a FIFO never blocks), then
checks the *opened descriptor* with ``fstat``: a regular file owned by this process's effective
uid, so what was checked is what gets mapped. Anything else raises ``FastLaneForeignError``
and is never read, written or removed; a cheap ``lstat`` before the open keeps FIFOs and device
nodes from being opened at all. ``/dev/shm`` is sticky (mode 1777): once a name is known to be
this user's file, no other user can remove or replace it, so :func:`unlink` removes that file
and nothing else.

Readers never map a segment: :func:`open_file` checks it the same way and keeps only the
descriptor (:class:`SegmentFile`), and every read is a ``pread``. A file truncated by another
process then gives a short read, never a ``SIGBUS``, whenever the truncation happens.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import pwd
import stat
from dataclasses import dataclass

from gym_gui_bridge.errors import FastLaneForeignError

__all__ = [
    "Segment",
    "SegmentFile",
    "attach",
    "create",
    "exists",
    "foreign_reason",
    "list_names",
    "name_problem",
    "open_file",
    "path_of",
    "unlink",
]

SHM_DIR = "/dev/shm"
_MODE_OWNER_ONLY = 0o600
_OPEN_FLAGS = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY


@dataclass
class Segment:
    """An open mapping of one named segment. ``close()`` unmaps it; it never unlinks.

    ``fd`` is kept open when asked (``attach(keep_fd=True)``), -1 when it was closed after
    mapping.
    """

    name: str
    buf: mmap.mmap
    fd: int = -1
    #: modification time of the file when it was opened (seconds since the epoch)
    mtime: float = 0.0

    @property
    def size(self) -> int:
        """Bytes mapped."""
        return len(self.buf)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.buf.closed:
            return
        # if someone still holds a view into the mapping, it is unmapped when that view dies
        with contextlib.suppress(BufferError):
            self.buf.close()


@dataclass
class SegmentFile:
    """An open descriptor of one named segment, not mapped: read with ``pread``.

    A read past the end of the file (another process truncated it) comes back short instead of
    raising ``SIGBUS``. ``close()`` closes the descriptor; it never unlinks.
    """

    name: str
    fd: int
    #: bytes the file held when it was opened
    size: int
    #: modification time of the file when it was opened (seconds since the epoch)
    mtime: float = 0.0

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset``; fewer if the file now ends before ``offset + length``."""
        return os.pread(self.fd, length, offset)

    def file_size(self) -> int:
        """Bytes the file holds now (``lseek`` to the end: the inode size, cheaper than fstat)."""
        return os.lseek(self.fd, 0, os.SEEK_END)

    @property
    def closed(self) -> bool:
        return self.fd < 0

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def path_of(name: str) -> str:
    return os.path.join(SHM_DIR, name)


def _user(uid: int) -> str:
    try:
        return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    except KeyError:
        return f"uid {uid}"


def foreign_reason(st: os.stat_result) -> str:
    """Why the file described by ``st`` is not one of this user's segments ("" if it is)."""
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device node"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    me = os.geteuid()
    if st.st_uid != me:
        return f"owned by {_user(st.st_uid)}, not by you (uid {me})"
    return ""


def name_problem(name: str) -> str:
    """Why ``name`` is not one of this user's segments ("" if it is), without opening it.

    Raises ``FileNotFoundError`` if there is no such name.
    """
    return foreign_reason(os.lstat(path_of(name)))


def create(name: str, size: int) -> Segment:
    """Create ``name`` with ``size`` bytes, owner read/write only, its memory reserved.

    Raises ``FileExistsError`` if the name exists, whatever it is (a symbolic link included:
    ``O_EXCL`` never follows one), and ``OSError`` (``ENOSPC``) if shared memory is full.
    """
    if size <= 0:
        raise ValueError(f"Expected a positive segment size, got {size}")
    path = path_of(name)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, _MODE_OWNER_ONLY)
    try:
        os.ftruncate(fd, size)
        # Reserve the pages now: on a full /dev/shm this fails here (ENOSPC) instead of the
        # first write to a missing page killing the writer with SIGBUS.
        os.posix_fallocate(fd, 0, size)
        buf = mmap.mmap(fd, size)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    os.close(fd)
    return Segment(name, buf)


def _open_checked(name: str) -> tuple[int, os.stat_result]:
    """Open ``name`` read/write and check the opened descriptor (see the module docstring)."""
    path = path_of(name)
    reason = foreign_reason(os.lstat(path))
    if reason:
        raise FastLaneForeignError(f"{path}: {reason}")
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise
    except OSError as error:  # replaced since the lstat (ELOOP: now a link; EISDIR, EACCES)
        raise FastLaneForeignError(f"{path}: cannot be opened ({error.strerror})") from None
    try:
        st = os.fstat(fd)
        reason = foreign_reason(st)
        if reason:
            raise FastLaneForeignError(f"{path}: {reason}")
        if st.st_size == 0:
            raise ValueError(f"Segment {name!r} is empty (a writer is still creating it?)")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def open_file(name: str) -> SegmentFile:
    """Open an existing segment of this user for ``pread``/``pwrite``, without mapping it.

    Raises as :func:`attach` does.
    """
    fd, st = _open_checked(name)
    return SegmentFile(name, fd, st.st_size, st.st_mtime)


def attach(name: str, *, keep_fd: bool = False) -> Segment:
    """Map an existing segment of this user read/write.

    Raises ``FileNotFoundError`` if there is none, ``FastLaneForeignError`` if the name is not
    a regular file owned by this user, and ``ValueError`` if it is empty (a writer is between
    creating and sizing it). ``keep_fd`` keeps the descriptor open in ``Segment.fd``.
    """
    fd, st = _open_checked(name)
    try:
        buf = mmap.mmap(fd, st.st_size)
    except BaseException:
        os.close(fd)
        raise
    if not keep_fd:
        os.close(fd)
        fd = -1
    return Segment(name, buf, fd, st.st_mtime)


def unlink(name: str) -> bool:
    """Remove ``name`` if it is this user's regular file; existing mappings stay valid.

    Returns False if it was already gone or is not this user's (then it is left alone).
    """
    try:
        if name_problem(name):
            return False
        os.unlink(path_of(name))
    except FileNotFoundError:
        return False
    return True


def exists(name: str) -> bool:
    """Whether anything (a dangling symbolic link included) has this name."""
    return os.path.lexists(path_of(name))


def list_names(prefix: str) -> list[str]:
    """Names in /dev/shm starting with ``prefix``, whatever they are (see :func:`name_problem`)."""
    try:
        entries = os.listdir(SHM_DIR)
    except FileNotFoundError:
        return []
    return sorted(entry for entry in entries if entry.startswith(prefix))
