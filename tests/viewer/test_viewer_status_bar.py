"""The status bar shows the fast-lane status and, when there is one, the reason for it: why a run
cannot be attached, why the viewer is reconnecting; nothing more while connected."""

from __future__ import annotations

import numpy as np
from pytestqt.qtbot import QtBot
from waits import WAIT_MS

from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneWriter
from gym_gui_bridge.viewer.consumer import FastLaneConsumer
from gym_gui_bridge.viewer.hud import format_hud_lines
from gym_gui_bridge.viewer.main_window import ViewerWindow


def _window(qtbot: QtBot, run_id: str) -> ViewerWindow:
    window = ViewerWindow(FastLaneConsumer(run_id))
    qtbot.addWidget(window)
    window.show()
    window.start()
    return window


def test_a_run_without_a_fast_lane_is_named_with_the_reason(qtbot: QtBot, run_id: str) -> None:
    window = _window(qtbot, run_id)
    try:
        reason = f"no fast lane for run '{run_id}'"
        qtbot.waitUntil(lambda: reason in window.status_label.text(), timeout=WAIT_MS)
        assert window.status_label.text().startswith("fastlane-unavailable  ")
        assert reason in format_hud_lines(window.consumer.hud)[0]
    finally:
        window.stop()


def test_connected_then_closed_by_the_writer(qtbot: QtBot, run_id: str) -> None:
    writer = FastLaneWriter.create(run_id, FastLaneConfig(32, 24))
    window = _window(qtbot, run_id)
    try:
        writer.publish(np.full((24, 32, 3), 40, np.uint8))
        qtbot.waitUntil(lambda: window.status_label.text() == "connected", timeout=WAIT_MS)
        writer.close()
        qtbot.waitUntil(
            lambda: window.status_label.text() == "reconnecting  the writer closed the run",
            timeout=WAIT_MS,
        )
    finally:
        window.stop()
        writer.close()
