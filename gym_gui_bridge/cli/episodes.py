"""``gym-gui-bridge episodes RUN_ID``: the finished episodes of a run, every slot."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import tyro

from gym_gui_bridge.cli.arguments import DbPath, RunId, unset_means
from gym_gui_bridge.cli.store_common import emit_rows, run_query
from gym_gui_bridge.config.paths import DEFAULT_DB_PATH
from gym_gui_bridge.store.queries import list_episodes

__all__ = ["main"]

_COLUMNS = (
    "slot",
    "episode",
    "return",
    "length",
    "terminated",
    "truncated",
    "global_step",
    "duration",
)


@dataclasses.dataclass(frozen=True)
class EpisodesArgs:
    """List the finished episodes of a run (slot, episode, return, length, how it ended)."""

    run_id: RunId
    """Run id, as printed by the worker or listed by 'runs'."""
    db: DbPath = DEFAULT_DB_PATH
    """SQLite file written by the workers (FASTLANE_DB) or the bridge."""
    slot: Annotated[int | None, unset_means("K", "every slot")] = None
    """Only this vector-env slot."""
    json: bool = False
    """Print a JSON array of objects instead of a table."""


def main(argv: list[str], prog: str) -> int:
    args = tyro.cli(EpisodesArgs, args=argv, prog=prog)

    def query(conn: Any) -> int:
        rows = list_episodes(conn, args.run_id, slot=args.slot)
        return emit_rows(rows, _COLUMNS, args.json, f"run {args.run_id} has no episodes yet")

    return run_query(prog, args.db, args.run_id, query)
