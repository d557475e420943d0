"""Value types of the fast lane: ring geometry, HUD metrics, a copied frame, a segment's status."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from gym_gui_bridge.config.fastlane import RingConfig
from gym_gui_bridge.fastlane.layout import (
    FASTLANE_MAX_CAPACITY,
    FASTLANE_MAX_EDGE,
    FASTLANE_STALE_PUBLISH_S,
    PixelFormat,
    SegmentState,
)

__all__ = ["FastLaneConfig", "FastLaneFrame", "FastLaneMetrics", "FastLaneStatus"]


@dataclass(frozen=True)
class FastLaneConfig:
    """Geometry of one ring.

    Args:
        width: frame width in pixels.
        height: frame height in pixels.
        channels: 1 (grayscale), 3 (RGB) or 4 (RGBA).
        capacity: frame slots in the ring (memory is ``capacity`` frames); default
            ``FASTLANE_CAPACITY`` (:class:`~gym_gui_bridge.config.fastlane.RingConfig`).
        env_slot: the vector-env index these frames show, -1 for a grid or unknown.

    >>> FastLaneConfig(width=600, height=400).frame_shape
    (400, 600, 3)
    >>> FastLaneConfig(width=0, height=400)
    Traceback (most recent call last):
    ...
    ValueError: Expected width in 1..4096, got 0
    """

    width: int
    height: int
    channels: int = 3
    capacity: int = RingConfig().capacity
    env_slot: int = -1

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 1 <= value <= FASTLANE_MAX_EDGE:
                raise ValueError(f"Expected {name} in 1..{FASTLANE_MAX_EDGE}, got {value!r}")
        PixelFormat.for_channels(self.channels)
        if not isinstance(self.capacity, int) or not 2 <= self.capacity <= FASTLANE_MAX_CAPACITY:
            raise ValueError(
                f"Expected capacity in 2..{FASTLANE_MAX_CAPACITY}, got {self.capacity!r}"
            )
        if not isinstance(self.env_slot, int) or self.env_slot < -1:
            raise ValueError(f"Expected env_slot >= -1, got {self.env_slot!r}")

    @property
    def frame_shape(self) -> tuple[int, ...]:
        """Shape of a frame as published: ``(H, W)`` for grayscale, else ``(H, W, C)``."""
        if self.channels == 1:
            return (self.height, self.width)
        return (self.height, self.width, self.channels)

    @property
    def frame_bytes(self) -> int:
        return self.width * self.height * self.channels

    @classmethod
    def for_frame(
        cls, frame: np.ndarray, *, capacity: int = RingConfig().capacity, env_slot: int = -1
    ) -> FastLaneConfig:
        """The config that fits ``frame`` (``H x W``, ``H x W x 1/3/4``, uint8)."""
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
            dtype = getattr(frame, "dtype", type(frame).__name__)
            raise ValueError(f"Expected a uint8 ndarray frame, got {dtype}")
        if frame.ndim == 2:
            height, width, channels = frame.shape[0], frame.shape[1], 1
        elif frame.ndim == 3:
            height, width, channels = frame.shape
        else:
            raise ValueError(f"Expected a frame of shape HxW or HxWxC, got {frame.shape}")
        return cls(width, height, channels, capacity=capacity, env_slot=env_slot)


@dataclass(frozen=True)
class FastLaneMetrics:
    """HUD values published with each frame, under the same seqlock as its pixels.

    Args:
        last_reward: reward of the step that produced the frame.
        rolling_return: exponentially smoothed episodic return (see docs/fastlane.md).
        step_rate_hz: environment steps per second of the watched env (steps, not frames).
        frame_rate_hz: the effective frame rate the worker's budget allows right now.
        episode: index of the current episode in this env slot (from 0).
        episode_step: step index within that episode (from 0).
        global_step: environment steps taken by this env slot since the run began.
        source_step: free for the producer, e.g. the trainer's global step (-1 = unset).
        render_ms: what making the frame cost (milliseconds of the render or screen grab).
        render_mode: how the frame was made: ``"in-process"`` (``render()`` on the training
            thread, under the frame budget), ``"sidecar"`` (drawn from the env's state by a
            renderer process), ``"screen"`` (the emulator's screen copied directly), or ``""``
            (not said). In the ring it is a small code (``layout.RENDER_MODES``).
    """

    last_reward: float = 0.0
    rolling_return: float = 0.0
    step_rate_hz: float = 0.0
    frame_rate_hz: float = 0.0
    episode: int = 0
    episode_step: int = 0
    global_step: int = 0
    source_step: int = -1
    render_ms: float = 0.0
    render_mode: str = ""


@dataclass(frozen=True)
class FastLaneFrame:
    """A frame copied out of the ring: the reader owns ``data``; nothing aliases the segment."""

    data: np.ndarray = field(repr=False)
    seq: int
    metrics: FastLaneMetrics
    generation: int
    publish_ns: int

    @property
    def height(self) -> int:
        return int(self.data.shape[0])

    @property
    def width(self) -> int:
        return int(self.data.shape[1])

    @property
    def channels(self) -> int:
        return 1 if self.data.ndim == 2 else int(self.data.shape[2])


@dataclass(frozen=True)
class FastLaneStatus:
    """A snapshot of one segment's header, as ``gym-gui-bridge fastlanes`` lists it."""

    run_id: str
    name: str
    generation: int
    writer_pid: int
    writer_alive: bool
    width: int
    height: int
    channels: int
    capacity: int
    env_slot: int
    state: SegmentState
    frames_published: int
    last_publish_ns: int
    publish_rate_hz: float
    watched: bool
    created_ns: int
    size_bytes: int
    #: HUD metrics of the newest frame (None before the first)
    latest_metrics: FastLaneMetrics | None = None
    #: pid of the renderer sidecar publishing the frames now, 0 = the writer itself
    frames_by: int = 0

    def current_rate_hz(self, now_ns: int | None = None) -> float:
        """The writer's publish rate, or 0 if it has not published within
        ``FASTLANE_STALE_PUBLISH_S`` (the stored estimate only changes when it publishes)."""
        if not self.last_publish_ns:
            return 0.0
        now = time.time_ns() if now_ns is None else now_ns
        idle_s = (now - self.last_publish_ns) / 1e9
        return self.publish_rate_hz if idle_s < FASTLANE_STALE_PUBLISH_S else 0.0
