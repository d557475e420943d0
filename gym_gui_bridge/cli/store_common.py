"""What the inspection commands (runs, episodes, steps, scalars, export) share: opening the
database from ``--db`` and turning store errors into a message on stderr and exit code 1."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gym_gui_bridge.cli.table import print_json, print_table
from gym_gui_bridge.errors import StoreError
from gym_gui_bridge.store.queries import require_run
from gym_gui_bridge.store.schema import open_reader

__all__ = ["EXIT_ERROR", "emit_rows", "run_query"]

#: Exit status of an inspection command that could not answer (no database, unknown run).
EXIT_ERROR = 1


def run_query(
    prog: str,
    db: str,
    run_id: str | None,
    query: Callable[[sqlite3.Connection], int],
) -> int:
    """Open ``db`` read-only, check ``run_id`` exists (when given), run ``query``.

    Store errors become ``"<prog>: <message>"`` on stderr and exit code 1.
    """
    try:
        conn = open_reader(db)
    except StoreError as error:
        print(f"{prog}: {error} (pass --db PATH)", file=sys.stderr)
        return EXIT_ERROR
    try:
        if run_id is not None:
            require_run(conn, run_id)
        return query(conn)
    except (StoreError, LookupError) as error:
        message = error.args[0] if error.args else str(error)
        print(f"{prog}: {message} (see '{prog.split()[0]} runs --db {db}')", file=sys.stderr)
        return EXIT_ERROR
    except sqlite3.Error as error:
        print(f"{prog}: reading {db} failed: {error}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        conn.close()


def emit_rows(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], as_json: bool, empty: str
) -> int:
    """Print ``rows`` as a table (``columns``) or as a JSON array of objects; exit code 0."""
    if as_json:
        print_json(rows)
    elif not rows:
        print(empty)
    else:
        print_table(rows, columns)
    return 0
