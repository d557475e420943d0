"""Grayscale, RGB and RGBA frames reach the screen with the colours they were published with."""

from __future__ import annotations

import numpy as np
import pytest
from pytestqt.qtbot import QtBot
from waits import WAIT_MS

from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneWriter
from gym_gui_bridge.viewer.consumer import FastLaneConsumer
from gym_gui_bridge.viewer.frame_widget import FrameWidget
from gym_gui_bridge.viewer.image import frame_to_qimage


def _two_tone(channels: int) -> tuple[np.ndarray, tuple[int, int, int], tuple[int, int, int]]:
    """Left half one colour, right half another; returns the frame and both RGB colours."""
    if channels == 1:
        frame = np.zeros((30, 40), np.uint8)
        frame[:, :20], frame[:, 20:] = 60, 220
        return frame, (60, 60, 60), (220, 220, 220)
    left, right = (250, 10, 10, 255), (10, 10, 250, 255)
    frame = np.zeros((30, 40, channels), np.uint8)
    frame[:, :20] = left[:channels]
    frame[:, 20:] = right[:channels]
    return frame, left[:3], right[:3]


@pytest.mark.parametrize("channels", [1, 3, 4], ids=["gray", "rgb", "rgba"])
def test_frame_colours_survive_conversion_and_painting(
    qtbot: QtBot, run_id: str, channels: int
) -> None:
    frame, left, right = _two_tone(channels)
    writer = FastLaneWriter.create(run_id, FastLaneConfig(40, 30, channels))
    consumer = FastLaneConsumer(run_id)
    widget = FrameWidget()
    widget.set_hud_visible(False)
    qtbot.addWidget(widget)
    consumer.frame_ready.connect(widget.show_frame)
    widget.resize(400, 300)  # same aspect ratio: the frame fills the widget
    widget.show()
    try:
        writer.publish(frame)
        consumer.start()
        qtbot.waitUntil(lambda: widget.frames_painted >= 1, timeout=WAIT_MS)
        image = widget.grab().toImage()
        assert image.pixelColor(100, 150).getRgb()[:3] == left
        assert image.pixelColor(300, 150).getRgb()[:3] == right
    finally:
        consumer.stop()
        writer.close()


def test_rejects_frames_it_cannot_show() -> None:
    with pytest.raises(ValueError, match="Expected a uint8 frame"):
        frame_to_qimage(np.zeros((2, 2, 3), np.float32))
    with pytest.raises(ValueError, match="Expected a frame of shape"):
        frame_to_qimage(np.zeros((2, 2, 2), np.uint8))
