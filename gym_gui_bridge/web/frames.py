"""Frames for browsers: relay watches driven from the event loop, and what a frame carries.

Every frame stream (a watch page's WebSocket, an MJPEG stream, one frame.jpg) holds one watch
of the bridge's frame relay (:class:`~gym_gui_bridge.relay.FrameRelay`) for as long as the
client is connected: a browser counts as a remote viewer, so the worker renders only while
someone watches. Waiting for the relay's next frame blocks, so it runs on a thread pool of
``WEB_MAX_STREAMS`` threads, one per open stream; past that a new stream is refused (503).

The WebSocket message of one frame is binary: a 4-byte big-endian length, that many bytes of
UTF-8 JSON (:func:`frame_header`: seq, geometry, the HUD, ``published_ns`` and ``relayed_ns``),
then the JPEG.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import struct
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from gym_gui_bridge.config.web import WebConfig
from gym_gui_bridge.relay import FRAME_ENCODING_JPEG

if TYPE_CHECKING:
    from gym_gui_bridge.relay import FrameRelay, RelayedFrame, RelayWatch

__all__ = [
    "FrameStreams",
    "StreamStats",
    "TooManyStreams",
    "frame_header",
    "pack_frame",
]

_HEADER = struct.Struct(">I")  # length of the JSON header of a WebSocket frame message
#: How long one wait for the relay lasts (seconds): how soon a stream notices its client left
#: while the run publishes nothing.
POLL_S = 0.5


class TooManyStreams(Exception):
    """``WEB_MAX_STREAMS`` frame streams are open already."""


class StreamStats:
    """Frame streams open per run and frames sent per run (for ``/metrics``)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._lock = threading.Lock()  # guards _open and _sent
        self._open: dict[str, int] = {}
        self._sent: dict[str, int] = {}

    def take(self, run_id: str) -> None:
        """Count a stream of ``run_id`` open; TooManyStreams past the limit."""
        with self._lock:
            if sum(self._open.values()) >= self._limit:
                raise TooManyStreams(
                    f"Expected fewer than WEB_MAX_STREAMS={self._limit} frame streams open, "
                    "got that many: close a page or raise WEB_MAX_STREAMS ([web])"
                )
            self._open[run_id] = self._open.get(run_id, 0) + 1

    def give(self, run_id: str) -> None:
        with self._lock:
            left = self._open.get(run_id, 0) - 1
            if left > 0:
                self._open[run_id] = left
            else:
                self._open.pop(run_id, None)

    def sent(self, run_id: str) -> None:
        with self._lock:
            self._sent[run_id] = self._sent.get(run_id, 0) + 1

    def snapshot(self) -> tuple[dict[str, int], dict[str, int]]:
        """(streams open per run, frames sent per run)."""
        with self._lock:
            return dict(self._open), dict(self._sent)


class FrameStreams:
    """Opens relay watches for HTTP handlers and waits on them off the event loop.

    Args:
        relay: the bridge's frame relay.
        config: the stream rate and the stream limit.
    """

    def __init__(self, relay: FrameRelay, config: WebConfig) -> None:
        self._relay, self._config = relay, config
        self.stats = StreamStats(config.max_streams)
        self._executor = ThreadPoolExecutor(
            max_workers=config.max_streams, thread_name_prefix="bridge-web-frames"
        )

    @asynccontextmanager
    async def watch(self, run_id: str) -> AsyncIterator[RelayWatch]:
        """A relay watch of ``run_id`` open for the body.

        Raises:
            TooManyStreams: ``WEB_MAX_STREAMS`` streams are open.
            ValueError: the relay refuses the run id (or is closed).
        """
        self.stats.take(run_id)
        try:
            fps = self._config.stream_fps
            with self._relay.watch(run_id, fps, FRAME_ENCODING_JPEG) as watch:
                yield watch
        finally:
            self.stats.give(run_id)

    async def next(self, watch: RelayWatch, timeout_s: float = POLL_S) -> RelayedFrame | None:
        """The watch's next frame, or None after ``timeout_s`` without one."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, watch.next, timeout_s)

    async def first(self, run_id: str, wait_s: float) -> RelayedFrame | None:
        """The newest frame of ``run_id`` within ``wait_s``, or None."""
        deadline = time.monotonic() + wait_s
        async with self.watch(run_id) as watch:
            while (left := deadline - time.monotonic()) > 0:
                frame = await self.next(watch, min(left, POLL_S))
                if frame is not None:
                    self.stats.sent(run_id)
                    return frame
        return None

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def frame_header(frame: RelayedFrame) -> dict[str, Any]:
    """What the page shows next to a frame: seq, geometry, times and the HUD values."""
    metrics = frame.metrics
    hud = {f.name: getattr(metrics, f.name) for f in dataclasses.fields(metrics)}
    return {
        "run_id": frame.run_id,
        "seq": frame.seq,
        "width": frame.width,
        "height": frame.height,
        "env_slot": frame.env_slot,
        "generation": frame.generation,
        "published_ns": frame.published_ns,
        "relayed_ns": frame.relayed_ns,
        "sent_ns": time.time_ns(),
        "hud": hud,
    }


def pack_frame(frame: RelayedFrame) -> bytes:
    """The WebSocket message of ``frame``: header length, JSON header, JPEG bytes."""
    header = json.dumps(frame_header(frame), separators=(",", ":")).encode()
    return _HEADER.pack(len(header)) + header + bytes(frame.data)
