"""``gym-gui-bridge export RUN_ID --format csv|jsonl --out DIR``: a run's records as files.

Writes ``run``, ``episodes``, ``steps`` and ``scalars`` files (``.csv`` or ``.jsonl``) into DIR.
JSONL files hold v1 records (``docs/records.md``), one per line, readable by the decoder: an
export can be loaded again. CSV files have a header line; lists (actions, argv) are JSON text.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import tyro

from gym_gui_bridge.cli.arguments import DbPath, RunId
from gym_gui_bridge.cli.store_common import run_query
from gym_gui_bridge.config.paths import DEFAULT_DB_PATH
from gym_gui_bridge.errors import RecordEncodeError
from gym_gui_bridge.protocol.jsonl import encode_record
from gym_gui_bridge.protocol.records import RunRecord
from gym_gui_bridge.store.queries import iter_records, list_episodes, list_scalars, list_steps

__all__ = ["main"]

# file stem -> record kind
_FILES = {"run": "run", "episodes": "episode", "steps": "step", "scalars": "scalar"}


@dataclasses.dataclass(frozen=True)
class ExportArgs:
    """Write a run's lifecycle, episodes, steps and scalars as CSV or JSONL files into a folder."""

    run_id: RunId
    """Run id, as printed by the worker or listed by 'runs'."""
    out: Annotated[str, tyro.conf.arg(metavar="DIR")]
    """Folder to write into (created if missing; files of the same name are replaced)."""
    format: Literal["csv", "jsonl"] = "csv"
    """csv: one table per file with a header; jsonl: v1 records, one per line."""
    db: DbPath = DEFAULT_DB_PATH
    """SQLite file written by the workers (FASTLANE_DB) or the bridge."""


def _csv_rows(conn: Any, run_id: str, stem: str) -> list[dict[str, Any]]:
    if stem == "episodes":
        return list_episodes(conn, run_id)
    if stem == "steps":
        return [{**s, "action": json.dumps(s["action"])} for s in list_steps(conn, run_id)]
    if stem == "scalars":
        return list_scalars(conn, run_id)
    rows = []
    for record in iter_records(conn, run_id, "run"):
        assert isinstance(record, RunRecord)
        rows.append({**record._asdict(), "argv": json.dumps(list(record.argv))})
    return rows


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> int:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        if rows:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return len(rows)


def _write_jsonl(path: Path, conn: Any, run_id: str, kind: str, prog: str) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for record in iter_records(conn, run_id, kind):
            try:
                handle.write(encode_record(record) + "\n")
            except RecordEncodeError as error:  # e.g. a NaN reward stored as NULL
                print(f"{prog}: skipped {kind} seq {record.seq}: {error}", file=sys.stderr)
                continue
            count += 1
    return count


def main(argv: list[str], prog: str) -> int:
    args = tyro.cli(ExportArgs, args=argv, prog=prog)

    def query(conn: Any) -> int:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for stem, kind in _FILES.items():
            path = out / f"{stem}.{args.format}"
            if args.format == "csv":
                count = _write_csv(path, _csv_rows(conn, args.run_id, stem))
            else:
                count = _write_jsonl(path, conn, args.run_id, kind, prog)
            print(f"{path}: {count} records")
        return 0

    return run_query(prog, args.db, args.run_id, query)
