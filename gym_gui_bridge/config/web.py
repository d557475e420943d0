"""Tunables of the bridge's browser view (``serve --http``): its streams, frames and curves.

Read by ``gym-gui-bridge serve --config FILE`` from ``[web]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from gym_gui_bridge.config.spec import check_fields, tunable

__all__ = ["WebConfig"]


@dataclass(frozen=True)
class WebConfig:
    """The HTTP listener of :class:`~gym_gui_bridge.web.server.WebServer`."""

    stream_fps: float = tunable(
        "WEB_STREAM_FPS",
        30.0,
        "Frames per second a browser page or MJPEG stream asks the frame relay for (Hz); at "
        "most RELAY_MAX_FPS ([relay]). 30 is smooth for a person and about 0.5-1 MB/s of JPEG "
        "for a 600x400 frame.",
        minimum=1.0,
        maximum=120.0,
    )
    max_streams: int = tunable(
        "WEB_MAX_STREAMS",
        16,
        "Frame streams (watch pages, MJPEG streams, frame.jpg requests) open at once over HTTP "
        "(count); one more gets 503. Each holds a thread waiting on the relay.",
        minimum=1,
        maximum=256,
    )
    frame_wait_s: float = tunable(
        "WEB_FRAME_WAIT_S",
        3.0,
        "Longest frame.jpg waits for a frame of the run before it answers 404 (seconds): long "
        "enough for the relay to attach to the ring and a paused worker to publish.",
        above=0.0,
    )
    curve_page_rows: int = tunable(
        "WEB_CURVE_PAGE_ROWS",
        5000,
        "Most episodes and scalars one curves.json answer holds, each (rows); the page asks "
        "again at once while the answer says more.",
        minimum=1,
    )

    def __post_init__(self) -> None:
        check_fields(self)
