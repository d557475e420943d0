"""Every key the viewer reads (``gym-gui-bridge view --config FILE``) reaches the widget or
thread that uses it, built by the viewer's own code (tests/config has the other programs and
the refusals)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tyro
from config_helpers import VIEW_KEYS, write_config

from gym_gui_bridge.cli import view


def _window_values(window: Any, options: Any) -> dict[str, Any]:
    consumer, controller = window.consumer, window.controller
    ms = lambda timer: timer.interval() / 1000  # noqa: E731
    return {
        "VIEWER_FPS": consumer.config.fps,  # sets the poll timer
        "VIEWER_ATTACH_RETRY_S": ms(consumer._retry_timer),
        "VIEWER_LIVENESS_INTERVAL_S": consumer.config.liveness_interval_s,
        "VIEWER_RATE_WINDOW_S": consumer._meter._window,
        "VIEWER_PICKER_REFRESH_S": ms(window.picker._timer),
        "VIEWER_SNAPSHOT_TIMEOUT_S": options.config.viewer.snapshot_timeout_s,  # run_viewer's
        "LIVE_DB_POLL_INTERVAL_S": controller._interval,
        "LIVE_DB_BATCH_ROWS": controller.source._batch_rows,
        "LIVE_DB_BUSY_TIMEOUT_S": controller.source.config.busy_timeout_s,
        "LIVE_RETURN_HISTORY": controller.config.return_history,
        "LIVE_SCALAR_HISTORY": controller.config.scalar_history,
        "LIVE_MAX_SCALAR_TAGS": controller.config.max_scalar_tags,
        "LIVE_THREAD_JOIN_TIMEOUT_S": controller.config.thread_join_timeout_s,
        "LIVE_PANEL_REFRESH_S": ms(window.live_panel._timer),
    }


def _remote_window_values(window: Any) -> dict[str, Any]:
    consumer, source = window.consumer, window.controller.source
    backoff = consumer.link.backoff()  # what every stream's reconnection waits follow
    return {
        "REMOTE_VIEW_RETRY_MIN_S": backoff._first,
        "REMOTE_VIEW_RETRY_MAX_S": backoff._most,
        "REMOTE_VIEW_CALL_TIMEOUT_S": consumer.link.config.call_timeout_s,  # list_* deadlines
        "REMOTE_VIEW_JPEG_QUALITY": consumer.remote.jpeg_quality,  # each WatchRequest's
        "REMOTE_VIEW_TELEMETRY_BUFFER": source.remote.telemetry_buffer,
        "REMOTE_VIEW_STATUS_REFRESH_S": source.remote.status_refresh_s,
    }


@pytest.mark.parametrize("key", VIEW_KEYS)
def test_a_view_key_reaches_the_component_that_uses_it(
    tmp_path: Path, qtbot: Any, key: str
) -> None:
    from gym_gui_bridge.viewer.app import build_window

    path, value = write_config(tmp_path, key)
    remote = key.startswith("REMOTE_VIEW_")
    bridge = ["--bridge", "127.0.0.1:1"] if remote else []  # nothing connects before start()
    args = tyro.cli(view.ViewArgs, args=["run-x", "--config", str(path), *bridge])
    options = view.viewer_options(args, view.view_config(args), view.bridge_target(args))
    window = build_window(options)
    qtbot.addWidget(window)
    held = _remote_window_values(window) if remote else _window_values(window, options)
    assert held[key] == value


def test_view_flags_beat_the_file(tmp_path: Path) -> None:
    path, _ = write_config(tmp_path, "VIEWER_FPS")
    args = tyro.cli(view.ViewArgs, args=["--config", str(path), "--fps", "12"])
    assert view.view_config(args).viewer.fps == 12.0
