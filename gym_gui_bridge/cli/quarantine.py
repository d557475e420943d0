"""``gym-gui-bridge quarantine``: the lines and records the store refused, with their reasons."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Annotated, Any

import tyro

from gym_gui_bridge.cli.arguments import DbPath, unset_means
from gym_gui_bridge.cli.store_common import emit_rows, run_query
from gym_gui_bridge.config.paths import DEFAULT_DB_PATH
from gym_gui_bridge.store.queries import list_quarantine

__all__ = ["main"]

_COLUMNS = ("time", "run_id", "source", "reason", "record")
_SHOWN_CHARS = 60  # characters of a record shown in the table (--json shows all that is kept)


@dataclasses.dataclass(frozen=True)
class QuarantineArgs:
    """List what the store refused and kept aside: lines a decoder rejected (bridge, ingest,
    spool) and records the sink could not store, oldest first, each with its reason code.

    Nothing here is lost in silence: every entry was counted where it was refused (the
    bridge's acknowledgements and health, the sink's stats). The reason codes are those of
    docs/records.md; 'record' is the line or record as far as it can be shown (cut at 64 KiB).
    """

    db: DbPath = DEFAULT_DB_PATH
    """SQLite file written by the workers (FASTLANE_DB) or the bridge."""
    run: Annotated[str | None, unset_means("RUN_ID", "every run")] = None
    """Only entries of this run (entries whose run id could not be read have none)."""
    limit: Annotated[int | None, unset_means("N", "all")] = None
    """Only the newest N entries."""
    json: bool = False
    """Print a JSON array of objects (with the whole kept text and the message) instead."""


def _table_row(entry: dict[str, Any]) -> dict[str, Any]:
    record = " ".join(str(entry["record"]).split())
    if len(record) > _SHOWN_CHARS:
        record = record[: _SHOWN_CHARS - 3] + "..."
    when = datetime.datetime.fromtimestamp(entry["quarantined_at"])
    return {**entry, "time": when.isoformat(sep=" ", timespec="seconds"), "record": record}


def main(argv: list[str], prog: str) -> int:
    args = tyro.cli(QuarantineArgs, args=argv, prog=prog)

    def query(conn: Any) -> int:
        rows = list_quarantine(conn, args.run, args.limit)
        table = rows if args.json else [_table_row(r) for r in rows]
        scope = f" of run {args.run}" if args.run is not None else ""
        return emit_rows(table, _COLUMNS, args.json, f"nothing quarantined{scope} in {args.db}")

    return run_query(prog, args.db, None, query)
