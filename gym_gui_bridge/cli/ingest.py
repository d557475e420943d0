"""``gym-gui-bridge ingest PATH``: load JSONL files or a spool into a database or a bridge."""

from __future__ import annotations

import dataclasses
import sys
from typing import Annotated

import tyro

from gym_gui_bridge.cli.arguments import DbPath, unset_means
from gym_gui_bridge.cli.serve import read_token
from gym_gui_bridge.config.paths import DEFAULT_DB_PATH
from gym_gui_bridge.errors import BridgeError, StoreError

__all__ = ["main"]


@dataclasses.dataclass(frozen=True)
class IngestArgs:
    """Load JSONL records (an emitter's spool directory, an export, any file) into the store."""

    path: Annotated[str, tyro.conf.Positional, tyro.conf.arg(metavar="PATH")]
    """A JSONL file, or a directory searched for *.jsonl files (e.g. runs/spool/RUN_ID.PID)."""
    db: DbPath = DEFAULT_DB_PATH
    """SQLite file to write into (ignored with --bridge)."""
    bridge: Annotated[str | None, unset_means("HOST:PORT", "write into --db")] = None
    """A running bridge to send the records to instead."""
    token_file: Annotated[str | None, unset_means("FILE", "$FASTLANE_BRIDGE_TOKEN")] = None
    """File whose first line is that bridge's shared token."""
    remove: bool = False
    """Delete the files once every record in them is stored."""


def main(argv: list[str], prog: str) -> int:
    args = tyro.cli(IngestArgs, args=argv, prog=prog)
    from gym_gui_bridge.store.ingest import ingest_into_db, jsonl_files

    try:
        files = jsonl_files(args.path)
        if args.bridge:
            from gym_gui_bridge.server.client import send_files

            result = send_files(files, args.bridge, read_token(args.token_file))
        else:
            result = ingest_into_db(args.path, args.db)
    except (BridgeError, StoreError, OSError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 1
    print(
        f"{prog}: {result.files} files, {result.accepted} records stored, "
        f"{result.rejected} lines rejected",
        file=sys.stderr,
    )
    if args.remove:
        for file in files:
            file.unlink(missing_ok=True)
    return 0
