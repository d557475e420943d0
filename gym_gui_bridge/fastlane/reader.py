"""A reader of a run's ring: ``FastLaneReader.attach(run_id)``. Any number, in any processes.

A reader's only write to the segment is its presence heartbeat. It never unlinks the segment.
"""

from __future__ import annotations

import time

import numpy as np

from gym_gui_bridge.errors import FastLaneCorruptError, FastLaneNotFoundError
from gym_gui_bridge.fastlane import _shm, layout
from gym_gui_bridge.fastlane.config import (
    FastLaneConfig,
    FastLaneFrame,
    FastLaneMetrics,
    FastLaneStatus,
)
from gym_gui_bridge.fastlane.layout import SegmentState, create_fastlane_name
from gym_gui_bridge.fastlane.ring import RingView, read_static_header

__all__ = ["FastLaneReader"]

_HEARTBEAT_NS = int(layout.FASTLANE_HEARTBEAT_INTERVAL_S * 1e9)


def _open_view(run_id: str) -> RingView:
    name = create_fastlane_name(run_id)
    try:
        segment = _shm.attach(name)
    except FileNotFoundError:
        raise FastLaneNotFoundError(
            f"no fast lane for run {run_id!r} (no segment {name})"
        ) from None
    except ValueError as error:  # size 0: the writer is between create and ftruncate
        raise FastLaneNotFoundError(str(error)) from None
    try:
        config, stored_id = read_static_header(segment)
        if stored_id != run_id:
            raise FastLaneCorruptError(f"{name}: header names run {stored_id!r}, not {run_id!r}")
        return RingView(segment, config, run_id)
    except BaseException:
        segment.close()
        raise


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
        self.reattach_count = 0

    @classmethod
    def attach(cls, run_id: str, *, announce: bool = True) -> FastLaneReader:
        """Map the ring of ``run_id``.

        ``announce=False`` makes a silent reader (a monitor) that does not count as watching.
        Raises ``FastLaneNotFoundError`` if the run has no segment and ``FastLaneCorruptError``
        if the segment is not a valid ring of this layout version.
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
        self._refresh()
        return self._require_view().frames_published

    # --- reading ----------------------------------------------------------------------------

    def latest_frame(self, *, only_new: bool = True) -> FastLaneFrame | None:
        """Copy the newest complete frame, or return ``None``.

        With ``only_new`` (the default) a frame is copied only if it is newer than the last one
        this reader returned, so an idle viewer copies nothing. Every call also refreshes the
        reader's presence heartbeat, and follows the writer to a new generation if the geometry
        changed.
        """
        self._refresh()
        view = self._view
        if view is None:
            return None
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
            publish_ns = int(lock[layout.S_PUBLISH_NS])
            raw = layout.METRICS_STRUCT.unpack_from(
                view.segment.buf, view.slot_offset(index) + layout.METRICS_OFFSET
            )
            data = np.array(view.pixels[index], copy=True)
            if int(lock[layout.S_LOCK]) != 2 * seq:
                continue
            self._last_seq = seq
            return FastLaneFrame(
                data=data,
                seq=seq,
                metrics=FastLaneMetrics(*raw),
                generation=view.generation,
                publish_ns=publish_ns,
            )
        return None

    def _refresh(self) -> None:
        """Follow a retired segment to its successor (if it exists yet)."""
        view = self._view
        if view is None or view.state != SegmentState.RETIRED:
            return
        try:
            fresh = _open_view(self.run_id)
        except (FastLaneNotFoundError, FastLaneCorruptError):
            return  # the writer is between generations; try again on the next poll
        if fresh.generation <= view.generation:
            fresh.release()
            fresh.segment.close()
            return
        view.release()
        view.segment.close()
        self._view = fresh
        self._last_seq = 0
        self.reattach_count += 1

    def _require_view(self) -> RingView:
        if self._view is None:
            raise ValueError(f"reader of {self.run_id!r} is closed")
        return self._view

    # --- closing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Unmap the segment. Never unlinks it: the writer owns it. Safe to call twice."""
        view = self._view
        if view is None:
            return
        view.release()
        view.segment.close()
        self._view = None

    def __enter__(self) -> FastLaneReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FastLaneReader({self.run_id!r}, last_seq={self._last_seq})"
