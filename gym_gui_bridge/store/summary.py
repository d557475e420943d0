"""One run at a glance: what ``gym-gui-bridge summary RUN_ID`` prints (SQL aggregates only)."""

from __future__ import annotations

import sqlite3
from typing import Any

from gym_gui_bridge.store.queries import list_runs, require_run

__all__ = ["RECENT_EPISODES", "run_summary"]

#: Episodes per slot averaged for the "recent return" column (episodes).
RECENT_EPISODES = 10


def _slot_rows(conn: sqlite3.Connection, run_id: str) -> list[dict[str, Any]]:
    totals = conn.execute(
        "SELECT slot, COUNT(*), AVG(ep_return), MAX(ep_return), AVG(length) FROM episodes "
        "WHERE run_id = ? GROUP BY slot ORDER BY slot",
        (run_id,),
    ).fetchall()
    steps = dict(
        conn.execute(
            "SELECT slot, COUNT(*) FROM steps WHERE run_id = ? GROUP BY slot", (run_id,)
        ).fetchall()
    )
    rows = []
    for slot, count, mean, best, mean_length in totals:
        (recent,) = conn.execute(
            "SELECT AVG(ep_return) FROM (SELECT ep_return FROM episodes WHERE run_id = ? "
            "AND slot = ? ORDER BY episode DESC LIMIT ?)",
            (run_id, slot, RECENT_EPISODES),
        ).fetchone()
        rows.append(
            {
                "slot": slot,
                "episodes": count,
                "mean_return": mean,
                "recent_return": recent,
                "best_return": best,
                "mean_length": mean_length,
                "steps_recorded": steps.get(slot, 0),
            }
        )
    return rows


def _scalar_rows(conn: sqlite3.Connection, run_id: str) -> list[dict[str, Any]]:
    """Each tag with its number of points and its last value (by step, then arrival)."""
    rows = conn.execute(
        "SELECT tag, COUNT(*), (SELECT s2.value FROM scalars s2 WHERE s2.run_id = s.run_id "
        "AND s2.tag = s.tag ORDER BY s2.step DESC, s2.seq DESC LIMIT 1), MAX(step) "
        "FROM scalars s WHERE run_id = ? GROUP BY tag ORDER BY tag",
        (run_id,),
    ).fetchall()
    return [{"tag": t, "points": n, "last": last, "last_step": step} for t, n, last, step in rows]


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
    return {"run": run, "slots": _slot_rows(conn, run_id), "scalars": _scalar_rows(conn, run_id)}
