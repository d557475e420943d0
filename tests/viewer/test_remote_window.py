"""The whole window built for ``view --bridge``: it opens before the bridge answers, says so in
its status bar, and once the bridge is up shows the run's frame, lists it in the picker and
draws its curves, all from the bridge."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bridge_helpers import free_port
from pytestqt.qtbot import QtBot
from record_factory import episode, scalar
from remote_view_helpers import in_process_bridge, publish
from waits import WAIT_MS

from gym_gui_bridge.config.programs import ViewConfig
from gym_gui_bridge.config.viewer import LivePanelConfig, RemoteViewConfig, ViewerConfig
from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneWriter
from gym_gui_bridge.viewer.app import ViewerOptions, build_window
from gym_gui_bridge.viewer.remote.link import BridgeTarget

CONFIG = ViewConfig(
    viewer=ViewerConfig(liveness_interval_s=0.05, picker_refresh_s=0.1),
    live_panel=LivePanelConfig(poll_interval_s=0.05, refresh_s=0.05),
    remote_view=RemoteViewConfig(retry_min_s=0.05, retry_max_s=0.2),
)


def test_the_window_waits_for_the_bridge_then_shows_frame_picker_and_curves(
    qtbot: QtBot, tmp_path: Path, run_id: str
) -> None:
    port = free_port()
    options = ViewerOptions(run_id=run_id, config=CONFIG, bridge=BridgeTarget(f"127.0.0.1:{port}"))
    window = build_window(options)
    qtbot.addWidget(window)
    writer = FastLaneWriter.create(run_id, FastLaneConfig(60, 40))
    window.start()
    try:
        label = window.status_label
        qtbot.waitUntil(lambda: label.text().startswith("bridge-unreachable"), timeout=WAIT_MS)
        assert f"127.0.0.1:{port}" in label.text()
        with in_process_bridge(tmp_path / "b.sqlite", port=port) as bridge:
            episodes = [episode(run_id=run_id, slot=s, seq=0, ep_return=5.0) for s in (0, 3)]
            publish(bridge, [*episodes, scalar(run_id=run_id, tag="charts/SPS", value=900.0)])
            frame = np.full((40, 60, 3), (0, 128, 255), np.uint8)

            def shown() -> bool:
                writer.publish(frame)
                return window.frame_widget.shown is not None and label.text() == "connected"

            qtbot.waitUntil(shown, timeout=WAIT_MS)
            image = window.frame_widget.shown.image  # type: ignore[union-attr]
            red, green, blue, _ = image.pixelColor(30, 20).getRgb()
            assert abs(red - 0) <= 8 and abs(green - 128) <= 8 and abs(blue - 255) <= 8
            qtbot.waitUntil(lambda: run_id in window.picker.run_ids(), timeout=WAIT_MS)
            panel = window.live_panel
            assert panel is not None
            qtbot.waitUntil(lambda: sorted(panel.snapshot.returns) == [0, 3], timeout=WAIT_MS)
            assert panel.snapshot.scalars == {"charts/SPS": [(0, 900.0)]}
    finally:
        window.stop()
        writer.close()
