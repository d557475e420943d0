"""``gym-gui-bridge ingest PATH``: load JSONL files or a spool into a database or a bridge.

Exit status 0 when every record of every file was stored or rejected (rejected lines and records
are kept in the database's quarantine table, ``gym-gui-bridge quarantine``); 1 with one line on
stderr otherwise. ``--remove`` deletes only files every record of which was stored or rejected.
"""

from __future__ import annotations

import dataclasses
import sqlite3
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
    tls_ca: Annotated[str | None, unset_means("FILE", "plain text")] = None
    """PEM certificate authority to check a TLS bridge's certificate with (serve --tls-cert)."""
    remove: bool = False
    """Delete each file once every record in it is stored or rejected (rejected ones are kept
    in the quarantine table); a file with a record not acknowledged stays, and the exit status
    is 1."""


def main(argv: list[str], prog: str) -> int:
    args = tyro.cli(IngestArgs, args=argv, prog=prog)
    from gym_gui_bridge.store.ingest import IngestResult, ingest_into_db, jsonl_files

    result: IngestResult | None = None
    failure = ""
    try:
        files = jsonl_files(args.path)
        if args.bridge:
            from gym_gui_bridge.server.client import IngestIncomplete, send_files

            try:
                token = read_token(args.token_file)
                result = send_files(files, args.bridge, token, tls_ca=args.tls_ca)
            except IngestIncomplete as error:
                result, failure = error.result, str(error)
        else:
            result = ingest_into_db(args.path, args.db)
    except StoreError as error:
        print(f"{prog}: {error} (--db PATH)", file=sys.stderr)
        return 1
    except (BridgeError, OSError, sqlite3.Error) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 1
    removed = 0
    if args.remove:
        for file in result.complete:
            file.unlink(missing_ok=True)
            removed += 1
    if failure:
        kept = len(files) - removed if args.remove else len(files) - len(result.complete)
        print(
            f"{prog}: {failure} ({result.accepted} records stored, {result.rejected} rejected, "
            f"{kept} of {len(files)} files not complete{', kept' if args.remove else ''})",
            file=sys.stderr,
        )
        return 1
    print(
        f"{prog}: {result.files} files, {result.accepted} records stored, "
        f"{result.rejected} lines rejected",
        file=sys.stderr,
    )
    return 0
