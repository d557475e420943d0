"""Tunables of the frame relay: how the bridge serves its machine's fast lanes to remote viewers.

Read by ``gym-gui-bridge serve --config FILE`` from ``[relay]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from gym_gui_bridge.config.spec import ConfigError, check_fields, tunable

__all__ = ["RelayConfig"]

_MAX_FPS = 240.0  # above any display's refresh rate


@dataclass(frozen=True)
class RelayConfig:
    """The frame relay (:class:`~gym_gui_bridge.relay.hub.FrameRelay`) and WatchFrames."""

    detach_s: float = tunable(
        "RELAY_DETACH_S",
        2.0,
        "How long the relay keeps a run's ring mapped after its last remote viewer left "
        "(seconds). It stops reading (and so stops announcing itself as a reader) at once; "
        "keeping the mapping this long only makes a viewer that comes straight back cheap.",
        minimum=0.0,
        maximum=60.0,
    )
    default_fps: float = tunable(
        "RELAY_DEFAULT_FPS",
        30.0,
        "Frames per second sent to a viewer that asks for none (fps 0) (frames per second). "
        "The worker's own budget (FASTLANE_MAX_FPS) caps what there is to send.",
        minimum=1.0,
        maximum=_MAX_FPS,
    )
    max_fps: float = tunable(
        "RELAY_MAX_FPS",
        60.0,
        "Most frames per second a viewer may ask for (frames per second); a request above it "
        "is refused with INVALID_ARGUMENT.",
        minimum=1.0,
        maximum=_MAX_FPS,
    )
    jpeg_quality: int = tunable(
        "RELAY_JPEG_QUALITY",
        75,
        "JPEG quality of frames for a viewer that asks for none (quality 0) (1..100). At 75 a "
        "600x400 CartPole frame is about 7 KB: about 200 KB/s at 30 fps.",
        minimum=1,
        maximum=100,
    )
    attach_poll_s: float = tunable(
        "RELAY_ATTACH_POLL_S",
        0.25,
        "How often a watched run without a live ring (not started yet, closed, restarting) is "
        "looked for again (seconds).",
        above=0.0,
        maximum=5.0,
    )
    max_watches: int = tunable(
        "RELAY_MAX_WATCHES",
        32,
        "WatchFrames streams served at once (streams); more get RESOURCE_EXHAUSTED. Each holds "
        "a server thread while it is open.",
        minimum=1,
    )
    max_watches_per_peer: int = tunable(
        "RELAY_MAX_WATCHES_PER_PEER",
        16,
        "WatchFrames streams one peer may hold at once (streams); more get RESOURCE_EXHAUSTED. "
        "At most RELAY_MAX_WATCHES, so one peer cannot take every stream.",
        minimum=1,
    )

    def __post_init__(self) -> None:
        check_fields(self)
        if self.default_fps > self.max_fps:
            raise ConfigError(
                f"RELAY_DEFAULT_FPS: expected <= RELAY_MAX_FPS ({self.max_fps:g}), "
                f"got {self.default_fps:g}"
            )
        if self.max_watches_per_peer > self.max_watches:
            raise ConfigError(
                f"RELAY_MAX_WATCHES_PER_PEER: expected <= RELAY_MAX_WATCHES "
                f"({self.max_watches}), got {self.max_watches_per_peer}"
            )
