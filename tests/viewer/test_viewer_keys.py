"""Keyboard: space pauses the display, s saves a PNG, p toggles pixel-exact, q quits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot
from waits import WAIT_MS

from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneWriter
from gym_gui_bridge.viewer.consumer import FastLaneConsumer
from gym_gui_bridge.viewer.main_window import ViewerWindow


def test_keys_pause_save_toggle_and_quit(
    qtbot: QtBot, run_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    writer = FastLaneWriter.create(run_id, FastLaneConfig(32, 24))
    window = ViewerWindow(FastLaneConsumer(run_id))
    qtbot.addWidget(window)
    window.show()
    window.start()
    qtbot.waitExposed(window)
    try:
        writer.publish(np.full((24, 32, 3), 40, np.uint8))
        qtbot.waitUntil(lambda: window.frame_widget.frames_painted >= 1, timeout=WAIT_MS)
        window.activateWindow()
        window.frame_widget.setFocus()

        qtbot.keyClick(window.frame_widget, Qt.Key.Key_Space)
        assert window.consumer.paused
        writer.publish(np.full((24, 32, 3), 80, np.uint8))
        qtbot.wait(200)
        assert window.consumer.frames_shown == 1  # the display is paused, not the writer
        qtbot.keyClick(window.frame_widget, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: window.consumer.frames_shown == 2, timeout=WAIT_MS)

        qtbot.keyClick(window.frame_widget, Qt.Key.Key_P)
        assert not window.frame_widget.smooth
        qtbot.keyClick(window.frame_widget, Qt.Key.Key_P)
        assert window.frame_widget.smooth

        qtbot.keyClick(window.frame_widget, Qt.Key.Key_S)
        saved = window.last_saved
        assert saved is not None and saved.name == f"viewer-{run_id}-2.png"
        assert not QImage(str(tmp_path / saved)).isNull()

        qtbot.keyClick(window.frame_widget, Qt.Key.Key_Q)
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT_MS)
        assert not writer.closed  # quitting the viewer leaves the run alone
        assert writer.publish(np.zeros((24, 32, 3), np.uint8)) == 3
    finally:
        window.close()
        writer.close()
