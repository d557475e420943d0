"""The single writer of a run's ring: ``FastLaneWriter.create(run_id, config)``."""

from __future__ import annotations

import os
import time
import weakref
from dataclasses import dataclass

import numpy as np

from gym_gui_bridge.config.fastlane import RingConfig
from gym_gui_bridge.fastlane import _shm, layout
from gym_gui_bridge.fastlane.claim import new_segment, reclaim_run
from gym_gui_bridge.fastlane.config import FastLaneConfig, FastLaneMetrics
from gym_gui_bridge.fastlane.layout import SegmentState, create_fastlane_name
from gym_gui_bridge.fastlane.ring import (
    RingView,
    process_start_ticks,
    publish_header,
    write_frame,
    write_static_header,
)
from gym_gui_bridge.fastlane.state_area import StateChannel

__all__ = ["FastLaneWriter"]

_EMPTY_METRICS = FastLaneMetrics()
_FLOAT = layout.FLOAT_WORD.pack_into


@dataclass
class _Current:
    """The writer's segment now (the exit-time finalizer reads it: no reference to the writer)."""

    view: RingView | None
    name: str


def _finalize(owner_pid: int, current: _Current) -> None:
    """Exit-time cleanup: unlink the segment, but only in the process that created it.

    A forked child inherits this finalizer; it must not remove its parent's live segment.
    """
    if os.getpid() != owner_pid:
        return
    if current.view is not None:
        current.view.words[layout.W_STATE] = SegmentState.CLOSED
    _shm.unlink(current.name)


class FastLaneWriter:
    """Publishes frames into a run's shared-memory ring. Never blocks, never waits for readers.

    >>> import numpy as np
    >>> writer = FastLaneWriter.create("doctest-writer", FastLaneConfig(width=4, height=2))
    >>> writer.publish(np.zeros((2, 4, 3), np.uint8), FastLaneMetrics(last_reward=1.0))
    1
    >>> writer.watched
    False
    >>> writer.close()
    """

    def __init__(
        self,
        run_id: str,
        config: FastLaneConfig,
        generation: int,
        rate_smoothing: float = RingConfig().rate_smoothing,
    ) -> None:
        """Use :meth:`create`; this constructor expects the name to be free."""
        self.run_id = run_id
        self._rate_smoothing = rate_smoothing
        self._config = config
        self._generation = generation
        self._seq = 0
        self._last_publish_ns = 0
        self._rate = 0.0
        self._view: RingView | None = None
        self._channel: StateChannel | None = None
        self._channel_view: RingView | None = None
        self._owner_pid = os.getpid()
        segment, displaced = new_segment(
            run_id, RingView.required_size(config), create_fastlane_name(run_id)
        )
        #: the segment's name: ``mosaic.fastlane.<run_id>``, or an alternate name
        self.name = segment.name
        #: why the plain name was not used ("" when it was), e.g. another user's file holds it
        self.displaced = displaced
        try:
            write_static_header(segment, config, run_id, generation)
            view = RingView(segment, config, run_id)
            view.words[layout.W_WRITER_START] = process_start_ticks(os.getpid())
            view.words[layout.W_STATE] = SegmentState.LIVE
            publish_header(segment)
        except BaseException:
            segment.close()
            _shm.unlink(self.name)
            raise
        self._view = view
        self._current = _Current(view, self.name)
        self._finalizer = weakref.finalize(self, _finalize, os.getpid(), self._current)

    # --- construction ------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        run_id: str,
        config: FastLaneConfig,
        *,
        rate_smoothing: float = RingConfig().rate_smoothing,
    ) -> FastLaneWriter:
        """Create the ring of ``run_id``.

        A segment left by a writer that is gone, or never set up and older than
        ``FASTLANE_CREATE_GRACE_S``, is replaced; one whose writer still runs is not
        (``FastLaneBusyError``): two writers must never share a run id. When the run's name is
        taken by something that is not this user's regular file, the ring gets an alternate
        name (``writer.name``; ``writer.displaced`` says why) that readers find by run id.
        ``rate_smoothing`` (``FASTLANE_RATE_SMOOTHING``) weighs the newest interval in the
        published rate.
        """
        return cls(run_id, config, reclaim_run(run_id) + 1, rate_smoothing)

    # --- properties ------------------------------------------------------------------------

    @property
    def config(self) -> FastLaneConfig:
        return self._config

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def frames_published(self) -> int:
        return self._seq

    @property
    def closed(self) -> bool:
        return self._view is None

    @property
    def watched(self) -> bool:
        """Whether a reader polled within ``FASTLANE_WATCH_TIMEOUT_S``: is rendering worth it?"""
        view = self._view
        return view is not None and view.watched()

    @property
    def publish_rate_hz(self) -> float:
        return self._rate

    @property
    def state_channel(self) -> StateChannel | None:
        """The ring's state area (for a renderer sidecar), None once closed. A new generation
        (geometry change) has a new one."""
        view = self._view
        if view is None:
            return None
        if self._channel is None or self._channel_view is not view:
            self._channel, self._channel_view = StateChannel(view), view
        return self._channel

    def resume(self) -> None:
        """Take frame publishing back from a sidecar: continue after the ring's newest frame."""
        view = self._view
        if view is None:
            return
        channel = self.state_channel
        if channel is not None:
            channel.take_back()
        self._seq = max(self._seq, view.frames_published)
        self._last_publish_ns = 0  # the sidecar's frames are not this writer's interval

    # --- publishing ------------------------------------------------------------------------

    def publish(self, frame: np.ndarray, metrics: FastLaneMetrics | None = None) -> int:
        """Copy ``frame`` and its HUD ``metrics`` into the next slot; return the frame's seq.

        ``frame`` is ``H x W x C`` (or ``H x W`` for grayscale) uint8. A frame of another
        geometry starts a new generation of the segment first (readers re-attach by themselves).
        """
        view = self._view
        if view is None:
            raise ValueError(f"fast lane {self.run_id!r} is closed")
        if frame.shape != view.frame_shape or frame.dtype != np.uint8:
            if frame.ndim == 3 and frame.shape[2] == 1:
                return self.publish(frame[:, :, 0], metrics)
            self.reconfigure(
                FastLaneConfig.for_frame(
                    frame, capacity=self._config.capacity, env_slot=self._config.env_slot
                )
            )
            view = self._view
            assert view is not None
        seq = self._seq + 1
        now = time.time_ns()
        write_frame(view, seq, frame, metrics or _EMPTY_METRICS, now)
        if self._last_publish_ns:
            interval = now - self._last_publish_ns
            if interval > 0:
                self._rate += self._rate_smoothing * (1e9 / interval - self._rate)
                _FLOAT(view.buf, layout.PUBLISH_RATE_OFFSET, self._rate)
        self._last_publish_ns = now
        self._seq = seq
        return seq

    def reconfigure(self, config: FastLaneConfig) -> None:
        """Start a new generation with ``config``: retire the old segment, create a fresh one.

        Frame sequence numbers continue across generations.
        """
        old = self._view
        if old is None:
            raise ValueError(f"fast lane {self.run_id!r} is closed")
        old.words[layout.W_STATE] = SegmentState.RETIRED
        _shm.unlink(self.name)
        self._channel = self._channel_view = None
        old.release()
        old.segment.close()
        self._view = self._current.view = None
        segment, _ = new_segment(self.run_id, RingView.required_size(config), self.name)
        self.name = self._current.name = segment.name
        generation = self._generation + 1
        try:
            write_static_header(segment, config, self.run_id, generation)
            view = RingView(segment, config, self.run_id)
            view.words[layout.W_WRITER_START] = process_start_ticks(os.getpid())
            view.words[layout.W_FRAMES_PUBLISHED] = 0
            view.words[layout.W_STATE] = SegmentState.LIVE
            publish_header(segment)
        except BaseException:
            segment.close()
            _shm.unlink(self.name)
            raise
        self._config = config
        self._generation = generation
        self._view = self._current.view = view

    # --- closing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Mark the run closed, unlink the segment and unmap it. Safe to call twice."""
        view = self._view
        if view is None:
            return
        self._finalizer.detach()
        view.words[layout.W_STATE] = SegmentState.CLOSED
        if os.getpid() == self._owner_pid:
            _shm.unlink(self.name)
        self._channel = self._channel_view = None
        view.release()
        view.segment.close()
        self._view = self._current.view = None

    def __enter__(self) -> FastLaneWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"gen {self._generation}, {self._seq} frames"
        return f"FastLaneWriter({self.run_id!r}, {state})"
