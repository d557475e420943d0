"""The frame relay: the bridge's fast lanes, served to viewers on other machines.

``Bridge.relay`` is a :class:`FrameRelay`; WatchFrames streams a :class:`RelayWatch`'s
:class:`RelayedFrame` messages. See docs/remote.md.
"""

from __future__ import annotations

from gym_gui_bridge.relay.codec import (
    FRAME_ENCODING_JPEG,
    FRAME_ENCODING_PNG,
    decode_frame,
    encode_frame,
)
from gym_gui_bridge.relay.frames import RelayedFrame
from gym_gui_bridge.relay.hub import FrameRelay, RelayRunStats, RelayWatch

__all__ = [
    "FRAME_ENCODING_JPEG",
    "FRAME_ENCODING_PNG",
    "FrameRelay",
    "RelayRunStats",
    "RelayWatch",
    "RelayedFrame",
    "decode_frame",
    "encode_frame",
]
