"""Where a wrapper's frames go: one slot's ring (:class:`SlotSink`) or a shared grid.

A sink owns the run's :class:`~gym_gui_bridge.fastlane.FastLaneWriter` and its
:class:`~cleanrl_worker.fastlane.budget.FrameBudget`; wrappers ask it whether a frame is wanted and hand
it the rendered frame. :class:`GridCompositor` is one sink shared by the wrappers of the first N
slots of a ``SyncVectorEnv`` (one process): when a grid frame is due it collects one tile from
each slot, in the order the vector env steps them, and publishes the tiled image.

When frames stop (a slot cannot render: :meth:`SlotSink.drop`; publishing failed:
:meth:`SlotSink.fail`) the sink closes its ring, so viewers see the frames end instead of a
frozen last frame, and wants no frame from then on. A grid stops when publishing fails or when
its last tile slot is dropped. Closing never raises.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable

import numpy as np

from cleanrl_worker.fastlane.budget import FrameBudget
from gym_gui_bridge.config.fastlane import FrameConfig, RingConfig
from gym_gui_bridge.errors import FastLaneError
from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneMetrics, FastLaneWriter
from gym_gui_bridge.fastlane.layout import FASTLANE_MAX_EDGE

__all__ = ["GridCompositor", "SlotSink", "downscale"]

Clock = Callable[[], float]


def downscale(frame: np.ndarray, max_dim: int) -> np.ndarray:
    """Shrink ``frame`` by an integer stride until its longest edge is <= ``max_dim`` and <=
    the ring's limit ``FASTLANE_MAX_EDGE`` (``max_dim`` 0: that limit only).

    Striding is nearest-neighbour sampling: no filtering, no copy until the ring's own copy.

    >>> downscale(np.zeros((400, 600, 3), np.uint8), 256).shape
    (134, 200, 3)
    >>> downscale(np.zeros((10, 5000), np.uint8), 0).shape
    (5, 2500)
    """
    longest = max(frame.shape[0], frame.shape[1])
    if max_dim <= 0 or max_dim > FASTLANE_MAX_EDGE:
        max_dim = FASTLANE_MAX_EDGE
    if longest <= max_dim:
        return frame
    stride = math.ceil(longest / max_dim)
    return frame[::stride, ::stride]


def _say(message: str) -> None:
    print(f"cleanrl-fastlane: warning: {message}", file=sys.stderr, flush=True)


class SlotSink:
    """The ring of one watched slot.

    Args:
        run_id: names the ring.
        env_slot: vector-env index shown (-1 for a grid or unknown).
        frames: the frame budget (``fps``, ``budget``, ``render_cost_smoothing``, see
            :class:`FrameBudget`), ``max_dim`` (longest published edge in pixels, 0 = as
            rendered) and ``watch_poll_s`` (seconds between two reads of the ring's "a reader is
            watching" flag).
        ring: the ring's ``capacity`` (frames it holds) and its writer's ``rate_smoothing``.
        clock: monotonic seconds (injectable so tests can count frames without sleeping).
    """

    def __init__(
        self,
        run_id: str,
        *,
        env_slot: int,
        frames: FrameConfig = FrameConfig(),
        ring: RingConfig = RingConfig(),
        clock: Clock = time.perf_counter,
    ) -> None:
        self.run_id = run_id
        self.env_slot = env_slot
        self.frames, self.ring = frames, ring
        self.budget = FrameBudget(frames.fps, frames.budget, frames.render_cost_smoothing)
        self.clock = clock
        self._max_dim = frames.max_dim
        self._watch_poll_s = frames.watch_poll_s
        self._writer: FastLaneWriter | None = None
        self._unavailable = False  # the ring could not be created: no frames for this run
        self._watched = False
        self._next_poll = 0.0
        #: why this sink's frames stopped for good (None while it streams)
        self.failed: str | None = None
        #: a renderer sidecar publishes this ring's frames now: the wrapper renders none
        self.delegated = False

    @property
    def writer(self) -> FastLaneWriter | None:
        return self._writer

    @property
    def rate_hz(self) -> float:
        return self.budget.rate_hz

    @property
    def subject(self) -> str:
        """What this sink shows, for a report line."""
        return f"slot {self.env_slot}"

    def watched(self, now: float) -> bool:
        """Whether a reader is watching, read from the ring at most every ``watch_poll_s``."""
        if now >= self._next_poll:
            self._next_poll = now + self._watch_poll_s
            writer = self._writer
            self._watched = writer is not None and writer.watched
        return self._watched

    def wants(self, slot: int, now: float, terminal: bool) -> bool:
        """Whether ``slot`` should render now: watched, and due (terminal: share cap only)."""
        if self.delegated or self.failed is not None or not self.watched(now):
            return False
        return self.budget.due(now) or (terminal and self.budget.share_allows(now))

    def open(self, slot: int, frame: np.ndarray, metrics: FastLaneMetrics) -> bool:
        """Create the ring with the first frame, so viewers can find the run before watching.

        Returns False when the ring cannot be created (said once on stderr; training goes on
        without frames) or the frame path already failed. A run name held by another user's
        file is no such case: the ring gets an alternate name that viewers find by run id, and
        one line says so.
        """
        if self.failed is not None:
            return False
        frame = downscale(frame, self._max_dim)
        if self._writer is None:
            if self._unavailable:
                return False
            config = FastLaneConfig.for_frame(
                frame, capacity=self.ring.capacity, env_slot=self.env_slot
            )
            try:
                self._writer = FastLaneWriter.create(
                    self.run_id, config, rate_smoothing=self.ring.rate_smoothing
                )
            except (FastLaneError, OSError) as error:
                self._unavailable = True
                _say(f"no fast lane for run {self.run_id!r}: {error}; training continues")
                return False
            if self._writer.displaced:
                _say(
                    f"{self._writer.displaced}; frames go to /dev/shm/{self._writer.name} "
                    f"instead (gym-gui-bridge view {self.run_id} finds it)"
                )
        self._writer.publish(frame, metrics)
        return True

    def put(self, slot: int, frame: np.ndarray, metrics: FastLaneMetrics, start: float) -> None:
        """Publish a frame whose rendering began at ``start``; charge its cost to the budget."""
        if self.failed is not None:
            return
        if self._writer is None:
            self.open(slot, frame, metrics)
        else:
            self._writer.publish(downscale(frame, self._max_dim), metrics)
        self.budget.spent(start, self.clock())

    def drop(self, slot: int) -> None:
        """``slot`` cannot render: stop expecting frames from it (this sink's only slot: the
        ring is closed)."""
        self._stop()

    def fail(self, reason: str) -> bool:
        """Publishing failed: stop this sink's frames for good. True for the first call (the
        caller reports it), False once stopped."""
        if self.failed is not None:
            return False
        self.failed = reason
        self._stop()
        return True

    def close(self, slot: int) -> None:
        """Close the writer (unlinking the ring). Safe to call more than once."""
        if self._writer is not None:
            self._writer.close()

    def _stop(self) -> None:
        """Close the ring after a failure; a ring that cannot even close is left to the writer's
        finalizer (which unlinks it at exit)."""
        with contextlib.suppress(OSError, ValueError, BufferError):
            self.close(-1)


class GridCompositor(SlotSink):
    """One ring showing the first ``tiles`` slots side by side, shared by their wrappers.

    A grid frame is a round: when the budget says a frame is due, every tile slot renders on
    its next step; the tiled image is published once the last tile arrives and the whole round's
    cost is charged to the budget. Tiles of another size than the first are resampled to it.
    Only for wrappers in one process (``SyncVectorEnv``).
    """

    def __init__(
        self,
        run_id: str,
        *,
        tiles: int,
        frames: FrameConfig = FrameConfig(),
        ring: RingConfig = RingConfig(),
        clock: Clock = time.perf_counter,
    ) -> None:
        super().__init__(run_id, env_slot=-1, frames=frames, ring=ring, clock=clock)
        self.tiles = tiles
        self._cols = math.ceil(math.sqrt(tiles))
        self._rows = math.ceil(tiles / self._cols)
        self._canvas: np.ndarray | None = None
        self._members = set(range(tiles))  # slots still able to render
        self._pending: set[int] = set()  # slots yet to deliver their tile this round
        self._round_start = 0.0
        self._round_cost = 0.0

    @property
    def subject(self) -> str:
        return f"the grid of slots 0..{self.tiles - 1}"

    def wants(self, slot: int, now: float, terminal: bool) -> bool:
        if self.failed is not None or not self.watched(now):
            self._pending.clear()
            return False
        if not self._pending and self.budget.due(now):
            self._pending = set(self._members)
            self._round_start, self._round_cost = now, 0.0
        return slot in self._pending

    def drop(self, slot: int) -> None:
        self._members.discard(slot)
        self._pending.discard(slot)
        if not self._members:
            self._stop()

    def open(self, slot: int, frame: np.ndarray, metrics: FastLaneMetrics) -> bool:
        if self.failed is not None:
            return False
        self._paste(slot, frame)
        assert self._canvas is not None
        return super().open(slot, self._canvas, metrics)

    def put(self, slot: int, frame: np.ndarray, metrics: FastLaneMetrics, start: float) -> None:
        if self.failed is not None:
            return
        self._paste(slot, frame)
        self._pending.discard(slot)
        self._round_cost += self.clock() - start
        if self._pending or self._writer is None or self._canvas is None:
            return
        self._writer.publish(downscale(self._canvas, self._max_dim), metrics)
        self.budget.spent(self._round_start, self._round_start + self._round_cost)

    def _paste(self, slot: int, frame: np.ndarray) -> None:
        if frame.ndim == 2:
            frame = frame[:, :, None].repeat(3, axis=2)
        if self._canvas is None:
            height, width, channels = frame.shape
            shape = (height * self._rows, width * self._cols, channels)
            self._canvas = np.zeros(shape, np.uint8)
        height = self._canvas.shape[0] // self._rows
        width = self._canvas.shape[1] // self._cols
        if frame.shape[:2] != (height, width):
            rows = np.arange(height) * frame.shape[0] // height
            cols = np.arange(width) * frame.shape[1] // width
            frame = frame[rows][:, cols]
        channels = min(frame.shape[2], self._canvas.shape[2])
        top, left = (slot // self._cols) * height, (slot % self._cols) * width
        self._canvas[top : top + height, left : left + width, :channels] = frame[:, :, :channels]
