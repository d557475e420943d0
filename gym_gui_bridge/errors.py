"""Exception types of the bridge package. Small and specific, so callers can tell them apart."""

from __future__ import annotations

__all__ = [
    "BridgeError",
    "FastLaneBusyError",
    "FastLaneCorruptError",
    "FastLaneError",
    "FastLaneNotFoundError",
]


class BridgeError(Exception):
    """Base class of every error raised on purpose by ``gym_gui_bridge``."""


class FastLaneError(BridgeError):
    """Something is wrong with a fast-lane shared-memory segment."""


class FastLaneNotFoundError(FastLaneError, FileNotFoundError):
    """No segment exists (yet) for the requested run id."""


class FastLaneCorruptError(FastLaneError):
    """A segment exists under the expected name but is not a valid fast-lane ring."""


class FastLaneBusyError(FastLaneError):
    """A live writer already owns the segment a new writer asked to create."""
