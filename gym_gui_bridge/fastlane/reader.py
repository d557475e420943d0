"""A reader of a run's ring: ``FastLaneReader.attach(run_id)``. Any number, in any processes.

A reader's only write to the segment is its presence heartbeat. It never unlinks the segment.
It opens only this user's regular files (see :mod:`gym_gui_bridge.fastlane._shm`) and never
maps them: every read is a ``pread`` of the file (:mod:`~gym_gui_bridge.fastlane.ring_file`),
so a segment truncated under the reader, at any moment, is reported gone instead of killing
the process with ``SIGBUS``.
"""

from __future__ import annotations

import time
from typing import NoReturn

from gym_gui_bridge.errors import (
    FastLaneCorruptError,
    FastLaneError,
    FastLaneForeignError,
    FastLaneNotFoundError,
)
from gym_gui_bridge.fastlane import _shm, layout
from gym_gui_bridge.fastlane.config import (
    FastLaneConfig,
    FastLaneFrame,
    FastLaneStatus,
)
from gym_gui_bridge.fastlane.layout import SegmentState, create_fastlane_name
from gym_gui_bridge.fastlane.ring_file import RingFile

__all__ = ["FastLaneReader"]

_HEARTBEAT_NS = int(layout.FASTLANE_HEARTBEAT_INTERVAL_S * 1e9)
_RETIRED = SegmentState.RETIRED


def _open_named(name: str, run_id: str) -> RingFile:
    ring = RingFile.open(name)
    if ring.run_id != run_id:
        ring.close()
        raise FastLaneCorruptError(f"{name}: header names run {ring.run_id!r}, not {run_id!r}")
    return ring


def _open_alternate(run_id: str) -> RingFile | None:
    """The best of ``run_id``'s alternate segments (live first, then newest), or None."""
    ranked: list[tuple[tuple[bool, int, int], RingFile]] = []
    prefix = create_fastlane_name(run_id) + layout.RUN_NAME_SEPARATOR
    for name in _shm.list_names(prefix):
        try:
            ring = _open_named(name, run_id)
        except (FastLaneError, OSError, ValueError):
            continue  # another user's, corrupt, or being created: not a ring of this run
        try:
            ranked.append((ring.rank(), ring))
        except FastLaneError:
            ring.close()  # truncated meanwhile
    if not ranked:
        return None
    best = max(ranked, key=lambda item: item[0])[1]
    for _, ring in ranked:
        if ring is not best:
            ring.close()
    return best


def _open_view(run_id: str) -> RingFile:
    """Open the ring of ``run_id``: its plain name if that is this user's segment, else the
    best alternate name (the plain name taken by another user's file, a link, a directory)."""
    name = create_fastlane_name(run_id)
    try:
        return _open_named(name, run_id)
    except FastLaneNotFoundError:  # this user's segment, header not written yet
        raise
    except FileNotFoundError:
        skipped = ""
    except FastLaneForeignError as error:
        skipped = f"; skipped {error}"
    except ValueError as error:  # size 0: the writer is between create and ftruncate
        raise FastLaneNotFoundError(str(error)) from None
    view = _open_alternate(run_id)
    if view is None:
        raise FastLaneNotFoundError(f"no fast lane for run {run_id!r} (no segment {name}{skipped})")
    return view


class FastLaneReader:
    """Reads the newest complete frame of a run's ring, never a torn one.

    >>> import numpy as np
    >>> from gym_gui_bridge.fastlane import FastLaneWriter, FastLaneConfig
    >>> writer = FastLaneWriter.create("doctest-reader", FastLaneConfig(width=3, height=2))
    >>> reader = FastLaneReader.attach("doctest-reader")
    >>> reader.latest_frame() is None          # nothing published yet
    True
    >>> _ = writer.publish(np.full((2, 3, 3), 7, np.uint8))
    >>> frame = reader.latest_frame()
    >>> frame.seq, frame.data.shape, int(frame.data[0, 0, 0])
    (1, (2, 3, 3), 7)
    >>> reader.latest_frame() is None          # nothing newer: nothing copied
    True
    >>> reader.close(); writer.close()
    """

    def __init__(self, view: RingFile, *, announce: bool = True) -> None:
        """Use :meth:`attach`."""
        self.run_id = view.run_id
        self._view: RingFile | None = view
        self._announce = announce
        self._last_seq = 0
        self._last_beat_ns = 0
        self._gone = ""
        self.reattach_count = 0

    @classmethod
    def attach(cls, run_id: str, *, announce: bool = True) -> FastLaneReader:
        """Open the ring of ``run_id``.

        ``announce=False`` makes a silent reader (a monitor) that does not count as watching.
        Raises ``FastLaneNotFoundError`` if the run has no segment of this user and
        ``FastLaneCorruptError`` if the segment is not a valid ring of this layout version.
        """
        return cls(_open_view(run_id), announce=announce)

    # --- state ------------------------------------------------------------------------------

    @property
    def config(self) -> FastLaneConfig:
        return self._require_view().config

    @property
    def generation(self) -> int:
        return self._require_view().generation

    @property
    def name(self) -> str:
        """Name of the segment read now (plain or alternate, see docs/fastlane.md)."""
        return self._require_view().name

    @property
    def last_seq(self) -> int:
        """Seq of the newest frame this reader returned (0 = none yet)."""
        return self._last_seq

    @property
    def closed(self) -> bool:
        return self._view is None

    def status(self) -> FastLaneStatus:
        view = self._require_view()
        try:
            return view.status()
        except FastLaneNotFoundError as error:
            self._lose(error)

    def writer_alive(self) -> bool:
        view = self._require_view()
        try:
            return view.writer_alive()
        except FastLaneNotFoundError as error:
            self._lose(error)

    def frames_published(self) -> int:
        """Seq of the newest frame the writer completed (cheap: one read of 40 bytes, no copy)."""
        return self._poll()[1]

    # --- reading ----------------------------------------------------------------------------

    def latest_frame(self, *, only_new: bool = True) -> FastLaneFrame | None:
        """Copy the newest complete frame, or return ``None``.

        With ``only_new`` (the default) a frame is copied only if it is newer than the last one
        this reader returned, so an idle viewer copies nothing. Every call also refreshes the
        reader's presence heartbeat, and follows the writer to a new generation if the geometry
        changed. Raises ``FastLaneNotFoundError`` once the segment was truncated under the
        reader (it is gone; the reader is closed).
        """
        if self._view is None and not self._gone:
            return None
        view, seq = self._poll()
        try:
            if self._announce:
                now = time.monotonic_ns()
                if now - self._last_beat_ns >= _HEARTBEAT_NS:
                    view.beat(now)
                    self._last_beat_ns = now
            for _ in range(layout.FASTLANE_READ_RETRIES):
                if seq == 0 or (only_new and seq <= self._last_seq):
                    return None
                copy = view.copy_frame(seq)
                if copy is not None:
                    self._last_seq = seq
                    return FastLaneFrame(
                        data=copy.data,
                        seq=seq,
                        metrics=copy.metrics,
                        generation=view.generation,
                        publish_ns=copy.publish_ns,
                    )
                seq = view.poll()[1]  # lapped during the copy: take the newer frame
        except FastLaneNotFoundError as error:
            self._lose(error)
        return None

    def _poll(self) -> tuple[RingFile, int]:
        """The ring to read and its newest seq: the current ring, or the successor of a retired
        one."""
        view = self._require_view()
        try:
            state, seq = view.poll()
        except FastLaneNotFoundError as error:
            self._lose(error)
        if state != _RETIRED:
            return view, seq
        try:
            fresh = _open_view(self.run_id)
        except (FastLaneError, ValueError):
            return view, seq  # the writer is between generations; try again on the next poll
        if fresh.generation <= view.generation:
            fresh.close()
            return view, seq
        try:
            seq = fresh.poll()[1]
        except FastLaneNotFoundError:
            fresh.close()
            return view, seq
        view.close()
        self._view = fresh
        self._last_seq = 0
        self.reattach_count += 1
        return fresh, seq

    def _require_view(self) -> RingFile:
        view = self._view
        if view is None:
            if self._gone:
                raise FastLaneNotFoundError(self._gone)
            raise ValueError(f"reader of {self.run_id!r} is closed")
        return view

    def _lose(self, error: FastLaneNotFoundError) -> NoReturn:
        """The segment was truncated under this reader: close, and report it gone from now on."""
        self._gone = str(error)
        self.close()
        raise FastLaneNotFoundError(self._gone) from None

    # --- closing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the segment. Never unlinks it: the writer owns it. Safe to call twice."""
        view = self._view
        if view is None:
            return
        view.close()
        self._view = None

    def __enter__(self) -> FastLaneReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FastLaneReader({self.run_id!r}, last_seq={self._last_seq})"
