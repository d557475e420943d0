"""Reading an MP4 back with PyAV, the library that wrote it, for the recording tests."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

__all__ = ["H264_TOLERANCE", "Video", "read_video"]

#: Largest mean absolute difference (0-255 levels) between a frame and its H.264 round trip
#: that the tests accept for flat, rendered pictures: yuv420p conversion and CRF 23 stay ~1-3.
H264_TOLERANCE = 6.0


@dataclass(frozen=True)
class Video:
    frames: list[np.ndarray]  # RGB, H x W x 3
    width: int
    height: int
    codec: str
    rate: Fraction
    seconds: float  # container duration

    def mean_error(self, index: int, expected: np.ndarray) -> float:
        """Mean absolute difference of frame ``index`` with ``expected`` (its top-left part)."""
        height, width = expected.shape[:2]
        got = self.frames[index][:height, :width].astype(np.int16)
        return float(np.abs(got - expected.astype(np.int16)).mean())


def read_video(path: Path) -> Video:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        return Video(
            frames=frames,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            codec=stream.codec_context.name,
            rate=Fraction(stream.average_rate),
            seconds=float(container.duration or 0) / av.time_base,
        )
