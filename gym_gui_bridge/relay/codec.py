"""Compressing ring frames for the wire: JPEG for the live view, PNG when pixels must be exact.

Frames come out of the ring as ``H x W`` (gray), ``H x W x 3`` (RGB) or ``H x W x 4`` (RGBA)
uint8 arrays. JPEG has no alpha: an RGBA frame is sent as its RGB part (``channels`` on the
wire still says 4, and :func:`decode_frame` gives RGB back). PNG keeps every channel.

>>> import numpy as np
>>> frame = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
>>> data = encode_frame(frame, FRAME_ENCODING_PNG)
>>> bool((decode_frame(data) == frame).all())
True
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from gym_gui_bridge.errors import BridgeError
from gym_gui_bridge.proto import trainer_pb2 as pb

__all__ = [
    "FRAME_ENCODING_JPEG",
    "FRAME_ENCODING_PNG",
    "JPEG_QUALITY_RANGE",
    "decode_frame",
    "encode_frame",
    "encoding_name",
]

FRAME_ENCODING_JPEG: int = pb.FRAME_ENCODING_JPEG
FRAME_ENCODING_PNG: int = pb.FRAME_ENCODING_PNG
#: Accepted JPEG qualities (Pillow's scale: 1 worst, 95 about the highest that still pays off).
JPEG_QUALITY_RANGE = (1, 100)
_PNG_COMPRESS_LEVEL = 1  # zlib level: screen frames shrink nearly as well at 1 as at 9, ~5x faster


def _image_module() -> Any:
    try:
        from PIL import Image
    except ImportError as error:  # the remote extra is optional
        raise BridgeError(
            "Expected Pillow for relaying frames, got none: pip install 'cleanrl-fastlane[remote]'"
        ) from error
    return Image


def encoding_name(encoding: int) -> str:
    """``"jpeg"`` or ``"png"``.

    >>> encoding_name(FRAME_ENCODING_PNG)
    'png'
    """
    if encoding == FRAME_ENCODING_JPEG:
        return "jpeg"
    if encoding == FRAME_ENCODING_PNG:
        return "png"
    raise ValueError(f"Expected a FrameEncoding (JPEG 0 or PNG 1), got {encoding!r}")


def encode_frame(frame: np.ndarray, encoding: int, quality: int = 75) -> bytes:
    """The image file bytes of ``frame`` (gray, RGB or RGBA uint8).

    Args:
        frame: ``H x W`` or ``H x W x C`` (C in 1, 3, 4) uint8 pixels.
        encoding: ``FRAME_ENCODING_JPEG`` or ``FRAME_ENCODING_PNG``.
        quality: JPEG quality in 1..100 (ignored for PNG).
    """
    if frame.dtype != np.uint8 or frame.ndim not in (2, 3):
        raise ValueError(f"Expected an HxW or HxWxC uint8 frame, got {frame.dtype} {frame.shape}")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim == 3 and frame.shape[2] not in (3, 4):
        raise ValueError(f"Expected 1, 3 or 4 channels, got {frame.shape[2]}")
    image_module = _image_module()
    name = encoding_name(encoding)
    out = io.BytesIO()
    if name == "jpeg":
        low, high = JPEG_QUALITY_RANGE
        if not low <= quality <= high:
            raise ValueError(f"Expected JPEG quality in {low}..{high}, got {quality!r}")
        if frame.ndim == 3 and frame.shape[2] == 4:
            frame = frame[:, :, :3]
        image = image_module.fromarray(np.ascontiguousarray(frame))
        image.save(out, format="JPEG", quality=int(quality))
    else:
        image = image_module.fromarray(np.ascontiguousarray(frame))
        image.save(out, format="PNG", compress_level=_PNG_COMPRESS_LEVEL)
    return out.getvalue()


def decode_frame(data: bytes) -> np.ndarray:
    """The pixels of an encoded frame: ``H x W`` (gray), ``H x W x 3`` or ``H x W x 4``."""
    image_module = _image_module()
    with image_module.open(io.BytesIO(data)) as image:
        if image.mode not in ("L", "RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.mode else "RGB")
        return np.asarray(image, dtype=np.uint8).copy()
