"""The live panel's curves from a bridge: BridgeTelemetrySource against a real bridge in this
process (StreamRunEpisodes, StreamRunScalars, ListRuns), through the live controller."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bridge_helpers import free_port
from record_factory import episode, run, scalar
from remote_view_helpers import TOKEN, in_process_bridge, publish
from waits import wait_until

from gym_gui_bridge.config.viewer import LivePanelConfig, RemoteViewConfig
from gym_gui_bridge.server.app import Bridge
from gym_gui_bridge.viewer.live_controller import LiveSnapshot, LiveTelemetryController
from gym_gui_bridge.viewer.remote.link import BridgeLink, BridgeTarget
from gym_gui_bridge.viewer.remote.telemetry import BridgeTelemetrySource
from gym_gui_bridge.viewer.telemetry_source import TelemetryUnavailableError

QUICK = RemoteViewConfig(retry_min_s=0.05, retry_max_s=0.2, status_refresh_s=0.05)


@pytest.fixture
def bridge(tmp_path: Path) -> Iterator[Bridge]:
    with in_process_bridge(tmp_path / "bridge.sqlite") as running:
        yield running


def _controller(address: str, token: str | None = None) -> LiveTelemetryController:
    link = BridgeLink(BridgeTarget(address, token, "--token-file token.txt"), QUICK)
    source = BridgeTelemetrySource(link, remote=QUICK)
    return LiveTelemetryController(source, config=LivePanelConfig(poll_interval_s=0.05))


def _polled_until(
    controller: LiveTelemetryController, done: object, what: str = ""
) -> LiveSnapshot:
    def check() -> LiveSnapshot | None:
        controller.poll_once()
        snap = controller.snapshot()
        return snap if done(snap) else None  # type: ignore[operator]

    return wait_until(check, what=what)


def _episodes(run_id: str, slot: int, returns: list[float], first_seq: int = 0) -> list[object]:
    return [
        episode(run_id=run_id, slot=slot, seq=first_seq + i, episode=first_seq + i, ep_return=r)
        for i, r in enumerate(returns)
    ]


def test_returns_per_slot_and_scalars_stored_and_live_reach_the_panel(
    bridge: Bridge, run_id: str
) -> None:
    publish(bridge, [run(run_id=run_id)])
    publish(bridge, [*_episodes(run_id, 0, [1.0, 2.0]), *_episodes(run_id, 1, [5.0])])
    publish(bridge, [scalar(run_id=run_id, seq=0, tag="losses/loss", value=0.5, step=10)])
    controller = _controller(f"127.0.0.1:{bridge.port}")
    controller.set_run(run_id)
    try:
        snap = _polled_until(controller, lambda s: len(s.returns.get(0, [])) == 2 and s.scalars)
        assert [r for _, r in snap.returns[0]] == [1.0, 2.0]
        assert [r for _, r in snap.returns[1]] == [5.0]
        assert snap.scalars == {"losses/loss": [(10, 0.5)]}
        assert snap.available and snap.run_status == "started"
        publish(bridge, _episodes(run_id, 1, [6.0, 7.0], first_seq=1))  # live, after the replay
        publish(bridge, [scalar(run_id=run_id, seq=1, tag="losses/loss", value=0.25, step=20)])
        snap = _polled_until(
            controller, lambda s: len(s.returns[1]) == 3 and len(s.scalars["losses/loss"]) == 2
        )
        assert [r for _, r in snap.returns[1]] == [5.0, 6.0, 7.0]
        assert snap.scalars["losses/loss"] == [(10, 0.5), (20, 0.25)]
    finally:
        controller.stop()


def test_before_any_record_it_says_why_there_is_nothing(bridge: Bridge, run_id: str) -> None:
    link = BridgeLink(BridgeTarget(f"127.0.0.1:{bridge.port}"), QUICK)
    source = BridgeTelemetrySource(link, remote=QUICK)
    try:
        with pytest.raises(TelemetryUnavailableError) as nothing:
            source.fetch(run_id)
        assert "no telemetry yet" in str(nothing.value)
        assert run_id in str(nothing.value) and str(bridge.port) in str(nothing.value)
    finally:
        source.close()
        link.close()


def test_a_refused_token_is_the_reason_shown(tmp_path: Path, run_id: str) -> None:
    with in_process_bridge(tmp_path / "b.sqlite", token=TOKEN) as bridge:
        publish(bridge, _episodes(run_id, 0, [1.0]), token=TOKEN)
        controller = _controller(f"127.0.0.1:{bridge.port}", token="a-wrong-token-of-enough-length")
        controller.set_run(run_id)
        try:
            snap = _polled_until(controller, lambda s: "refused" in s.reason)
            assert not snap.available
            assert "--token-file token.txt" in snap.reason
            assert "FASTLANE_BRIDGE_TOKEN" in snap.reason
        finally:
            controller.stop()
        right = _controller(f"127.0.0.1:{bridge.port}", token=TOKEN)
        right.set_run(run_id)
        try:
            assert _polled_until(right, lambda s: s.returns).returns[0][0][1] == 1.0
        finally:
            right.stop()


def test_after_the_bridge_restarts_the_curves_go_on_without_duplicates(
    tmp_path: Path, run_id: str
) -> None:
    port, db = free_port(), tmp_path / "b.sqlite"
    controller = _controller(f"127.0.0.1:{port}")
    controller.set_run(run_id)
    try:
        with in_process_bridge(db, port=port) as bridge:
            publish(bridge, _episodes(run_id, 0, [1.0, 2.0, 3.0]))
            _polled_until(controller, lambda s: len(s.returns.get(0, [])) == 3)
        snap = _polled_until(controller, lambda s: str(port) in s.reason)  # why it stopped
        assert [r for _, r in snap.returns[0]] == [1.0, 2.0, 3.0]  # the curve stays
        with in_process_bridge(db, port=port) as bridge:
            publish(bridge, _episodes(run_id, 0, [4.0], first_seq=3))
            snap = _polled_until(controller, lambda s: len(s.returns[0]) >= 4)
        assert [r for _, r in snap.returns[0]] == [1.0, 2.0, 3.0, 4.0]  # replayed, not doubled
        source = controller.source
        assert isinstance(source, BridgeTelemetrySource)
        assert source.streams[0].calls >= 2
    finally:
        controller.stop()


def test_a_new_run_starts_its_curves_from_its_first_record(bridge: Bridge, run_id: str) -> None:
    other = run_id + "-other"
    publish(bridge, [*_episodes(run_id, 0, [1.0]), *_episodes(other, 0, [9.0, 8.0])])
    controller = _controller(f"127.0.0.1:{bridge.port}")
    try:
        controller.set_run(run_id)
        _polled_until(controller, lambda s: s.returns)
        controller.set_run(other)
        snap = _polled_until(controller, lambda s: len(s.returns.get(0, [])) == 2)
        assert snap.run_id == other
        assert [r for _, r in snap.returns[0]] == [9.0, 8.0]
    finally:
        controller.stop()
