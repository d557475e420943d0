"""One run at a glance: what ``gym-gui-bridge summary RUN_ID`` prints (SQL aggregates only)."""

from __future__ import annotations

import sqlite3
from typing import Any

from gym_gui_bridge.store.queries import (
    episode_stats_by_slot,
    list_runs,
    require_run,
    scalar_stats_by_tag,
)

__all__ = ["RECENT_EPISODES", "run_summary"]

#: Episodes per slot averaged for the "recent return" column (episodes).
RECENT_EPISODES = 10


def run_summary(conn: sqlite3.Connection, run_id: str) -> dict[str, Any]:
    """The run's lifecycle, per-slot episode statistics and per-tag scalar statistics.

    Raises:
        UnknownRunError: the database holds nothing of ``run_id``.
    """
    require_run(conn, run_id)
    run: dict[str, Any] = next(
        (r for r in list_runs(conn) if r["run_id"] == run_id), {"run_id": run_id}
    )
    started, finished = run.get("started_at"), run.get("finished_at")
    run["duration_s"] = finished - started if started and finished else None
    return {
        "run": run,
        "slots": episode_stats_by_slot(conn, run_id, RECENT_EPISODES),
        "scalars": scalar_stats_by_tag(conn, run_id),
    }
