"""``/runs/<run_id>/curves.json``: a run's episodes and scalars, read incrementally.

The answer holds the episodes and scalars stored after a cursor, in storage order, at most
``WEB_CURVE_PAGE_ROWS`` of each::

    {"run_id": "...", "cursor": "120.45", "more": false,
     "episodes": [[slot, episode, return, length, wall_time], ...],
     "scalars": [[tag, step, value, wall_time], ...]}

``cursor`` is opaque to the page (two SQLite rowids, episodes then scalars): the page sends it
back as ``?after=`` and receives only what was stored since. ``more`` says a page was full:
ask again at once. Rows are read through :mod:`gym_gui_bridge.store.queries` with a reader
connection (WAL: the sink is never blocked).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gym_gui_bridge.store.queries import episode_points_after, scalar_points_after
from gym_gui_bridge.store.schema import open_reader

__all__ = ["Cursor", "curves_after", "parse_cursor"]


@dataclass(frozen=True)
class Cursor:
    """Where a page of curves ends: the last episode rowid and the last scalar rowid given."""

    episode: int = 0
    scalar: int = 0

    def __str__(self) -> str:
        return f"{self.episode}.{self.scalar}"


def parse_cursor(text: str | None) -> Cursor:
    """The cursor a previous answer gave (``"E.S"``); empty or None is the start.

    >>> parse_cursor("12.7"), parse_cursor(None)
    (Cursor(episode=12, scalar=7), Cursor(episode=0, scalar=0))

    Raises:
        ValueError: ``text`` is not two non-negative integers joined by a dot.
    """
    if not text:
        return Cursor()
    parts = text.split(".")
    if len(parts) != 2 or not all(part.isdigit() for part in parts):
        raise ValueError(f"Expected after=E.S (two rowids from a previous cursor), got {text!r}")
    return Cursor(int(parts[0]), int(parts[1]))


def curves_after(db_path: str, run_id: str, after: Cursor, page_rows: int) -> dict[str, Any]:
    """The JSON-able answer of curves.json: what ``run_id`` stored after ``after``.

    Raises:
        StoreError: the database cannot be opened.
    """
    conn = open_reader(db_path)
    try:
        episodes = episode_points_after(conn, run_id, after.episode, page_rows)
        scalars = scalar_points_after(conn, run_id, after.scalar, page_rows)
    finally:
        conn.close()
    cursor = Cursor(
        episodes[-1]["rowid"] if episodes else after.episode,
        scalars[-1]["rowid"] if scalars else after.scalar,
    )
    return {
        "run_id": run_id,
        "cursor": str(cursor),
        "more": len(episodes) >= page_rows or len(scalars) >= page_rows,
        "episodes": [
            [e["slot"], e["episode"], e["ep_return"], e["length"], e["wall_time"]] for e in episodes
        ],
        "scalars": [[s["tag"], s["step"], s["value"], s["wall_time"]] for s in scalars],
    }
