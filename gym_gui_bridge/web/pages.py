"""The HTML of the browser view: the run list (``/``) and a run's watch page.

Both are small server-made documents around the files of ``gym_gui_bridge/web/static/``
(shipped inside the wheel; no external URL anywhere, so the pages work without internet).
Every value from the store is HTML-escaped.
"""

from __future__ import annotations

import datetime
import html
from importlib import resources
from typing import Any
from urllib.parse import quote

from gym_gui_bridge.errors import StoreError
from gym_gui_bridge.fastlane.registry import list_segments
from gym_gui_bridge.store.queries import list_runs
from gym_gui_bridge.store.schema import open_reader

__all__ = ["run_rows", "runs_page", "static_text", "watch_page"]


def static_text(name: str) -> str:
    """A file of ``gym_gui_bridge/web/static/``."""
    return (resources.files("gym_gui_bridge.web") / "static" / name).read_text("utf-8")


def run_rows(db_path: str) -> list[dict[str, Any]]:
    """Every run the store knows and every live fast lane on this machine, newest first.

    Each row: ``run_id``, ``status`` (the lifecycle's, ``live`` for a ring only), ``started_at``,
    ``episodes`` and ``fastlane`` (None, or ``width``, ``height``, ``rate_hz``, ``watched``).
    """
    try:
        conn = open_reader(db_path)
    except StoreError:  # no database yet: a fresh bridge before its first record
        stored: list[dict[str, Any]] = []
    else:
        try:
            stored = list_runs(conn)
        finally:
            conn.close()
    rows = {
        run["run_id"]: {
            "run_id": run["run_id"],
            "status": run.get("status") or "unknown",
            "started_at": run.get("started_at"),
            "episodes": run.get("episodes") or 0,
            "fastlane": None,
        }
        for run in stored
    }
    for entry in list_segments():
        status = entry.status
        if status is None or not status.writer_alive:
            continue
        row = rows.setdefault(
            status.run_id,
            {
                "run_id": status.run_id,
                "status": "live",
                "started_at": status.created_ns / 1e9,
                "episodes": 0,
                "fastlane": None,
            },
        )
        row["fastlane"] = {
            "width": status.width,
            "height": status.height,
            "rate_hz": round(status.current_rate_hz(), 1),
            "watched": status.watched,
        }
    return sorted(rows.values(), key=lambda r: r["started_at"] or 0.0, reverse=True)


def _when(seconds: float | None) -> str:
    if not seconds:
        return ""
    return datetime.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")


def runs_page(rows: list[dict[str, Any]]) -> str:
    """The document of ``/``: one table row per run, linking to its watch page."""
    lines = []
    for row in rows:
        lane = row["fastlane"]
        frames = (
            f"{lane['width']}x{lane['height']} at {lane['rate_hz']:g} Hz"
            f"{', watched' if lane['watched'] else ''}"
            if lane
            else "none"
        )
        link = f"/runs/{quote(row['run_id'], safe='')}"
        lines.append(
            "<tr>"
            f'<td><a href="{html.escape(link)}">{html.escape(row["run_id"])}</a></td>'
            f"<td>{html.escape(str(row['status']))}</td>"
            f"<td>{html.escape(_when(row['started_at']))}</td>"
            f"<td>{int(row['episodes'])}</td>"
            f"<td>{html.escape(frames)}</td>"
            "</tr>"
        )
    body = "\n".join(lines) or '<tr><td colspan="5">No runs yet.</td></tr>'
    return static_text("runs.html").replace("{{rows}}", body)


def watch_page(run_id: str) -> str:
    """The document of ``/runs/<run_id>``: the frame, its HUD, the curves (static/watch.js)."""
    return static_text("watch.html").replace("{{run_id}}", html.escape(run_id, quote=True))
