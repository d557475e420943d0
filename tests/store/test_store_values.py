"""What the sink stores for the values sqlite3 adapts (bools, None): integers and NULLs, as
SQLite would store them without the adapters gym_gui_bridge.store.writes registers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from record_factory import episode, step

from gym_gui_bridge.store.schema import open_writer
from gym_gui_bridge.store.writes import write_batch


def test_bools_and_nones_are_stored_as_integers_and_nulls(tmp_path: Path) -> None:
    conn = open_writer(tmp_path / "values.sqlite")
    write_batch(
        conn,
        [
            step(action=None, terminated=True, truncated=False, frame_seq=None),
            episode(terminated=False, truncated=True),
        ],
    )
    step_row = conn.execute(
        "SELECT typeof(action), terminated, typeof(terminated), truncated, typeof(frame_seq) "
        "FROM steps"
    ).fetchone()
    episode_row = conn.execute(
        "SELECT terminated, typeof(terminated), truncated, typeof(truncated) FROM episodes"
    ).fetchone()
    assert step_row == ("null", 1, "integer", 0, "null")
    assert episode_row == (0, "integer", 1, "integer")


def test_a_plain_connection_of_the_process_still_binds_bools_and_none() -> None:
    conn = sqlite3.connect(":memory:")  # the adapters are process-wide: nothing else changes
    row = conn.execute("SELECT ?, typeof(?), ?, typeof(?)", (True, True, None, None)).fetchone()
    assert row == (1, "integer", None, "null")
