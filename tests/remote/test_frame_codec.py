"""Frames on the wire: PNG gives back every pixel of gray, RGB and RGBA rings; JPEG is small
and close, and an RGBA frame travels as its RGB part."""

from __future__ import annotations

import numpy as np
import pytest

from gym_gui_bridge.relay import FRAME_ENCODING_JPEG, FRAME_ENCODING_PNG, decode_frame, encode_frame


def _picture(shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = np.linspace(0, 255, shape[0] * shape[1], dtype=np.float64).reshape(shape[:2])
    picture = base if len(shape) == 2 else np.repeat(base[:, :, None], shape[2], axis=2)
    return (picture + rng.integers(0, 3, shape)).clip(0, 255).astype(np.uint8)


@pytest.mark.parametrize("shape", [(40, 60), (40, 60, 3), (40, 60, 4)])
def test_png_is_pixel_exact_for_gray_rgb_and_rgba(shape: tuple[int, ...]) -> None:
    frame = _picture(shape)
    decoded = decode_frame(encode_frame(frame, FRAME_ENCODING_PNG))
    assert decoded.shape == frame.shape and (decoded == frame).all()


def test_a_one_channel_frame_decodes_as_gray() -> None:
    frame = _picture((40, 60, 1))
    decoded = decode_frame(encode_frame(frame, FRAME_ENCODING_PNG))
    assert decoded.shape == (40, 60) and (decoded == frame[:, :, 0]).all()


@pytest.mark.parametrize("shape", [(40, 60), (40, 60, 3)])
def test_jpeg_is_close_and_smaller_than_the_pixels(shape: tuple[int, ...]) -> None:
    frame = _picture(shape)
    data = encode_frame(frame, FRAME_ENCODING_JPEG, 75)
    decoded = decode_frame(data)
    assert decoded.shape == frame.shape
    assert np.abs(decoded.astype(int) - frame.astype(int)).mean() < 4
    assert len(data) < frame.nbytes


def test_jpeg_sends_an_rgba_frame_as_its_rgb_part() -> None:
    frame = _picture((40, 60, 4))
    decoded = decode_frame(encode_frame(frame, FRAME_ENCODING_JPEG, 90))
    assert decoded.shape == (40, 60, 3)
    assert np.abs(decoded.astype(int) - frame[:, :, :3].astype(int)).mean() < 4


def test_higher_quality_costs_more_bytes() -> None:
    frame = _picture((120, 160, 3))
    low, high = (len(encode_frame(frame, FRAME_ENCODING_JPEG, q)) for q in (10, 95))
    assert low < high


@pytest.mark.parametrize(
    ("frame", "encoding", "quality", "named"),
    [
        (np.zeros((4, 4, 3), np.uint8), FRAME_ENCODING_JPEG, 0, "quality in 1..100"),
        (np.zeros((4, 4, 3), np.uint8), 9, 75, "FrameEncoding"),
        (np.zeros((4, 4, 2), np.uint8), FRAME_ENCODING_PNG, 75, "1, 3 or 4 channels"),
        (np.zeros((4, 4, 3), np.float32), FRAME_ENCODING_PNG, 75, "uint8"),
    ],
)
def test_what_cannot_be_encoded_is_refused_saying_why(
    frame: np.ndarray, encoding: int, quality: int, named: str
) -> None:
    with pytest.raises(ValueError, match="Expected") as raised:
        encode_frame(frame, encoding, quality)
    assert named in str(raised.value)
