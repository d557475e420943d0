"""A reader of a run's ring: ``FastLaneReader.attach(run_id)``. Any number, in any processes.

A reader's only write to the segment is its presence heartbeat. It never unlinks the segment.
It maps only this user's regular files (see :mod:`gym_gui_bridge.fastlane._shm`), and checks
before each use that the file still covers its mapping, so a truncated segment is reported gone
instead of killing the process.
"""

from __future__ import annotations

import os
import time
from typing import NoReturn

import numpy as np

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
from gym_gui_bridge.fastlane.ring import RingView, read_static_header, unpack_metrics

__all__ = ["FastLaneReader"]

_HEARTBEAT_NS = int(layout.FASTLANE_HEARTBEAT_INTERVAL_S * 1e9)
_PUBLISH_NS_AT = layout.S_PUBLISH_NS * 8  # byte offsets within a slot header
_METRICS_AT = layout.METRICS_OFFSET


def _open_named(name: str, run_id: str) -> RingView:
    segment = _shm.attach(name, keep_fd=True)
    try:
        config, stored_id = read_static_header(segment)
        if stored_id != run_id:
            raise FastLaneCorruptError(f"{name}: header names run {stored_id!r}, not {run_id!r}")
        return RingView(segment, config, run_id)
    except BaseException:
        segment.close()
        raise


def _close_view(view: RingView) -> None:
    view.release()
    view.segment.close()


def _rank(view: RingView) -> tuple[bool, int, int]:
    live = view.state == SegmentState.LIVE and view.writer_alive()
    return (live, view.generation, int(view.words[layout.W_CREATED_NS]))


def _open_alternate(run_id: str) -> RingView | None:
    """The best of ``run_id``'s alternate segments (live first, then newest), or None."""
    views: list[RingView] = []
    prefix = create_fastlane_name(run_id) + layout.RUN_NAME_SEPARATOR
    for name in _shm.list_names(prefix):
        try:
            views.append(_open_named(name, run_id))
        except (FastLaneError, OSError, ValueError):
            continue  # another user's, corrupt, or being created: not a ring of this run
    if not views:
        return None
    best = max(views, key=_rank)
    for view in views:
        if view is not best:
            _close_view(view)
    return best


def _open_view(run_id: str) -> RingView:
    """Map the ring of ``run_id``: its plain name if that is this user's segment, else the
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

    def __init__(self, view: RingView, *, announce: bool = True) -> None:
        """Use :meth:`attach`."""
        self.run_id = view.run_id
        self._view: RingView | None = view
        self._announce = announce
        self._last_seq = 0
        self._last_beat_ns = 0
        self._gone = ""
        self.reattach_count = 0

    @classmethod
    def attach(cls, run_id: str, *, announce: bool = True) -> FastLaneReader:
        """Map the ring of ``run_id``.

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
        return self._require_view().segment.name

    @property
    def last_seq(self) -> int:
        """Seq of the newest frame this reader returned (0 = none yet)."""
        return self._last_seq

    @property
    def closed(self) -> bool:
        return self._view is None

    def status(self) -> FastLaneStatus:
        return self._require_view().status()

    def writer_alive(self) -> bool:
        return self._require_view().writer_alive()

    def frames_published(self) -> int:
        """Seq of the newest frame the writer completed (cheap: one word, no copy)."""
        return self._refresh().frames_published

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
        view = self._refresh()
        if self._announce:
            now = time.monotonic_ns()
            if now - self._last_beat_ns >= _HEARTBEAT_NS:
                view.words[layout.W_READER_HEARTBEAT] = now
                self._last_beat_ns = now
        words = view.words
        for _ in range(layout.FASTLANE_READ_RETRIES):
            seq = int(words[layout.W_FRAMES_PUBLISHED])
            if seq == 0 or (only_new and seq <= self._last_seq):
                return None
            index = seq % view.config.capacity
            lock = view.slot_words[index]
            if int(lock[layout.S_LOCK]) != 2 * seq:
                continue
            # Copy with preadv, not from the mapping: if the file is truncated meanwhile, this
            # is a short read, not a SIGBUS.
            head = bytearray(layout.SLOT_HEADER_SIZE)
            data = np.empty(view.frame_shape, np.uint8)
            copied = os.preadv(view.segment.fd, [head, data.data], view.slot_offset(index))
            if copied != len(head) + data.nbytes:
                self._lose(view)
            if int(lock[layout.S_LOCK]) != 2 * seq:
                continue
            self._last_seq = seq
            return FastLaneFrame(
                data=data,
                seq=seq,
                metrics=unpack_metrics(layout.METRICS_STRUCT.unpack_from(head, _METRICS_AT)),
                generation=view.generation,
                publish_ns=int.from_bytes(head[_PUBLISH_NS_AT : _PUBLISH_NS_AT + 8], "little"),
            )
        return None

    def _refresh(self) -> RingView:
        """The view to read: the current one (checked), or the successor of a retired one."""
        view = self._require_view()
        if view.state != SegmentState.RETIRED:
            return view
        try:
            fresh = _open_view(self.run_id)
        except (FastLaneError, ValueError):
            return view  # the writer is between generations; try again on the next poll
        if fresh.generation <= view.generation:
            _close_view(fresh)
            return view
        _close_view(view)
        self._view = fresh
        self._last_seq = 0
        self.reattach_count += 1
        return fresh

    def _require_view(self) -> RingView:
        """The mapped view, after checking that the file still covers the whole mapping.

        Touching a page the file no longer has would kill the process (SIGBUS): a segment
        truncated under the reader is reported gone instead.
        """
        view = self._view
        if view is None:
            if self._gone:
                raise FastLaneNotFoundError(self._gone)
            raise ValueError(f"reader of {self.run_id!r} is closed")
        if view.segment.file_size() < view.segment.size:
            self._lose(view)
        return view

    def _lose(self, view: RingView) -> NoReturn:
        size = view.segment.file_size()
        self._gone = (
            f"{view.segment.name}: truncated to {size} bytes under this reader "
            f"({view.segment.size} mapped): the segment is gone"
        )
        self.close()
        raise FastLaneNotFoundError(self._gone)

    # --- closing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Unmap the segment. Never unlinks it: the writer owns it. Safe to call twice."""
        view = self._view
        if view is None:
            return
        _close_view(view)
        self._view = None

    def __enter__(self) -> FastLaneReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FastLaneReader({self.run_id!r}, last_seq={self._last_seq})"
