"""``Mp4Recorder``: numpy frames in, an H.264 MP4 file out, at a constant frame rate.

The encoder is PyAV (the ``record`` extra): its wheels carry FFmpeg with libx264, so frames are
encoded in this process, with no external binary to install or to pipe raw frames into.

H.264 in the common ``yuv420p`` layout needs even width and height: a frame with an odd edge is
padded with one black row or column (bottom, right). Gray and RGBA frames are converted to RGB
(alpha is dropped). The video's geometry is fixed when it is opened; a later frame of another
size (the run's ring changed geometry) is drawn at the top left of a black canvas of the video's
size and cropped where it does not fit.

The file is written as ``<path>.part`` and renamed to ``path`` by :meth:`Mp4Recorder.close`, so
a reader of ``path`` never sees half a video; a recorder killed before closing leaves the
``.part`` file behind (not playable: the MP4 index is written last).
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from gym_gui_bridge.errors import EncoderUnavailableError, RecordingError

__all__ = ["INSTALL_HINT", "Mp4Recorder", "even_size", "load_av", "to_rgb"]

#: What to run when PyAV is missing.
INSTALL_HINT = "pip install 'cleanrl-fastlane[record]'"
_CODEC = "libx264"
_PIXEL_FORMAT = "yuv420p"  # what every player decodes
#: libx264 constant-quality factor: 23 is its own default (visually clean for rendered envs).
_CRF = "23"
#: libx264 speed preset: "veryfast" encodes a 30 fps 600x400 CartPole stream for about an eighth
#: of one core, the whole recorder included (docs/BENCHMARKS.md), at ~0.26 MB per minute.
_PRESET = "veryfast"
_PART_SUFFIX = ".part"
#: Frame rates are stored as fractions: 29.97 becomes 30000/1001, not a float's binary value.
_RATE_DENOMINATOR = 1001


def load_av() -> ModuleType:
    """Import PyAV, or raise :class:`EncoderUnavailableError` naming the extra to install."""
    try:
        import av
    except ImportError as error:
        raise EncoderUnavailableError(
            f"recording needs PyAV (the H.264 encoder), which is not installed: {INSTALL_HINT}"
        ) from error
    return av


def even_size(width: int, height: int) -> tuple[int, int]:
    """The video size for frames of ``width x height``: each edge rounded up to even.

    >>> even_size(600, 400), even_size(161, 81)
    ((600, 400), (162, 82))
    """
    return width + width % 2, height + height % 2


def to_rgb(frame: np.ndarray) -> np.ndarray:
    """``frame`` (``H x W`` gray, ``H x W x 1/3/4`` uint8) as ``H x W x 3`` RGB.

    An RGB frame is returned as is (no copy); gray is repeated into three channels; RGBA loses
    its alpha. Raises ``ValueError`` for any other shape or dtype.
    """
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        raise ValueError(f"Expected a uint8 ndarray frame, got {getattr(frame, 'dtype', frame)!r}")
    if frame.ndim == 3 and frame.shape[2] == 3:
        return frame
    if frame.ndim == 2:
        frame = frame[:, :, np.newaxis]
    if frame.ndim == 3 and frame.shape[2] == 1:
        return np.repeat(frame, 3, axis=2)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return frame[:, :, :3]
    raise ValueError(f"Expected a frame of shape HxW or HxWx(1|3|4), got {frame.shape}")


class Mp4Recorder:
    """Encodes frames into an H.264 MP4 file, one video frame per :meth:`add`.

    Every frame lasts ``1 / fps`` seconds of video: to keep video time equal to wall time, add
    a frame at each tick of a constant-rate clock (repeating the last one when nothing newer
    came), as :func:`gym_gui_bridge.recording.session.record_run` does.

    >>> import numpy as np, tempfile, pathlib
    >>> folder = tempfile.TemporaryDirectory()
    >>> out = pathlib.Path(folder.name) / "clip.mp4"
    >>> recorder = Mp4Recorder.open(out, width=64, height=47, fps=30)
    >>> for shade in range(30):
    ...     recorder.add(np.full((47, 64, 3), shade * 8, np.uint8))
    >>> recorder.size, recorder.frames
    ((64, 48), 30)
    >>> recorder.close() == out and out.stat().st_size > 0
    True
    >>> folder.cleanup()
    """

    def __init__(self, path: Path, container: Any, stream: Any, size: tuple[int, int]) -> None:
        """Use :meth:`open`."""
        self.path = path
        self.size = size  # (width, height) of the video, both even
        self.frames = 0
        self._container: Any = container
        self._stream: Any = stream
        self._av = load_av()
        self._canvas: np.ndarray | None = None  # reused for frames that need padding

    @classmethod
    def open(cls, path: str | os.PathLike[str], width: int, height: int, fps: float) -> Mp4Recorder:
        """Create ``path`` (as ``<path>.part`` until :meth:`close`) for ``width x height`` frames.

        Raises:
            EncoderUnavailableError: PyAV is not installed.
            RecordingError: the file cannot be created (its folder is missing or not writable),
                or ``width`` / ``height`` / ``fps`` are out of range.
        """
        av = load_av()
        for name, value in (("width", width), ("height", height)):
            if not isinstance(value, int) or value < 1:
                raise RecordingError(f"Expected {name} >= 1, got {value!r}")
        if not fps > 0 or fps == float("inf"):
            raise RecordingError(f"Expected fps > 0, got {fps!r}")
        target = Path(path)
        partial = target.with_name(target.name + _PART_SUFFIX)
        try:
            # FFmpeg opens the file only at the first frame: create it now, so that a missing or
            # read-only folder is reported before any waiting or recording starts.
            with open(partial, "wb"):
                pass
        except OSError as error:
            raise RecordingError(f"cannot write the video {target}: {error.strerror}") from error
        try:
            container = av.open(str(partial), mode="w", format="mp4")
        except (OSError, av.FFmpegError) as error:
            partial.unlink(missing_ok=True)
            raise RecordingError(f"cannot write the video {target}: {error}") from error
        try:
            size = even_size(width, height)
            stream = container.add_stream(
                _CODEC, rate=Fraction(fps).limit_denominator(_RATE_DENOMINATOR)
            )
            stream.width, stream.height = size
            stream.pix_fmt = _PIXEL_FORMAT
            stream.options = {"crf": _CRF, "preset": _PRESET}
        except BaseException:
            container.close()
            partial.unlink(missing_ok=True)
            raise
        return cls(target, container, stream, size)

    @property
    def partial_path(self) -> Path:
        """Where the video is written until :meth:`close` renames it to :attr:`path`."""
        return self.path.with_name(self.path.name + _PART_SUFFIX)

    @property
    def closed(self) -> bool:
        return self._container is None

    def add(self, frame: np.ndarray) -> None:
        """Encode ``frame`` as the next video frame (``1 / fps`` seconds long).

        Raises:
            ValueError: ``frame`` is not a uint8 gray, RGB or RGBA image; or the recorder is
                closed.
            RecordingError: the encoder or the file failed (e.g. the disk is full).
        """
        if self._container is None:
            raise ValueError(f"recorder of {self.path} is closed")
        picture = self._fit(to_rgb(frame))
        video_frame = self._av.VideoFrame.from_ndarray(picture, format="rgb24")
        video_frame.pts = self.frames
        try:
            for packet in self._stream.encode(video_frame):
                self._container.mux(packet)
        except (OSError, self._av.FFmpegError) as error:
            raise RecordingError(
                f"writing the video {self.partial_path} failed: {error}"
            ) from error
        self.frames += 1

    def close(self) -> Path:
        """Flush the encoder, finish the MP4 and rename it to :attr:`path`; safe to call twice.

        A recorder that got no frame removes its file (an MP4 without frames does not play)
        and raises :class:`RecordingError`.
        """
        container, self._container = self._container, None
        if container is None:
            return self.path
        try:
            if self.frames:
                for packet in self._stream.encode(None):
                    container.mux(packet)
        except (OSError, self._av.FFmpegError) as error:
            container.close()
            raise RecordingError(
                f"finishing the video {self.partial_path} failed: {error}"
            ) from error
        container.close()
        if not self.frames:
            self.partial_path.unlink(missing_ok=True)
            raise RecordingError(f"no frame was recorded: {self.path} not written")
        os.replace(self.partial_path, self.path)
        return self.path

    def discard(self) -> None:
        """Close without keeping anything: the ``.part`` file is removed."""
        container, self._container = self._container, None
        if container is not None:
            container.close()
        self.partial_path.unlink(missing_ok=True)

    def _fit(self, picture: np.ndarray) -> np.ndarray:
        """``picture`` on a canvas of the video's size (padded and/or cropped), if it needs one."""
        width, height = self.size
        if picture.shape[0] == height and picture.shape[1] == width:
            return picture
        if self._canvas is None:
            self._canvas = np.zeros((height, width, 3), np.uint8)
        canvas = self._canvas
        rows, cols = min(height, picture.shape[0]), min(width, picture.shape[1])
        canvas[rows:, :] = 0
        canvas[:rows, cols:] = 0
        canvas[:rows, :cols] = picture[:rows, :cols]
        return canvas

    def __enter__(self) -> Mp4Recorder:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()

    def __repr__(self) -> str:
        return f"Mp4Recorder({str(self.path)!r}, size={self.size}, frames={self.frames})"
