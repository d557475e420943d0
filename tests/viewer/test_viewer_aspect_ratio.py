"""The frame keeps its aspect ratio (letterboxed) and scales smoothly or pixel-exact."""

from __future__ import annotations

import numpy as np
from pytestqt.qtbot import QtBot

from gym_gui_bridge.fastlane import FastLaneFrame, FastLaneMetrics
from gym_gui_bridge.viewer.frame_widget import FrameWidget, letterbox
from gym_gui_bridge.viewer.image import ShownFrame

GREEN = (0, 255, 0)


def _shown(data: np.ndarray) -> ShownFrame:
    frame = FastLaneFrame(data=data, seq=1, metrics=FastLaneMetrics(), generation=1, publish_ns=0)
    return ShownFrame.from_frame(frame)


def _widget(qtbot: QtBot, data: np.ndarray, width: int, height: int) -> FrameWidget:
    widget = FrameWidget()
    widget.set_hud_visible(False)
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show_frame(_shown(data))
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_wide_frame_in_a_square_widget_gets_bars_above_and_below(qtbot: QtBot) -> None:
    widget = _widget(qtbot, np.full((100, 200, 3), GREEN, np.uint8), 400, 400)
    rect = widget.frame_rect()
    assert (rect.x(), rect.y(), rect.width(), rect.height()) == (0, 100, 400, 200)
    image = widget.grab().toImage()
    assert image.pixelColor(200, 50).getRgb()[:3] == (0, 0, 0)  # bar
    assert image.pixelColor(200, 200).getRgb()[:3] == GREEN  # frame
    assert image.pixelColor(200, 350).getRgb()[:3] == (0, 0, 0)  # bar


def test_tall_frame_in_a_wide_widget_gets_bars_left_and_right(qtbot: QtBot) -> None:
    widget = _widget(qtbot, np.full((200, 100, 3), GREEN, np.uint8), 600, 300)
    rect = widget.frame_rect()
    assert (rect.x(), rect.y(), rect.width(), rect.height()) == (225, 0, 150, 300)
    image = widget.grab().toImage()
    assert image.pixelColor(100, 150).getRgb()[:3] == (0, 0, 0)
    assert image.pixelColor(300, 150).getRgb()[:3] == GREEN


def test_pixel_exact_scaling_keeps_hard_edges_and_smooth_blends(qtbot: QtBot) -> None:
    data = np.zeros((1, 2, 3), np.uint8)
    data[0, 0], data[0, 1] = (255, 0, 0), (0, 0, 255)
    widget = _widget(qtbot, data, 200, 100)
    widget.set_smooth(False)
    exact = widget.grab().toImage()
    middle = [exact.pixelColor(x, 50).getRgb()[:3] for x in (95, 99, 100, 104)]
    assert middle == [(255, 0, 0), (255, 0, 0), (0, 0, 255), (0, 0, 255)]
    widget.set_smooth(True)
    smooth = widget.grab().toImage()
    blended = smooth.pixelColor(99, 50).getRgb()[:3]
    assert blended not in {(255, 0, 0), (0, 0, 255)}


def test_letterbox_rounds_to_whole_pixels() -> None:
    assert letterbox(600, 400, 1000, 560) == (80, 0, 840, 560)
    assert letterbox(3, 3, 10, 7) == (1, 0, 7, 7)
