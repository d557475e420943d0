"""``ViewerRecording``: the viewer's record toggle, an MP4 of the frames the window shows.

Every frame the consumer shows is offered to a
:class:`~gym_gui_bridge.recording.session.LiveRecording`; a precise ``QTimer`` adds one video
frame per tick of the recording's frame rate (the newest frame shown, repeated while nothing
newer came, e.g. while the display is paused), so the video's time is the wall time. Encoding
runs on the GUI thread: a few ms per 600x400 frame (docs/BENCHMARKS.md, section 11).
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from gym_gui_bridge.errors import RecordingError
from gym_gui_bridge.recording.session import DEFAULT_FPS, LiveRecording
from gym_gui_bridge.viewer.image import ShownFrame

__all__ = ["ViewerRecording", "default_video_path"]

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


def default_video_path(run_id: str, now: float | None = None) -> Path:
    """``<run_id>-<YYYYmmdd-HHMMSS>.mp4`` (local time) in the current folder.

    >>> default_video_path("ppo/CartPole 1", now=4e7).name.startswith("ppo_CartPole_1-1971")
    True
    """
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    return Path(f"{_UNSAFE_FILENAME.sub('_', run_id or 'none')}-{stamp}.mp4")


class ViewerRecording(QObject):
    """Records the frames offered to it while started; one file per start/stop.

    Signals:
        failed(str): encoding or writing failed mid-way; the recording stopped (no file kept).

    Args:
        fps: video frame rate.
    """

    failed = Signal(str)

    def __init__(self, fps: float = DEFAULT_FPS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fps = fps
        self._recording: LiveRecording | None = None
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(max(1, math.floor(1000 / fps)))
        self._timer.timeout.connect(self._tick)
        self.path: Path | None = None  # the file being written, or the last one written
        self._frames_done = 0  # video frames of the last file written

    @property
    def active(self) -> bool:
        return self._recording is not None

    @property
    def frames(self) -> int:
        """Video frames of the file being written, or of the last one written."""
        recording = self._recording
        return recording.frames if recording is not None else self._frames_done

    def start(self, path: str | os.PathLike[str], first: ShownFrame | None = None) -> Path:
        """Start a new video at ``path``, beginning with ``first`` (the frame on screen) if given.

        Raises:
            RecordingError: ``path`` cannot be written.
            EncoderUnavailableError: PyAV is not installed (the ``record`` extra).
        """
        self.stop()
        self._recording = LiveRecording(path, self.fps)
        self.path = self._recording.path
        if first is not None:
            self.offer(first)
        self._timer.start()
        return self.path

    def offer(self, shown: ShownFrame) -> None:
        """The window shows ``shown`` now (connected to the consumer's ``frame_ready``)."""
        if self._recording is not None:
            self._recording.offer(shown.frame.data)

    def stop(self) -> Path | None:
        """Finish the file; its path, or ``None`` if no frame was shown while recording."""
        self._timer.stop()
        recording, self._recording = self._recording, None
        if recording is None:
            return None
        written = recording.close()
        self._frames_done = recording.frames
        return written

    def _tick(self) -> None:
        recording = self._recording
        if recording is None:
            return
        try:
            recording.tick()
        except RecordingError as error:
            self._timer.stop()
            self._recording = None
            recording.discard()
            self.failed.emit(str(error))
