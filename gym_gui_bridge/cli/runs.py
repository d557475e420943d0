"""``gym-gui-bridge runs``: list the runs recorded in a database."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import tyro

from gym_gui_bridge.cli.arguments import DbPath
from gym_gui_bridge.cli.store_common import emit_rows, run_query
from gym_gui_bridge.config.paths import DEFAULT_DB_PATH
from gym_gui_bridge.store.queries import list_runs

__all__ = ["main"]

_COLUMNS = ("run_id", "status", "started", "duration_s", "episodes", "pid", "exit_code", "error")


@dataclasses.dataclass(frozen=True)
class RunsArgs:
    """List the runs recorded in a database, newest first (status, start, episodes stored)."""

    db: DbPath = DEFAULT_DB_PATH
    """SQLite file written by the workers (FASTLANE_DB) or the bridge."""
    json: bool = False
    """Print a JSON array of objects instead of a table."""


def _table_row(run: dict[str, Any]) -> dict[str, Any]:
    started, finished = run.get("started_at"), run.get("finished_at")
    return {
        **run,
        "started": datetime.datetime.fromtimestamp(started).isoformat(sep=" ", timespec="seconds")
        if started
        else None,
        "duration_s": round(finished - started, 1) if started and finished else None,
    }


def main(argv: list[str], prog: str) -> int:
    args = tyro.cli(RunsArgs, args=argv, prog=prog)

    def query(conn: Any) -> int:
        runs = list_runs(conn)
        rows = runs if args.json else [_table_row(r) for r in runs]
        return emit_rows(rows, _COLUMNS, args.json, f"no runs in {args.db}")

    return run_query(prog, args.db, None, query)
