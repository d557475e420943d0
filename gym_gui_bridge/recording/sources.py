"""Where a recording's frames come from: a run's ring on this machine (``RingSource``).

A source hands out the newest frame it has not handed out yet, and says when the run has ended.
The remote source (frames relayed by a bridge) is in :mod:`gym_gui_bridge.recording.remote`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from gym_gui_bridge.errors import FastLaneError
from gym_gui_bridge.fastlane import FastLaneReader, SegmentState

__all__ = ["FrameSource", "RingSource", "SourceFrame"]

#: How often a source without a ring retries attaching (seconds): cheap, but a directory scan.
_ATTACH_RETRY_S = 0.25
#: How often an attached source checks that the writer is alive (seconds): reads /proc.
_LIVENESS_INTERVAL_S = 0.25


@dataclass(frozen=True)
class SourceFrame:
    """One frame of the run: pixels (``H x W`` or ``H x W x 1/3/4`` uint8) and where it is from."""

    data: np.ndarray = field(repr=False)
    seq: int
    env_slot: int
    generation: int


class FrameSource(Protocol):
    """What a recording reads: a run's newest frames, and whether the run has ended."""

    @property
    def description(self) -> str:
        """The run, as messages name it (``run X``, ``run X on bridge H:P``)."""
        ...

    def poll(self) -> SourceFrame | None:
        """The newest frame not handed out yet, or ``None`` (nothing newer, or no ring yet)."""
        ...

    def ended(self) -> str:
        """ "" while the run may still show frames; once it has ended, why."""
        ...

    def waiting_for(self) -> str:
        """Why no frame came yet, for the message when waiting for the first one times out."""
        ...

    def close(self) -> None:
        """Stop reading (never touches the run). Safe to call twice."""
        ...


class RingSource:
    """The frames of ``run_id``'s ring on this machine, read as a viewer reads them.

    The reader announces itself, so the worker renders the watched slot while the recording
    runs, exactly as it does for a viewer. Until the ring exists (or while only a finished or
    dead writer's ring is there) the source retries attaching; once attached, the run has
    ended when its writer closes the ring, dies, or the ring is removed. A ring that changes
    geometry is followed to its next generation.
    """

    def __init__(self, run_id: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.run_id = run_id
        self._clock = clock
        self._reader: FastLaneReader | None = None
        self._next_attach = 0.0
        self._next_liveness = 0.0
        self._why_waiting = f"no fast lane for run {run_id!r} (gym-gui-bridge fastlanes lists them)"
        self._ended = ""

    @property
    def description(self) -> str:
        return f"run {self.run_id!r}"

    def poll(self) -> SourceFrame | None:
        if self._ended:
            return None
        reader = self._reader or self._attach()
        if reader is None:
            return None
        try:
            frame = reader.latest_frame(only_new=True)
        except (FastLaneError, ValueError) as error:
            self._end(f"its ring became unreadable: {error}")
            return None
        if frame is None:
            return None
        return SourceFrame(frame.data, frame.seq, reader.config.env_slot, frame.generation)

    def ended(self) -> str:
        reader = self._reader
        if reader is None or self._ended:
            return self._ended
        now = self._clock()
        if now < self._next_liveness:
            return ""
        self._next_liveness = now + _LIVENESS_INTERVAL_S
        try:
            status = reader.status()
        except (FastLaneError, ValueError) as error:
            self._end(f"its ring became unreadable: {error}")
        else:
            if status.state == SegmentState.CLOSED:
                self._end("the run closed its fast lane")
            elif not status.writer_alive:
                self._end(f"its writer (pid {status.writer_pid}) is gone")
        return self._ended

    def waiting_for(self) -> str:
        if self._reader is not None:
            return f"run {self.run_id!r} published no frame (is its env stepping?)"
        return self._why_waiting

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _attach(self) -> FastLaneReader | None:
        now = self._clock()
        if now < self._next_attach:
            return None
        self._next_attach = now + _ATTACH_RETRY_S
        try:
            reader = FastLaneReader.attach(self.run_id, announce=True)
            status = reader.status()
        except (FastLaneError, ValueError) as error:
            self._why_waiting = str(error)
            return None
        if status.state == SegmentState.CLOSED or not status.writer_alive:
            reader.close()  # a finished or crashed run's ring: wait for a live one
            self._why_waiting = (
                f"run {self.run_id!r} has a fast lane, but its writer (pid {status.writer_pid}) "
                "is gone or closed it"
            )
            return None
        self._reader = reader
        self._next_liveness = now + _LIVENESS_INTERVAL_S
        return reader

    def _end(self, why: str) -> None:
        self._ended = why
        self.close()
