"""The store's tables match the record types: one column per stored field, typed by the field's
domain, and every valid record comes back from the store equal to what was written."""

from __future__ import annotations

import sqlite3

import pytest
import record_factory
from hypothesis import given, settings
from record_strategies import records

from gym_gui_bridge.protocol.fields import record_fields
from gym_gui_bridge.protocol.records import (
    RUN_LEVEL_SLOT,
    EpisodeRollup,
    RunRecord,
    StepRecord,
    TelemetryEvent,
)
from gym_gui_bridge.store.columns import COLUMNS, TABLES, read_records
from gym_gui_bridge.store.queries import iter_records, replay_page
from gym_gui_bridge.store.schema import open_writer
from gym_gui_bridge.store.writes import write_batch

# the SQLite type a column of each field domain is declared with ('': none, any value)
SQL_TYPES = {
    "name": "TEXT",
    "text": "TEXT",
    "status": "TEXT",
    "strings": "TEXT",
    "count": "INTEGER",
    "slot": "INTEGER",
    "exit_code": "INTEGER",
    "flag": "INTEGER",
    "real": "REAL",
    "non_negative": "REAL",
    "action": "",
}


def test_every_record_table_has_one_typed_column_per_stored_field() -> None:
    conn = open_writer(":memory:")
    for record_type, table in TABLES.items():
        # PRAGMA table_info: (cid, name, type, notnull, default, pk)
        columns = {row[1]: row for row in conn.execute(f"PRAGMA table_info({table})")}
        assert set(columns) == set(COLUMNS[record_type]), table
        for field in record_fields(record_type):
            if field.name not in columns:
                assert (record_type, field.name) == (RunRecord, "slot")  # always RUN_LEVEL_SLOT
                continue
            _, _, sql_type, not_null, _, _ = columns[field.name]
            assert sql_type == SQL_TYPES[field.domain], (table, field.name)
            # NULL: None, a NaN (a real may be NaN in the worker; SQLite stores it as NULL), an
            # action that is not JSON-able
            nullable = field.optional or field.domain in ("real", "action")
            assert bool(not_null) == (not nullable), (table, field.name)


def _stored(record: TelemetryEvent) -> TelemetryEvent:
    """What the store gives back: a run record's slot is not stored."""
    return record._replace(slot=RUN_LEVEL_SLOT) if type(record) is RunRecord else record


@settings(max_examples=150, deadline=None)
@given(records)
def test_a_stored_record_is_read_back_equal(record: TelemetryEvent) -> None:
    conn = open_writer(":memory:")
    assert write_batch(conn, [record]).invalid == 0
    assert list(iter_records(conn, record.run_id, record.kind)) == [_stored(record)]
    if type(record) in (StepRecord, EpisodeRollup):
        page = replay_page(
            conn, record.kind, record.run_id, record.agent_id, record.slot, None, limit=10
        )
        assert page == [record]
        assert (
            replay_page(conn, record.kind, record.run_id, record.agent_id, None, record, 10) == []
        )


def test_records_are_rebuilt_by_column_name_whatever_the_column_order() -> None:
    conn = open_writer(":memory:")
    step = record_factory.step(
        slot=1, wall_time=2.0, global_step=2, action=[1, 2], reward=0.5, truncated=True, frame_seq=7
    )
    write_batch(conn, [step])
    # the table's own column order (keys first) is not the record's field order
    cursor = conn.execute("SELECT *, rowid FROM steps")
    assert [d[0] for d in cursor.description][:5] == [
        "run_id",
        "slot",
        "episode",
        "step",
        "agent_id",
    ]
    assert list(read_records(StepRecord, cursor)) == [step]
    reversed_columns = ", ".join(reversed(COLUMNS[StepRecord]))
    assert list(
        read_records(StepRecord, conn.execute(f"SELECT {reversed_columns} FROM steps"))
    ) == [step]


def test_a_query_missing_a_stored_field_is_refused_by_name() -> None:
    conn = sqlite3.connect(":memory:")
    cursor = conn.execute("SELECT 'r' AS run_id")
    with pytest.raises(KeyError, match=r"agent_id.*StepRecord"):
        list(read_records(StepRecord, cursor))
