"""The emitter's disk spool: where records wait until the bridge has committed them.

Layout (one directory per run under the spool root, ``EMITTER_SPOOL_DIR`` = ``runs/spool``)::

    runs/spool/<run dir>/
        .lock                       flock(LOCK_EX) held by the live emitter of this run
        seg-000000000001.jsonl      JSONL v1 lines (docs/records.md), append-only
        seg-000000000002.jsonl      a newer segment: every older one is complete

``<run dir>`` is the run id when it is a plain file name, else a sanitised name plus a hash.
A segment holds whole lines except, after a crash, possibly a torn last one (no newline): its
readers skip it. Segments are deleted once every line in them is acknowledged by the bridge.
A directory whose ``.lock`` nobody holds is an *orphan* (its emitter exited or died): the
bridge ingests it at start-up, ``gym-gui-bridge ingest DIR`` does so on demand.

The spool root has one size cap (``EMITTER_SPOOL_MAX_BYTES``) shared by every emitter writing
under it, whatever its run or process. There is no shared accounting file: the files are the
truth. Each emitter measures what the others hold (:func:`spool_root_bytes`) when it starts, at
each new segment and whenever its own count says the cap is near, and adds its own bytes, which
it knows exactly. Another emitter's growth is seen at the latest when the measuring one starts
its next segment, so with N emitters writing at once the root can pass the cap by at most N
segments (``EMITTER_SEGMENT_BYTES`` each); orphan spools count until they are ingested.

>>> import tempfile
>>> root = Path(tempfile.mkdtemp())
>>> d = run_spool_dir(root, "run/1")
>>> d.name.startswith("run_1-"), segment_path(d, 3).name
(True, 'seg-000000000003.jsonl')
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "SpoolLock",
    "find_orphan_spools",
    "iter_complete_lines",
    "list_segments",
    "run_spool_dir",
    "segment_path",
    "spool_root_bytes",
]

_SEGMENT = re.compile(r"^seg-(\d{12})\.jsonl$")
_SAFE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_LOCK_NAME = ".lock"
_READ_CHUNK = 1 << 20  # bytes read at a time when scanning a segment


def run_spool_dir(root: str | Path, run_id: str) -> Path:
    """The spool directory of ``run_id`` under ``root`` (not created)."""
    if _SAFE.match(run_id) and run_id not in {".", ".."}:
        return Path(root) / run_id
    digest = hashlib.sha1(run_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return Path(root) / f"{re.sub(r'[^A-Za-z0-9._-]', '_', run_id)[:80]}-{digest}"


def segment_path(directory: Path, number: int) -> Path:
    return directory / f"seg-{number:012d}.jsonl"


def list_segments(directory: Path) -> list[tuple[int, Path]]:
    """``(number, path)`` of the segments in ``directory``, oldest first."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    found = [(int(m.group(1)), directory / name) for name in names if (m := _SEGMENT.match(name))]
    return sorted(found)


def spool_root_bytes(root: str | Path, exclude: Path | None = None) -> int:
    """Bytes of every segment under ``root`` (one folder per run), but those in ``exclude``.
    Files and folders that vanish while it looks are skipped; a missing root holds 0.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ("a", "b"):
    ...     (root / name).mkdir()
    ...     _ = segment_path(root / name, 1).write_bytes(b"x" * 10)
    >>> spool_root_bytes(root), spool_root_bytes(root, exclude=root / "a")
    (20, 10)
    """
    total = 0
    try:
        folders = list(os.scandir(root))
    except OSError:
        return 0
    for folder in folders:
        if exclude is not None and folder.name == exclude.name and Path(root) == exclude.parent:
            continue
        try:
            if not folder.is_dir(follow_symlinks=False):
                continue
            entries = list(os.scandir(folder.path))
        except OSError:
            continue
        for entry in entries:
            if _SEGMENT.match(entry.name):
                try:
                    total += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
    return total


def iter_complete_lines(
    path: Path, start: int = 0, end: int | None = None
) -> Iterator[tuple[bytes, int]]:
    """``(line, offset after it)`` for each newline-terminated line from ``start`` to ``end``
    (default: the end of the file). A torn last line without newline is not returned."""
    with open(path, "rb") as handle:
        handle.seek(start)
        offset = start
        tail = b""
        while end is None or offset + len(tail) < end:
            want = _READ_CHUNK if end is None else min(_READ_CHUNK, end - offset - len(tail))
            chunk = handle.read(want)
            if not chunk:
                return
            data = tail + chunk
            lines = data.split(b"\n")
            tail = lines.pop()
            for line in lines:
                offset += len(line) + 1
                yield line + b"\n", offset


class SpoolLock:
    """An exclusive, non-blocking ``flock`` on ``<directory>/.lock``; released on process exit
    by the kernel, so a killed emitter never leaves a stale lock."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._fd: int | None = None

    def acquire(self) -> bool:
        """True if this process now holds the lock; False if another one does."""
        if self._fd is not None:
            return True
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def still_held(self) -> bool:
        """False if the lock file was removed (with its directory, say) since it was taken:
        the lock then guards nothing and must be taken again."""
        if self._fd is None:
            return False
        try:
            return os.fstat(self._fd).st_nlink > 0
        except OSError:
            return False

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def find_orphan_spools(root: str | Path) -> list[Path]:
    """Run directories under ``root`` holding segments whose emitter is gone (lock free)."""
    base = Path(root)
    if not base.is_dir():
        return []
    orphans = []
    for directory in sorted(p for p in base.iterdir() if p.is_dir()):
        if not list_segments(directory):
            continue
        lock = SpoolLock(directory)
        if lock.acquire():
            lock.release()
            orphans.append(directory)
    return orphans
