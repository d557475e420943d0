"""A relayed ``Frame`` message (JPEG or PNG bytes, HUD numbers) as a frame ready to paint.

Qt decodes the image (``QImage.fromData``: no imaging library needed on the viewer's machine).
The pixels are put back in the ring's layout (gray, RGB or RGBA, as ``Frame.channels`` says),
so a relayed frame is the same :class:`~gym_gui_bridge.viewer.image.ShownFrame` a local ring
gives. Runs on the frame stream's thread: ``QImage`` may be used off the UI thread.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtGui import QImage

from gym_gui_bridge.fastlane import FastLaneFrame, FastLaneMetrics
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.viewer.image import ShownFrame, frame_to_display_image

__all__ = ["FrameDecodeError", "decode_frame", "metrics_of"]

_RING_FORMATS = {
    1: QImage.Format.Format_Grayscale8,
    3: QImage.Format.Format_RGB888,
    4: QImage.Format.Format_RGBA8888,
}


_METRICS_FIELDS = tuple(field.name for field in dataclasses.fields(FastLaneMetrics))


class FrameDecodeError(ValueError):
    """A relayed frame whose bytes are not an image of the size and channels it claims."""


def metrics_of(hud: pb.FrameHud) -> FastLaneMetrics:
    """The HUD numbers of a relayed frame, as the local ring gives them (copied by name: the
    FrameHud message has every field of FastLaneMetrics)."""
    return FastLaneMetrics(**{name: getattr(hud, name) for name in _METRICS_FIELDS})


def _pixels(image: QImage, channels: int) -> np.ndarray:
    """``image`` as an owned ``H x W`` (gray) or ``H x W x C`` uint8 array."""
    converted = image.convertToFormat(_RING_FORMATS[channels])
    height, width = converted.height(), converted.width()
    stride = converted.bytesPerLine()
    rows = np.frombuffer(converted.constBits(), np.uint8, count=stride * height)
    rows = rows.reshape(height, stride)[:, : width * channels]
    shape = (height, width) if channels == 1 else (height, width, channels)
    return rows.copy().reshape(shape)  # a copy: the pixels must outlive ``converted``


def decode_frame(message: pb.Frame) -> ShownFrame:
    """The frame of ``message``, decoded and converted for painting.

    Raises:
        FrameDecodeError: the bytes are no image Qt can read, or not of the claimed size, or
            ``channels`` is not 1, 3 or 4.
    """
    channels = message.channels
    if channels not in _RING_FORMATS:
        raise FrameDecodeError(f"Expected a frame of 1, 3 or 4 channels, got {channels}")
    image = QImage.fromData(message.data)
    if image.isNull():
        raise FrameDecodeError(
            f"Expected a {pb.FrameEncoding.Name(message.encoding)} image in frame "
            f"{message.seq} of run {message.run_id!r}, got {len(message.data)} unreadable bytes"
        )
    if (image.width(), image.height()) != (message.width, message.height):
        raise FrameDecodeError(
            f"Expected a {message.width}x{message.height} image in frame {message.seq}, "
            f"got {image.width()}x{image.height()}"
        )
    data = _pixels(image, channels)
    frame = FastLaneFrame(
        data=data,
        seq=message.seq,
        metrics=metrics_of(message.hud),
        generation=message.generation,
        publish_ns=message.published_ns,
    )
    return ShownFrame(frame, frame_to_display_image(data))
