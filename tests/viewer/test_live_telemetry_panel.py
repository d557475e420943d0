"""The live panel follows a real SQLite file (read-only, tailing) without ever stalling frames."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
from pytestqt.qtbot import QtBot
from waits import WAIT_MS

from gym_gui_bridge.config.viewer import LivePanelConfig
from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneWriter
from gym_gui_bridge.viewer.consumer import FastLaneConsumer
from gym_gui_bridge.viewer.live_controller import LiveTelemetryController
from gym_gui_bridge.viewer.live_panel import LivePanel
from gym_gui_bridge.viewer.main_window import ViewerWindow
from gym_gui_bridge.viewer.telemetry_source import SqliteTelemetrySource

POLL_S = 0.05
SCALAR_HISTORY = LivePanelConfig().scalar_history

SCHEMA = """
CREATE TABLE runs (run_id TEXT PRIMARY KEY, status TEXT, started_at REAL, extra TEXT);
CREATE TABLE episodes (run_id TEXT, slot INTEGER, episode INTEGER, ep_return REAL,
                       length INTEGER, wall_time REAL, extra TEXT);
CREATE TABLE scalars (run_id TEXT, tag TEXT, step INTEGER, value REAL, wall_time REAL);
"""


def _create_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(SCHEMA)
    return conn


def _episodes(conn: sqlite3.Connection, run: str, slot: int, returns: list[float]) -> None:
    now = time.time()
    conn.executemany(
        "INSERT INTO episodes VALUES (?, ?, ?, ?, ?, ?, '')",
        [(run, slot, i, r, 10 + i, now + i) for i, r in enumerate(returns)],
    )


def _controller(path: Path) -> LiveTelemetryController:
    return LiveTelemetryController(
        SqliteTelemetrySource(path), config=LivePanelConfig(poll_interval_s=POLL_S)
    )


def test_panel_says_no_telemetry_until_the_database_and_tables_exist(
    qtbot: QtBot, tmp_path: Path, run_id: str
) -> None:
    path = tmp_path / "fastlane.sqlite"
    controller = _controller(path)
    panel = LivePanel(controller)
    qtbot.addWidget(panel)
    controller.set_run(run_id)
    controller.start()
    panel.start()
    try:
        qtbot.waitUntil(lambda: controller.polls >= 2, timeout=WAIT_MS)
        panel.refresh()
        assert not panel.snapshot.available
        assert "no database" in panel.snapshot.reason
        sqlite3.connect(path).close()  # an empty file: no tables yet
        qtbot.waitUntil(lambda: "no such table" in controller.snapshot().reason, timeout=WAIT_MS)
        conn = _create_db(path)
        conn.execute("INSERT INTO runs VALUES (?, 'running', 0, '')", (run_id,))
        _episodes(conn, run_id, 0, [1.0, 2.0])
        qtbot.waitUntil(lambda: len(controller.snapshot().returns.get(0, [])) == 2, timeout=WAIT_MS)
        snap = controller.snapshot()
        assert snap.available
        assert snap.run_status == "running"
        assert [r for _, r in snap.returns[0]] == [1.0, 2.0]
        assert controller.source.path.stat().st_size > 0
    finally:
        panel.stop()
        controller.stop()
    assert not controller.running


def test_controller_tails_new_rows_per_slot_and_keeps_buffers_bounded(
    qtbot: QtBot, tmp_path: Path, run_id: str
) -> None:
    path = tmp_path / "fastlane.sqlite"
    conn = _create_db(path)
    conn.execute("INSERT INTO runs VALUES (?, 'running', 0, '')", (run_id,))
    _episodes(conn, run_id, 0, [1.0, 2.0, 3.0])
    _episodes(conn, run_id, 2, [5.0])
    _episodes(conn, "another-run", 0, [99.0])
    controller = _controller(path)
    controller.set_run(run_id)
    controller.start()
    try:
        qtbot.waitUntil(lambda: 2 in controller.snapshot().returns, timeout=WAIT_MS)
        _episodes(conn, run_id, 2, [6.0, 7.0])
        conn.executemany(
            "INSERT INTO scalars VALUES (?, ?, ?, ?, 0)",
            [(run_id, "charts/SPS", step, float(step)) for step in range(SCALAR_HISTORY + 50)]
            + [(run_id, "losses/value_loss", 1, 0.25)],
        )
        conn.execute("UPDATE runs SET status = 'finished' WHERE run_id = ?", (run_id,))

        def caught_up() -> bool:
            snap = controller.snapshot()
            return len(snap.returns.get(2, [])) == 3 and "losses/value_loss" in snap.scalars

        qtbot.waitUntil(caught_up, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: controller.snapshot().run_status == "finished", timeout=WAIT_MS)
        snap = controller.snapshot()
        assert [r for _, r in snap.returns[0]] == [1.0, 2.0, 3.0]  # each row once, no rereads
        assert [r for _, r in snap.returns[2]] == [5.0, 6.0, 7.0]
        sps = snap.scalars["charts/SPS"]
        assert len(sps) == SCALAR_HISTORY  # bounded, oldest dropped
        assert sps[-1] == (SCALAR_HISTORY + 49, float(SCALAR_HISTORY + 49))
        assert all(r != 99.0 for series in snap.returns.values() for _, r in series)
        assert controller.error_count == 0
    finally:
        controller.stop()


def test_a_locked_database_never_stalls_the_frames(
    qtbot: QtBot, tmp_path: Path, run_id: str
) -> None:
    path = tmp_path / "fastlane.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)  # rollback journal: a writer locks readers
    conn.executescript(SCHEMA)
    conn.execute("BEGIN EXCLUSIVE")
    conn.execute("INSERT INTO runs VALUES (?, 'running', 0, '')", (run_id,))
    writer = FastLaneWriter.create(run_id, FastLaneConfig(32, 24))
    window = ViewerWindow(FastLaneConsumer(run_id), _controller(path))
    qtbot.addWidget(window)
    window.show()
    window.start()
    try:
        for n in range(1, 11):  # the panel's thread sits in a locked query all this time
            writer.publish(np.full((24, 32, 3), n, np.uint8))
            qtbot.waitUntil(lambda n=n: window.consumer.frames_shown == n, timeout=WAIT_MS)
        assert not window.live_panel.snapshot.available
        conn.execute("COMMIT")
        _episodes(conn, run_id, 0, [4.0])
        qtbot.waitUntil(lambda: window.live_panel.snapshot.available, timeout=WAIT_MS)
        image = window.grab().toImage()
        assert not image.isNull()
    finally:
        window.close()
        writer.close()
        conn.close()


def test_the_first_load_is_done_once_the_backlog_is_taken_or_there_is_nothing(
    tmp_path: Path, run_id: str
) -> None:
    path = tmp_path / "fastlane.sqlite"
    config = LivePanelConfig(batch_rows=2)
    controller = LiveTelemetryController(SqliteTelemetrySource(path, config=config), config=config)
    controller.set_run(run_id)
    controller.poll_once()  # no database: the source looked, and holds nothing
    snap = controller.snapshot()
    assert snap.loaded and not snap.available and "no database" in snap.reason
    controller.set_run("")
    controller.set_run(run_id)
    assert not controller.snapshot().loaded  # a new run: loaded again from its first record
    conn = _create_db(path)
    _episodes(conn, run_id, 0, [float(i) for i in range(5)])
    loaded = []
    for _ in range(3):  # 2 + 2 + 1 rows: the backlog is taken in three steps
        controller.poll_once()
        loaded.append(controller.snapshot().loaded)
    assert loaded == [False, False, True]
    assert len(controller.snapshot().returns[0]) == 5
