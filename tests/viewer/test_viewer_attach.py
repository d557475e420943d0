"""The viewer waits for a run, attaches, shows its HUD, and repaints only for new frames."""

from __future__ import annotations

import numpy as np
from pytestqt.qtbot import QtBot
from waits import WAIT_MS

from gym_gui_bridge.config.viewer import ViewerConfig
from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneMetrics, FastLaneWriter
from gym_gui_bridge.viewer.consumer import FastLaneConsumer
from gym_gui_bridge.viewer.frame_widget import FrameWidget


def _frame(value: int) -> np.ndarray:
    return np.full((24, 32, 3), value, np.uint8)


def test_waits_for_a_run_that_starts_later_then_attaches(qtbot: QtBot, run_id: str) -> None:
    consumer = FastLaneConsumer(run_id)
    statuses: list[str] = []
    consumer.status_changed.connect(statuses.append)
    consumer.start()
    qtbot.wait(300)
    assert consumer.status == "fastlane-unavailable"
    assert consumer.frames_shown == 0
    writer = FastLaneWriter.create(run_id, FastLaneConfig(32, 24))
    try:
        writer.publish(_frame(9), FastLaneMetrics(last_reward=0.5, rolling_return=3.0, episode=2))
        qtbot.waitUntil(lambda: consumer.frames_shown == 1, timeout=WAIT_MS)
        assert statuses == ["connected"]
        assert consumer.hud.metrics.episode == 2
        assert consumer.hud.metrics.rolling_return == 3.0
        qtbot.waitUntil(lambda: writer.watched, timeout=WAIT_MS)  # the viewer announced itself
    finally:
        consumer.stop()
        writer.close()


def test_repaints_and_converts_only_when_a_newer_frame_exists(qtbot: QtBot, run_id: str) -> None:
    writer = FastLaneWriter.create(run_id, FastLaneConfig(32, 24))
    consumer = FastLaneConsumer(run_id, config=ViewerConfig(fps=60.0))
    widget = FrameWidget()
    qtbot.addWidget(widget)
    consumer.frame_ready.connect(widget.show_frame)
    consumer.hud_changed.connect(widget.set_hud)
    widget.resize(320, 240)
    widget.show()
    consumer.start()
    try:
        for n in range(1, 6):
            writer.publish(_frame(n * 10))
            qtbot.waitUntil(lambda n=n: consumer.frames_shown == n, timeout=WAIT_MS)
        assert consumer.conversions == 5
        # idle: once the HUD's rates settled to zero (FASTLANE_STALE_PUBLISH_S and
        # VIEWER_RATE_WINDOW_S after the last frame) nothing may be copied or painted
        qtbot.waitUntil(
            lambda: consumer.hud.publish_rate_hz == 0.0 and consumer.hud.frames_shown_hz == 0.0,
            timeout=WAIT_MS,
        )
        qtbot.wait(100)  # runs the event loop: the repaint of that last HUD change happens now
        paints, conversions = widget.paint_count, consumer.conversions
        qtbot.wait(1000)  # ~60 polls of an unchanged ring
        assert consumer.conversions == conversions == 5
        assert widget.paint_count == paints
        writer.publish(_frame(200))
        qtbot.waitUntil(lambda: consumer.conversions == 6, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: widget.paint_count > paints, timeout=WAIT_MS)
        assert widget.shown is not None
        assert widget.shown.image.pixelColor(0, 0).red() == 200
    finally:
        consumer.stop()
        writer.close()


def test_without_run_id_follows_the_newest_live_run(qtbot: QtBot, run_id: str) -> None:
    consumer = FastLaneConsumer(None)
    consumer.start()
    writer = FastLaneWriter.create(run_id, FastLaneConfig(32, 24))
    try:
        writer.publish(_frame(1))
        qtbot.waitUntil(lambda: consumer.status == "connected", timeout=WAIT_MS)
        # other agents' runs may be newer still; ours must be found unless one is
        assert consumer.run_id
        assert consumer.follows_newest
    finally:
        consumer.stop()
        writer.close()


def test_pause_stops_copying_frames_and_watching(qtbot: QtBot, run_id: str) -> None:
    writer = FastLaneWriter.create(run_id, FastLaneConfig(32, 24))
    consumer = FastLaneConsumer(run_id)
    consumer.start()
    try:
        writer.publish(_frame(1))
        qtbot.waitUntil(lambda: consumer.frames_shown == 1, timeout=WAIT_MS)
        consumer.set_paused(True)
        assert consumer.hud.paused
        writer.publish(_frame(2))
        qtbot.wait(300)
        assert consumer.frames_shown == 1
        qtbot.waitUntil(lambda: not writer.watched, timeout=WAIT_MS)  # worker may stop rendering
        consumer.set_paused(False)
        qtbot.waitUntil(lambda: consumer.frames_shown == 2, timeout=WAIT_MS)
    finally:
        consumer.stop()
        writer.close()
