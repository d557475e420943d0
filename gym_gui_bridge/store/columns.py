"""Which table holds each record type, which of its fields are columns, and how a record becomes
a row and a row a record again (by column name).

``steps``, ``episodes`` and ``scalars`` hold every field of their record type in a column of the
same name; ``run_events`` holds every field of a run record but ``slot`` (always
``RUN_LEVEL_SLOT``). The tables themselves are created by the migrations of
:mod:`gym_gui_bridge.store.schema`, written out because a migration is never edited; a test
checks that their columns are the record types' fields.

A column holds a field as SQLite stores it: a flag as 0 or 1, a list action and ``argv`` as JSON
text, None as NULL.

>>> from gym_gui_bridge.protocol.records import ScalarRecord
>>> column_list(ScalarRecord)
'run_id, slot, agent_id, seq, wall_time, tag, value, step'
>>> TABLES[ScalarRecord], COLUMNS[RunRecord][:4]
('scalars', ('run_id', 'agent_id', 'seq', 'wall_time'))
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

from gym_gui_bridge.protocol.fields import compile_function, record_fields
from gym_gui_bridge.protocol.records import (
    RUN_LEVEL_SLOT,
    EpisodeRollup,
    RunRecord,
    ScalarRecord,
    StepRecord,
    TelemetryEvent,
)

__all__ = [
    "COLUMNS",
    "TABLES",
    "action_to_column",
    "column_list",
    "column_readers",
    "read_records",
    "sanitised_row",
]

#: The table of each record type.
TABLES: dict[type, str] = {
    StepRecord: "steps",
    EpisodeRollup: "episodes",
    ScalarRecord: "scalars",
    RunRecord: "run_events",
}
#: Fields a table does not store, with the value a record read back from it gets.
_IMPLIED: dict[type, dict[str, Any]] = {RunRecord: {"slot": RUN_LEVEL_SLOT}}

#: The stored fields of each record type, in field order: its table's columns of the same names.
COLUMNS: dict[type, tuple[str, ...]] = {
    record_type: tuple(
        f.name for f in record_fields(record_type) if f.name not in _IMPLIED.get(record_type, {})
    )
    for record_type in TABLES
}


def column_list(record_type: type) -> str:
    """The stored fields of ``record_type`` as an SQL column list, in field order."""
    return ", ".join(COLUMNS[record_type])


def action_to_column(action: Any) -> Any:
    """An action as stored: numbers as they are, lists as JSON text, anything else NULL."""
    if action is None or type(action) is int or type(action) is float:
        return action
    tolist = getattr(action, "tolist", None)  # numpy scalars and arrays
    if tolist is not None:
        return action_to_column(tolist())
    try:
        return json.dumps(action, allow_nan=False)
    except (TypeError, ValueError):
        return None


# How a field of each domain becomes a column value that sqlite3 binds as it is (str, int,
# float, None), whatever foreign type (numpy) the record holds: a Python expression of the
# field's value ``{v}``.
_TO_COLUMN = {
    "name": "str({v})",
    "text": "str({v})",
    "status": "str({v})",
    "count": "int({v})",
    "slot": "int({v})",
    "exit_code": "int({v})",
    "real": "float({v})",
    "non_negative": "float({v})",
    "flag": "int(bool({v}))",
    "action": "action_to_column({v})",
    "strings": "json.dumps(list({v}))",
}


def _row_source(record_type: type) -> str:
    """The source of a record type's row builder: one tuple of converted fields, e.g.
    ``def scalars_row(r): return (str(r.run_id), int(r.slot), ..., int(r.step))``."""
    fields = {f.name: f for f in record_fields(record_type)}
    values = []
    for name in COLUMNS[record_type]:
        value = _TO_COLUMN[fields[name].domain].format(v=f"r.{name}")
        values.append(f"None if r.{name} is None else {value}" if fields[name].optional else value)
    return f"def {TABLES[record_type]}_row(r):\n    return ({', '.join(values)},)\n"


# record type -> its row builder (generated: as fast as a hand-written tuple; see __source__)
_ROWS: dict[type, Callable[[Any], tuple[Any, ...]]] = {
    record_type: compile_function(
        _row_source(record_type),
        f"{TABLES[record_type]}_row",
        {"json": json, "action_to_column": action_to_column},
    )
    for record_type in TABLES
}


def sanitised_row(record: TelemetryEvent) -> tuple[Any, ...]:
    """The values of ``record``'s stored fields (in :data:`COLUMNS` order), converted to what
    SQLite stores: only str, int, float and None.

    Raises:
        TypeError, ValueError, OverflowError: a value that cannot be converted.
    """
    return _ROWS[type(record)](record)


def _action_from_column(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _strings_from_column(value: str) -> tuple[str, ...]:
    return tuple(json.loads(value))


# How a column value of each domain becomes the field's value again (other domains: as stored).
_FROM_COLUMN: dict[str, Callable[[Any], Any]] = {
    "flag": bool,
    "action": _action_from_column,
    "strings": _strings_from_column,
}


def column_readers(record_type: type) -> dict[str, Callable[[Any], Any]]:
    """For each stored field of ``record_type`` whose column value is not its field value
    (flags, list actions, argv): the conversion back. A NULL needs none: it is None."""
    return {
        f.name: _FROM_COLUMN[f.domain]
        for f in record_fields(record_type)
        if f.domain in _FROM_COLUMN and f.name in COLUMNS[record_type]
    }


def read_records(record_type: type, cursor: sqlite3.Cursor) -> Iterator[TelemetryEvent]:
    """The records of ``cursor``'s rows, built by column name: every stored field of
    ``record_type`` must be selected under its own name; other columns are ignored.

    Raises:
        KeyError: a stored field of ``record_type`` is not among the cursor's columns.
    """
    names = [description[0] for description in cursor.description]
    missing = set(COLUMNS[record_type]) - set(names)
    if missing:
        raise KeyError(f"Expected columns {sorted(missing)} in a query of {record_type.__name__}")
    readers = column_readers(record_type)
    wanted = [
        (i, name, readers.get(name)) for i, name in enumerate(names) if name in COLUMNS[record_type]
    ]
    implied = _IMPLIED.get(record_type, {})
    for row in cursor:
        values = dict(implied)
        for index, name, read in wanted:
            value = row[index]
            values[name] = value if read is None or value is None else read(value)
        yield record_type(**values)
