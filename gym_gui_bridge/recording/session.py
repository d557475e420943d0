"""Recording a run: frames taken at a constant rate from a source, encoded to MP4.

:class:`LiveRecording` is the part the viewer shares: it is offered the newest frame whenever one
comes and, at each tick of its :class:`~gym_gui_bridge.recording.cadence.FrameCadence`, adds the
newest frame to the video (the previous one again if nothing newer came), so one second of video
is one second of the run. :func:`record_run` is ``gym-gui-bridge record``: it waits for the
run's first frame, then records until ``seconds`` of video, the run's end, or ``stop``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gym_gui_bridge.errors import RecordingError
from gym_gui_bridge.recording.cadence import FrameCadence
from gym_gui_bridge.recording.encoder import Mp4Recorder, load_av
from gym_gui_bridge.recording.sources import FrameSource, SourceFrame

__all__ = ["DEFAULT_FPS", "LiveRecording", "RecordResult", "check_writable", "record_run"]

#: Frame rate of a recording unless asked otherwise (frames/s): what players and sites expect,
#: and the worker's default frame cap, so the watched slot rarely shows a frame twice.
DEFAULT_FPS = 30.0
#: Longest wait between two looks at a source while waiting for the first frame (seconds).
_FIRST_FRAME_POLL_S = 0.02


@dataclass(frozen=True)
class RecordResult:
    """What a recording wrote."""

    path: Path
    frames: int  # video frames written
    fps: float
    size_bytes: int
    frames_seen: int  # distinct frames of the run among them
    skipped_ticks: int  # ticks not filled after stalls (the video is shorter by that much)
    width: int  # of the run's frames (the video may be one pixel larger: even edges)
    height: int
    env_slot: int  # the vector-env slot the frames show, -1 grid / unknown
    ended: str  # why the recording stopped

    @property
    def seconds(self) -> float:
        """Length of the video."""
        return self.frames / self.fps

    def summary(self) -> str:
        """One line for people: frames, seconds, bytes, path and why it stopped."""
        return (
            f"recorded {self.frames} frames ({self.seconds:.1f} s at {self.fps:g} fps, "
            f"{self.frames_seen} distinct), {self.size_bytes} bytes to {self.path}; {self.ended}"
        )


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Raise :class:`RecordingError` unless a video can be created at ``path`` (tried now with
    an empty ``<path>.part``, removed again), so a bad path is reported before any waiting."""
    target = Path(path)
    if target.is_dir():
        raise RecordingError(f"Expected a video file path, got the folder {target}")
    probe = target.with_name(target.name + ".part")
    try:
        with open(probe, "wb"):
            pass
    except OSError as error:
        raise RecordingError(f"cannot write the video {target}: {error.strerror}") from error
    probe.unlink(missing_ok=True)
    return target


class LiveRecording:
    """An MP4 fed at a constant frame rate from the newest frame offered to it.

    The video starts with the first frame offered (its size is the video's size). Call
    :meth:`tick` at least at the frame rate (at :meth:`next_tick_at`): it adds one video frame
    per tick due since the last call.

    Args:
        path: the video file (written as ``<path>.part`` until :meth:`close`).
        fps: video frame rate.
        clock: a monotonic clock in seconds (tests may pass their own).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float = DEFAULT_FPS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not fps > 0 or fps == float("inf"):
            raise RecordingError(f"Expected fps > 0, got {fps!r}")
        load_av()  # fail now, not at the first frame, when PyAV is missing
        self.path = check_writable(path)
        self.fps = fps
        self._clock = clock
        self._recorder: Mp4Recorder | None = None
        self._cadence: FrameCadence | None = None
        self._newest: np.ndarray | None = None
        self._frames_closed = 0  # video frames of a closed recording
        self.frames_seen = 0
        self.frame_size = (0, 0)

    @property
    def started(self) -> bool:
        """Whether a first frame was offered (the video exists)."""
        return self._recorder is not None

    @property
    def frames(self) -> int:
        """Video frames written so far (all of them once closed)."""
        return self._recorder.frames if self._recorder is not None else self._frames_closed

    @property
    def skipped_ticks(self) -> int:
        return self._cadence.skipped if self._cadence is not None else 0

    def offer(self, frame: np.ndarray) -> None:
        """Make ``frame`` the newest; the first one opens the video and starts the clock."""
        if self._recorder is None:
            height, width = int(frame.shape[0]), int(frame.shape[1])
            self._recorder = Mp4Recorder.open(self.path, width, height, self.fps)
            self._cadence = FrameCadence(self.fps, self._clock())
            self.frame_size = (width, height)
        self._newest = frame
        self.frames_seen += 1

    def next_tick_at(self) -> float | None:
        """When the next video frame is due (clock seconds), or ``None`` before the first frame."""
        return self._cadence.next_at() if self._cadence is not None else None

    def tick(self, limit: int | None = None) -> int:
        """Add a video frame for every tick due now (at most ``limit`` frames in all); the count.

        Raises:
            RecordingError: the encoder or the file failed.
        """
        recorder, cadence, frame = self._recorder, self._cadence, self._newest
        if recorder is None or cadence is None or frame is None:
            return 0
        owed = cadence.take(self._clock())
        if limit is not None:
            owed = min(owed, max(0, limit - recorder.frames))
        for _ in range(owed):
            recorder.add(frame)
        return owed

    def close(self) -> Path | None:
        """Finish the video and return its path; ``None`` (no file) if no frame was offered."""
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return None
        if recorder.frames == 0 and self._newest is not None:
            recorder.add(self._newest)  # stopped before the first tick: keep the frame shown
        self._frames_closed = recorder.frames
        return recorder.close()

    def discard(self) -> None:
        """Stop without keeping a file."""
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            recorder.discard()


def _wait_first_frame(source: FrameSource, wait_s: float, stop: threading.Event) -> SourceFrame:
    deadline = time.monotonic() + wait_s
    while True:
        frame = source.poll()
        if frame is not None:
            return frame
        ended = source.ended()
        if ended:
            raise RecordingError(f"{source.description} ended before its first frame: {ended}")
        if stop.is_set():
            raise RecordingError(f"stopped before the first frame of {source.description}")
        left = deadline - time.monotonic()
        if left <= 0:
            raise RecordingError(
                f"no frame from {source.description} within {wait_s:g} s: {source.waiting_for()}"
            )
        stop.wait(min(left, _FIRST_FRAME_POLL_S))


def record_run(
    source: FrameSource,
    path: str | os.PathLike[str],
    *,
    fps: float = DEFAULT_FPS,
    seconds: float | None = None,
    wait_s: float = 10.0,
    stop: threading.Event | None = None,
) -> RecordResult:
    """Record ``source`` to ``path`` until ``seconds`` of video, the run's end, or ``stop``.

    Args:
        source: the run's frames.
        path: the MP4 file to write (replaced if it exists).
        fps: video frame rate; frames are taken from the source at this rate.
        seconds: length of video to record (``seconds * fps`` frames); ``None``: no limit.
        wait_s: how long to wait for the run's first frame (its ring may not exist yet).
        stop: set it (e.g. from a SIGINT handler) to finish the file and return.

    Raises:
        RecordingError: ``path`` cannot be written, no frame came within ``wait_s``, the run
            ended or ``stop`` was set before its first frame (no file is written then), or
            the encoder failed.
        EncoderUnavailableError: PyAV is not installed.
    """
    stop = stop or threading.Event()
    limit = None if seconds is None else max(1, round(seconds * fps))
    recording = LiveRecording(path, fps)
    newest: SourceFrame | None = _wait_first_frame(source, wait_s, stop)
    env_slot = -1
    ended = ""
    try:
        while not ended:
            if newest is not None:
                recording.offer(newest.data)
                env_slot = newest.env_slot
            recording.tick(limit)
            if limit is not None and recording.frames >= limit:
                ended = f"{seconds:g} s recorded"
            elif why := source.ended():
                ended = f"{source.description} ended: {why}"
            elif stop.is_set():
                ended = "stopped"
            else:
                stop.wait(max(0.0, (recording.next_tick_at() or 0.0) - time.monotonic()))
                newest = source.poll()
        written = recording.close()
    except BaseException:
        recording.discard()
        raise
    assert written is not None  # a first frame was offered
    width, height = recording.frame_size
    return RecordResult(
        path=written,
        frames=recording.frames,
        fps=fps,
        size_bytes=written.stat().st_size,
        frames_seen=recording.frames_seen,
        skipped_ticks=recording.skipped_ticks,
        width=width,
        height=height,
        env_slot=env_slot,
        ended=ended,
    )
