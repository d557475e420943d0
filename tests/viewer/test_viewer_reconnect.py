"""The viewer survives its writer: restart under the same run id, geometry change, SIGKILL."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable

import numpy as np
import pytest
from pytestqt.qtbot import QtBot
from waits import WAIT_MS

from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneReader, FastLaneWriter
from gym_gui_bridge.viewer.consumer import FastLaneConsumer


def _shown_red(consumer: FastLaneConsumer, seen: list[object]) -> int:
    return seen[-1].image.pixelColor(0, 0).red() if seen else -1  # type: ignore[attr-defined]


def test_reattaches_when_the_writer_restarts_with_the_same_run_id(
    qtbot: QtBot, run_id: str
) -> None:
    consumer = FastLaneConsumer(run_id)
    seen: list[object] = []
    statuses: list[str] = []
    consumer.frame_ready.connect(seen.append)
    consumer.status_changed.connect(statuses.append)
    first = FastLaneWriter.create(run_id, FastLaneConfig(32, 24))
    first.publish(np.full((24, 32, 3), 100, np.uint8))
    consumer.start()
    qtbot.waitUntil(lambda: consumer.frames_shown == 1, timeout=WAIT_MS)
    first.close()  # the run ends: the segment is unlinked
    qtbot.waitUntil(lambda: consumer.status == "reconnecting", timeout=WAIT_MS)
    assert "closed" in consumer.detail
    second = FastLaneWriter.create(run_id, FastLaneConfig(32, 24))
    try:
        second.publish(np.full((24, 32, 3), 200, np.uint8))
        qtbot.waitUntil(lambda: _shown_red(consumer, seen) == 200, timeout=WAIT_MS)
        assert statuses == ["connected", "reconnecting", "connected"]
        assert consumer.reconnect_count == 1
        assert consumer.hud.reconnects == 1
    finally:
        consumer.stop()
        second.close()


def test_follows_a_geometry_change_to_the_new_generation(qtbot: QtBot, run_id: str) -> None:
    writer = FastLaneWriter.create(run_id, FastLaneConfig(32, 24))
    consumer = FastLaneConsumer(run_id)
    seen: list[object] = []
    consumer.frame_ready.connect(seen.append)
    try:
        writer.publish(np.zeros((24, 32, 3), np.uint8))
        consumer.start()
        qtbot.waitUntil(lambda: consumer.frames_shown == 1, timeout=WAIT_MS)
        writer.publish(np.full((40, 20, 4), 77, np.uint8))  # new size and RGBA: generation 2
        qtbot.waitUntil(lambda: consumer.frames_shown == 2, timeout=WAIT_MS)
        image = seen[-1].image  # type: ignore[attr-defined]
        assert (image.width(), image.height()) == (20, 40)
        assert consumer.reconnect_count == 1
        assert consumer.status == "connected"
    finally:
        consumer.stop()
        writer.close()


@pytest.mark.slow
def test_notices_a_killed_writer_and_recovers_when_it_comes_back(
    qtbot: QtBot, run_id: str, spawn_writer: Callable[..., subprocess.Popen[str]]
) -> None:
    child = spawn_writer(run_id, "--color", "10,20,30", "--fps", "30")
    consumer = FastLaneConsumer(run_id)
    seen: list[object] = []
    consumer.frame_ready.connect(seen.append)
    consumer.start()
    try:
        qtbot.waitUntil(lambda: consumer.status == "connected" and bool(seen), timeout=WAIT_MS)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        qtbot.waitUntil(lambda: consumer.status == "reconnecting", timeout=WAIT_MS)
        assert f"pid {child.pid} is gone" in consumer.detail
        assert consumer.hud.publish_rate_hz == 0.0
        # the dead writer's segment is left for cleanup; the viewer did not remove it
        with FastLaneReader.attach(run_id, announce=False) as reader:
            assert not reader.writer_alive()
        spawn_writer(run_id, "--color", "200,0,0", "--fps", "30")  # reclaims the dead ring
        qtbot.waitUntil(lambda: _shown_red(consumer, seen) == 200, timeout=WAIT_MS)
        assert consumer.status == "connected"
        assert consumer.reconnect_count == 1
    finally:
        consumer.stop()
