"""The remote consumer against a real bridge in this process: frames and HUD through
WatchFrames, run changes, pausing, a refused token, an unreachable or restarted bridge."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from bridge_helpers import free_port
from pytestqt.qtbot import QtBot
from record_factory import run
from remote_view_helpers import TOKEN, in_process_bridge, publish
from tls_files import make_certificate
from waits import WAIT_MS

from gym_gui_bridge.config.viewer import RemoteViewConfig, ViewerConfig
from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneMetrics, FastLaneWriter
from gym_gui_bridge.server.app import Bridge
from gym_gui_bridge.viewer.image import ShownFrame
from gym_gui_bridge.viewer.remote.consumer import RemoteFrameConsumer
from gym_gui_bridge.viewer.remote.link import BridgeLink, BridgeTarget
from gym_gui_bridge.viewer.remote.run_list import RemoteRunList

FAST = ViewerConfig(liveness_interval_s=0.05, picker_refresh_s=0.1)
QUICK_RETRY = RemoteViewConfig(retry_min_s=0.05, retry_max_s=0.2)


@pytest.fixture
def bridge(tmp_path: Path) -> Iterator[Bridge]:
    with in_process_bridge(tmp_path / "bridge.sqlite") as running:
        yield running


def _consumer(
    address: str,
    run_id: str | None,
    *,
    token: str | None = None,
    lossless: bool = False,
    tls_ca: Path | None = None,
) -> RemoteFrameConsumer:
    target = BridgeTarget(address, token, "FASTLANE_BRIDGE_TOKEN", tls_ca)
    link = BridgeLink(target, QUICK_RETRY)
    runs = RemoteRunList(link, FAST.picker_refresh_s)
    return RemoteFrameConsumer(
        run_id, link=link, runs=runs, config=FAST, remote=QUICK_RETRY, lossless=lossless
    )


def _frame(colour: tuple[int, int, int], height: int = 40, width: int = 60) -> np.ndarray:
    frame = np.zeros((height, width, 3), np.uint8)
    frame[:] = colour
    frame[:, width // 2 :] = (255 - colour[0], 255 - colour[1], 255 - colour[2])
    return frame


def test_frames_and_hud_come_through_the_bridge_pixel_exact_with_png(
    qtbot: QtBot, bridge: Bridge, run_id: str
) -> None:
    writer = FastLaneWriter.create(run_id, FastLaneConfig(60, 40, env_slot=2))
    consumer = _consumer(f"127.0.0.1:{bridge.port}", run_id, lossless=True)
    shown: list[ShownFrame] = []
    consumer.frame_ready.connect(shown.append)
    try:
        consumer.start()
        sent = _frame((200, 30, 90))
        metrics = FastLaneMetrics(
            last_reward=1.5,
            rolling_return=42.0,
            episode=7,
            episode_step=3,
            render_ms=1.25,
            render_mode="sidecar",
        )

        def newest_matches() -> bool:
            writer.publish(sent, metrics)  # the relay reads the newest frame when it attaches
            return bool(shown) and shown[-1].frame.metrics.episode == 7

        qtbot.waitUntil(newest_matches, timeout=WAIT_MS)
        frame = shown[-1].frame
        np.testing.assert_array_equal(frame.data, sent)  # PNG: pixel for pixel
        assert shown[-1].image.pixelColor(0, 0).getRgb()[:3] == (200, 30, 90)
        assert consumer.status == "connected"
        assert consumer.hud.metrics.rolling_return == 42.0
        assert consumer.hud.metrics.last_reward == 1.5
        assert (consumer.hud.metrics.render_mode, consumer.hud.metrics.render_ms) == (
            "sidecar",
            1.25,
        )
        assert consumer.hud.seq == frame.seq
        assert bridge.relay.viewers() == {run_id: 1}
    finally:
        consumer.stop()
        writer.close()


def test_jpeg_frames_are_close_to_the_ring_and_hud_counts_skipped_frames(
    qtbot: QtBot, bridge: Bridge, run_id: str
) -> None:
    writer = FastLaneWriter.create(run_id, FastLaneConfig(60, 40))
    consumer = _consumer(f"127.0.0.1:{bridge.port}", run_id)
    shown: list[ShownFrame] = []
    consumer.frame_ready.connect(shown.append)
    sent = _frame((10, 180, 250))
    try:
        consumer.start()

        def two_frames() -> bool:
            writer.publish(sent)
            return len(shown) >= 2

        qtbot.waitUntil(two_frames, timeout=WAIT_MS)
        error = np.abs(shown[-1].frame.data.astype(int) - sent.astype(int))
        assert error[:, 5:25].max() <= 8 and error[:, 35:55].max() <= 8  # away from the edge
        assert consumer.hud.frames_shown_hz > 0
        assert consumer.skipped == consumer.hud.skipped
    finally:
        consumer.stop()
        writer.close()


def test_following_the_newest_run_and_switching_runs(
    qtbot: QtBot, bridge: Bridge, run_id: str
) -> None:
    older, newer = run_id + "-a", run_id + "-b"
    # the bridge's runs say which started last (other rings on this machine are older: unknown)
    now = time.time()
    publish(bridge, [run(run_id=older, wall_time=now), run(run_id=newer, wall_time=now + 1)])
    first = FastLaneWriter.create(older, FastLaneConfig(60, 40))
    second = FastLaneWriter.create(newer, FastLaneConfig(60, 40))
    consumer = _consumer(f"127.0.0.1:{bridge.port}", None)
    runs_seen: list[str] = []
    consumer.run_changed.connect(runs_seen.append)
    try:
        consumer.start()

        def shows(writer: FastLaneWriter, wanted: str) -> Callable[[], bool]:
            def check() -> bool:
                writer.publish(_frame((0, 0, 255)))
                return consumer.hud.run_id == wanted and consumer.status == "connected"

            return check

        qtbot.waitUntil(shows(second, newer), timeout=WAIT_MS)
        assert consumer.follows_newest
        consumer.set_run(older)
        qtbot.waitUntil(shows(first, older), timeout=WAIT_MS)
        assert runs_seen == [newer, older]
        assert not consumer.follows_newest
        qtbot.waitUntil(lambda: bridge.relay.viewers().get(newer, 0) == 0, timeout=WAIT_MS)
        listed = [listed_id for listed_id, _ in consumer.runs.entries()]
        assert older in listed and newer in listed  # the picker's lines
    finally:
        consumer.stop()
        first.close()
        second.close()


def test_pausing_ends_the_watch_and_resuming_starts_it_again(
    qtbot: QtBot, bridge: Bridge, run_id: str
) -> None:
    writer = FastLaneWriter.create(run_id, FastLaneConfig(60, 40))
    consumer = _consumer(f"127.0.0.1:{bridge.port}", run_id)
    try:
        consumer.start()

        def connected() -> bool:
            writer.publish(_frame((1, 2, 3)))
            return consumer.status == "connected"

        qtbot.waitUntil(connected, timeout=WAIT_MS)
        consumer.set_paused(True)
        assert consumer.hud.paused and consumer.stream is None
        qtbot.waitUntil(lambda: bridge.relay.viewers().get(run_id, 0) == 0, timeout=WAIT_MS)
        shown_before = consumer.frames_shown
        consumer.set_paused(False)

        def more_frames() -> bool:
            writer.publish(_frame((1, 2, 3)))
            return consumer.frames_shown > shown_before

        qtbot.waitUntil(more_frames, timeout=WAIT_MS)
        assert bridge.relay.viewers() == {run_id: 1}
    finally:
        consumer.stop()
        writer.close()


@pytest.mark.parametrize("given", [None, "a-wrong-token-of-enough-length"])
def test_a_refused_token_stops_the_consumer_and_names_the_token(
    qtbot: QtBot, tmp_path: Path, run_id: str, given: str | None
) -> None:
    with in_process_bridge(tmp_path / "bridge.sqlite", token=TOKEN) as bridge:
        consumer = _consumer(f"127.0.0.1:{bridge.port}", run_id, token=given)
        try:
            consumer.start()
            qtbot.waitUntil(lambda: consumer.status == "token-refused", timeout=WAIT_MS)
            assert consumer.gave_up
            assert "FASTLANE_BRIDGE_TOKEN" in consumer.detail
            assert "--token-file" in consumer.detail
            qtbot.waitUntil(lambda: not consumer.stream.running, timeout=WAIT_MS)  # type: ignore[union-attr]
        finally:
            consumer.stop()


def test_an_unreachable_bridge_is_a_status_and_a_restarted_one_is_found_again(
    qtbot: QtBot, tmp_path: Path, run_id: str
) -> None:
    port = free_port()
    consumer = _consumer(f"127.0.0.1:{port}", run_id)
    writer = FastLaneWriter.create(run_id, FastLaneConfig(60, 40))
    try:
        consumer.start()
        qtbot.waitUntil(lambda: consumer.status == "bridge-unreachable", timeout=WAIT_MS)
        assert f"127.0.0.1:{port}" in consumer.detail
        assert not consumer.gave_up
        with in_process_bridge(tmp_path / "bridge.sqlite", port=port):

            def connected() -> bool:
                writer.publish(_frame((9, 9, 9)))
                return consumer.status == "connected"

            qtbot.waitUntil(connected, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: consumer.status == "reconnecting", timeout=WAIT_MS)
        with in_process_bridge(tmp_path / "bridge.sqlite", port=port):
            shown_before = consumer.frames_shown

            def frames_again() -> bool:
                writer.publish(_frame((9, 9, 9)))
                return consumer.frames_shown > shown_before and consumer.status == "connected"

            qtbot.waitUntil(frames_again, timeout=WAIT_MS)
    finally:
        consumer.stop()
        writer.close()


def test_a_closed_run_is_reported_and_its_restart_is_followed(
    qtbot: QtBot, bridge: Bridge, run_id: str
) -> None:
    consumer = _consumer(f"127.0.0.1:{bridge.port}", run_id)
    statuses: list[str] = []
    consumer.status_changed.connect(statuses.append)
    first = FastLaneWriter.create(run_id, FastLaneConfig(60, 40))
    try:
        consumer.start()

        def connected() -> bool:
            first.publish(_frame((50, 50, 50)))
            return consumer.status == "connected"

        qtbot.waitUntil(connected, timeout=WAIT_MS)
        first.close()
        qtbot.waitUntil(lambda: consumer.status != "connected", timeout=WAIT_MS)
        assert consumer.status in ("reconnecting", "fastlane-unavailable")
        second = FastLaneWriter.create(run_id, FastLaneConfig(60, 40))
        try:

            def back() -> bool:
                second.publish(_frame((70, 70, 70)))
                return consumer.status == "connected"

            qtbot.waitUntil(back, timeout=WAIT_MS)
            assert statuses[0] == "connected" and statuses[-1] == "connected"
            assert consumer.hud.reconnects >= 1
        finally:
            second.close()
    finally:
        consumer.stop()


def test_a_tls_bridge_is_watched_with_its_ca_and_refused_without(
    qtbot: QtBot, tmp_path: Path, run_id: str
) -> None:
    cert, key = make_certificate(tmp_path)
    writer = FastLaneWriter.create(run_id, FastLaneConfig(60, 40))
    with in_process_bridge(tmp_path / "b.sqlite", token=TOKEN, tls=(cert, key)) as bridge:
        address = f"127.0.0.1:{bridge.port}"
        plain = _consumer(address, run_id, token=TOKEN)
        secure = _consumer(address, run_id, token=TOKEN, tls_ca=cert)
        try:
            plain.start()
            secure.start()

            def secure_connected() -> bool:
                writer.publish(_frame((30, 60, 90)))
                return secure.status == "connected"

            qtbot.waitUntil(secure_connected, timeout=WAIT_MS)
            qtbot.waitUntil(lambda: plain.status == "bridge-unreachable", timeout=WAIT_MS)
            assert plain.frames_shown == 0
        finally:
            plain.stop()
            secure.stop()
            writer.close()
