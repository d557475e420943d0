"""Plain-text tables and JSON output shared by the inspection commands."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

__all__ = ["print_json", "print_table"]


def print_table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], out: TextIO | None = None
) -> None:
    """Print ``rows`` as left-aligned columns with a header line."""
    out = out or sys.stdout
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max([len(col)] + [len(r[i]) for r in cells]) for i, col in enumerate(columns)]
    print(
        "  ".join(col.upper().ljust(w) for col, w in zip(columns, widths, strict=True)).rstrip(),
        file=out,
    )
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip(), file=out)


def print_json(rows: Sequence[Mapping[str, Any]], out: TextIO | None = None) -> None:
    """Print ``rows`` as one JSON array of objects."""
    json.dump(list(rows), out or sys.stdout, indent=None, separators=(",", ":"))
    print(file=out or sys.stdout)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
