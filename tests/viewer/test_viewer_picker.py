"""The run picker lists live fast lanes and switches the viewer between runs without a restart."""

from __future__ import annotations

import numpy as np
from pytestqt.qtbot import QtBot
from waits import WAIT_MS

from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneWriter
from gym_gui_bridge.viewer.consumer import FastLaneConsumer
from gym_gui_bridge.viewer.live_controller import LiveTelemetryController
from gym_gui_bridge.viewer.main_window import ViewerWindow
from gym_gui_bridge.viewer.telemetry_source import SqliteTelemetrySource


def test_picker_lists_runs_and_switches_between_them(
    qtbot: QtBot, run_id: str, tmp_path: object
) -> None:
    run_a, run_b = f"{run_id}-a", f"{run_id}-b"
    writer_a = FastLaneWriter.create(run_a, FastLaneConfig(32, 24, env_slot=1))
    writer_b = FastLaneWriter.create(run_b, FastLaneConfig(48, 24, env_slot=2))
    writer_a.publish(np.full((24, 32, 3), (255, 0, 0), np.uint8))
    writer_b.publish(np.full((24, 48, 3), (0, 0, 255), np.uint8))
    controller = LiveTelemetryController(SqliteTelemetrySource(f"{tmp_path}/none.sqlite"))
    window = ViewerWindow(FastLaneConsumer(run_a), controller)
    qtbot.addWidget(window)
    window.show()
    window.start()
    try:
        widget = window.frame_widget
        qtbot.waitUntil(lambda: widget.frames_painted >= 1, timeout=WAIT_MS)
        assert window.picker.currentData() == run_a
        ids = window.picker.run_ids()
        assert run_a in ids and run_b in ids
        label = window.picker.itemText(window.picker.findData(run_b))
        assert "slot 2" in label and "48x24x3" in label and "alive" in label

        window.picker.select_run(run_b)
        qtbot.waitUntil(
            lambda: widget.shown is not None and widget.shown.image.width() == 48,
            timeout=WAIT_MS,
        )
        assert window.consumer.run_id == run_b
        assert window.consumer.status == "connected"
        assert controller.snapshot().run_id == run_b
        assert widget.shown.image.pixelColor(0, 0).getRgb()[:3] == (0, 0, 255)
        assert window.picker.currentData() == run_b
    finally:
        window.close()
        writer_a.close()
        writer_b.close()
