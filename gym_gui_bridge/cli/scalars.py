"""``gym-gui-bridge scalars RUN_ID``: the TensorBoard scalars a run's script wrote."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import tyro

from gym_gui_bridge.cli.arguments import DbPath, RunId, unset_means
from gym_gui_bridge.cli.store_common import emit_rows, run_query
from gym_gui_bridge.config.paths import DEFAULT_DB_PATH
from gym_gui_bridge.store.queries import list_scalars

__all__ = ["main"]

_COLUMNS = ("tag", "step", "value")


@dataclasses.dataclass(frozen=True)
class ScalarsArgs:
    """List the scalars a run's script wrote with SummaryWriter.add_scalar (tag, step, value)."""

    run_id: RunId
    """Run id, as printed by the worker or listed by 'runs'."""
    db: DbPath = DEFAULT_DB_PATH
    """SQLite file written by the workers (FASTLANE_DB) or the bridge."""
    tag: Annotated[str | None, unset_means("TAG", "every tag")] = None
    """Only this tag, e.g. charts/episodic_return."""
    json: bool = False
    """Print a JSON array of objects instead of a table."""


def main(argv: list[str], prog: str) -> int:
    args = tyro.cli(ScalarsArgs, args=argv, prog=prog)

    def query(conn: Any) -> int:
        rows = list_scalars(conn, args.run_id, tag=args.tag)
        return emit_rows(rows, _COLUMNS, args.json, f"no scalars of run {args.run_id} match")

    return run_query(prog, args.db, args.run_id, query)
