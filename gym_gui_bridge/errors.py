"""Exception types of the bridge package. Small and specific, so callers can tell them apart."""

from __future__ import annotations

__all__ = [
    "BridgeError",
    "EncoderUnavailableError",
    "FastLaneBusyError",
    "FastLaneCorruptError",
    "FastLaneError",
    "FastLaneForeignError",
    "FastLaneNotFoundError",
    "RecordDecodeError",
    "RecordEncodeError",
    "RecordError",
    "RecordingError",
    "StoreError",
    "UnknownRunError",
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


class FastLaneForeignError(FastLaneError):
    """A name under the fast-lane prefix is not a regular file owned by this user (another
    user's segment, a directory, a symbolic link, a FIFO): it is never read, written or removed."""


class RecordError(BridgeError, ValueError):
    """A telemetry record cannot be encoded or decoded."""


class RecordEncodeError(RecordError):
    """A record holds a value the JSONL encoding cannot carry (NaN, infinity, an object)."""


class RecordDecodeError(RecordError):
    """A JSONL line is not a valid v1 record. ``code`` names the reason (e.g. ``not_json``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class StoreError(BridgeError):
    """The SQLite store cannot be opened or has an unexpected schema."""


class UnknownRunError(StoreError, LookupError):
    """No run with the requested id exists in the store."""


class RecordingError(BridgeError):
    """A video of a run cannot be recorded: the output cannot be written, the run never
    showed a frame, or the encoder failed."""


class EncoderUnavailableError(RecordingError, ImportError):
    """PyAV, the H.264 encoder, is not installed (the ``record`` extra)."""
