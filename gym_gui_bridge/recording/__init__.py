"""Recording what a viewer watches: a run's frames encoded to an H.264 MP4 (PyAV).

:class:`Mp4Recorder` encodes frames; :class:`LiveRecording` feeds it at a constant frame rate
from the newest frame (the viewer's record toggle); :func:`record_run` records a
:class:`FrameSource` (a local ring: :class:`RingSource`) as ``gym-gui-bridge record`` does.
Importing this package does not import PyAV: it is loaded when a recording starts.
"""

from __future__ import annotations

from gym_gui_bridge.recording.cadence import FrameCadence
from gym_gui_bridge.recording.encoder import INSTALL_HINT, Mp4Recorder, even_size, to_rgb
from gym_gui_bridge.recording.session import (
    DEFAULT_FPS,
    LiveRecording,
    RecordResult,
    check_writable,
    record_run,
)
from gym_gui_bridge.recording.sources import FrameSource, RingSource, SourceFrame

__all__ = [
    "DEFAULT_FPS",
    "INSTALL_HINT",
    "FrameCadence",
    "FrameSource",
    "LiveRecording",
    "Mp4Recorder",
    "RecordResult",
    "RingSource",
    "SourceFrame",
    "check_writable",
    "even_size",
    "record_run",
    "to_rgb",
]
