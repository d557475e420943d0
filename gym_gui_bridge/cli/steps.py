"""``gym-gui-bridge steps RUN_ID``: the recorded steps of a run (the watched slot by default)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import tyro

from gym_gui_bridge.cli.arguments import DbPath, RunId, unset_means
from gym_gui_bridge.cli.store_common import emit_rows, run_query
from gym_gui_bridge.config.paths import DEFAULT_DB_PATH
from gym_gui_bridge.store.queries import list_steps

__all__ = ["main"]

_COLUMNS = (
    "slot",
    "episode",
    "step",
    "global_step",
    "action",
    "reward",
    "terminated",
    "truncated",
    "frame_seq",
)


@dataclasses.dataclass(frozen=True)
class StepsArgs:
    """List the recorded steps of a run (workers record the watched slot's steps by default;
    FASTLANE_STEPS=all records every slot)."""

    run_id: RunId
    """Run id, as printed by the worker or listed by 'runs'."""
    db: DbPath = DEFAULT_DB_PATH
    """SQLite file written by the workers (FASTLANE_DB) or the bridge."""
    episode: Annotated[int | None, unset_means("N", "every episode")] = None
    """Only this episode (index within its slot, from 0)."""
    slot: Annotated[int | None, unset_means("K", "every slot")] = None
    """Only this vector-env slot."""
    limit: Annotated[int | None, unset_means("N", "no limit")] = None
    """Print at most this many steps."""
    json: bool = False
    """Print a JSON array of objects instead of a table."""


def main(argv: list[str], prog: str) -> int:
    args = tyro.cli(StepsArgs, args=argv, prog=prog)

    def query(conn: Any) -> int:
        rows = list_steps(conn, args.run_id, episode=args.episode, slot=args.slot, limit=args.limit)
        return emit_rows(rows, _COLUMNS, args.json, f"no steps of run {args.run_id} match")

    return run_query(prog, args.db, args.run_id, query)
