"""``gym-gui-bridge summary RUN_ID``: one run at a glance (lifecycle, episodes per slot, scalars)."""

from __future__ import annotations

import dataclasses
import json
import sqlite3

import tyro

from gym_gui_bridge.cli.arguments import DbPath, RunId
from gym_gui_bridge.cli.store_common import run_query
from gym_gui_bridge.cli.table import print_table
from gym_gui_bridge.config.paths import DEFAULT_DB_PATH
from gym_gui_bridge.store.summary import RECENT_EPISODES, run_summary

__all__ = ["main"]

_SLOT_COLUMNS = (
    "slot",
    "episodes",
    "mean_return",
    "recent_return",
    "best_return",
    "mean_length",
    "steps_recorded",
)
_SCALAR_COLUMNS = ("tag", "points", "last", "last_step")


@dataclasses.dataclass(frozen=True)
class SummaryArgs:
    """Summarise one recorded run: its status, episodes and returns per vector-env slot
    (recent_return = mean of each slot's last 10 episodes), and its TensorBoard scalars."""

    run_id: RunId
    """Run id, as printed by the worker or listed by 'runs'."""
    db: DbPath = DEFAULT_DB_PATH
    """SQLite file written by the workers (FASTLANE_DB) or the bridge."""
    json: bool = False
    """Print one JSON object (run, slots, scalars) instead of tables."""


def main(argv: list[str], prog: str) -> int:
    args = tyro.cli(SummaryArgs, args=argv, prog=prog)

    def query(conn: sqlite3.Connection) -> int:
        summary = run_summary(conn, args.run_id)
        if args.json:
            print(json.dumps(summary))
            return 0
        run = summary["run"]
        duration = run.get("duration_s")
        took = f", {duration:.1f} s" if duration is not None else ""
        code = f", exit code {run['exit_code']}" if run.get("exit_code") is not None else ""
        print(f"run {args.run_id}: {run.get('status', 'unknown')}{took}{code}")
        if run.get("error"):
            print(f"error: {run['error']}")
        total = sum(row["episodes"] for row in summary["slots"])
        print(f"\n{total} episodes (recent_return: mean of the last {RECENT_EPISODES} per slot)")
        if summary["slots"]:
            print_table(summary["slots"], _SLOT_COLUMNS)
        if summary["scalars"]:
            print()
            print_table(summary["scalars"], _SCALAR_COLUMNS)
        print(f"\ndatabase: {args.db}")
        return 0

    return run_query(prog, args.db, args.run_id, query)
