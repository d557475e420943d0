"""Hostile records against the store, on real SQLite files: the embedded sink, ``ingest --db``,
the quarantine listing, and databases that are not SQLite.

Each case asserts that the bad part is refused and counted (and kept in the quarantine table
with its reason), every good record around it is stored exactly once, the sink keeps storing
later records, no wait is unbounded, and a command says what is wrong in one line.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from hostile_corpus import LINES, RECORDS, good_step_line
from record_factory import scalar, step
from waits import WAIT_S

from cleanrl_worker.slowlane.record_sink import EmbeddedSink
from gym_gui_bridge.bus.run_bus import RunBus
from gym_gui_bridge.cli import main as cli
from gym_gui_bridge.config.store import SinkConfig
from gym_gui_bridge.errors import StoreError
from gym_gui_bridge.protocol.records import TelemetryEvent
from gym_gui_bridge.store.schema import open_writer
from gym_gui_bridge.store.sink import TelemetryDBSink


def _run_id() -> str:
    return f"hostile-{uuid.uuid4().hex[:8]}"


def _good(run_id: str, first: int, n: int) -> list[TelemetryEvent]:
    """``n`` steps and ``n`` scalars of ``run_id``, seq from ``first``."""
    steps = [step(run_id=run_id, seq=i, step=i) for i in range(first, first + n)]
    return [*steps, *(scalar(run_id=run_id, seq=i, step=i) for i in range(first, first + n))]


def _stored(db: Path, run_id: str) -> tuple[int, int, int]:
    """(steps, distinct step seqs, scalars) of ``run_id``."""
    with sqlite3.connect(db) as conn:
        steps, distinct = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT seq) FROM steps WHERE run_id = ?", (run_id,)
        ).fetchone()
        (scalars,) = conn.execute(
            "SELECT COUNT(*) FROM scalars WHERE run_id = ?", (run_id,)
        ).fetchone()
    return steps, distinct, scalars


def _quarantine(db: Path) -> list[tuple[str, str, str | None]]:
    """(source, reason, run_id) of every quarantine entry."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT source, reason, run_id FROM quarantine ORDER BY id").fetchall()


# --- the embedded sink (the recorder's: a hand-off queue and TelemetryDBSink) ---------------


@pytest.mark.parametrize(("bad", "code"), [c[1:] for c in RECORDS], ids=[c[0] for c in RECORDS])
def test_the_embedded_sink_quarantines_a_bad_record_and_stores_the_rest(
    tmp_path: Path, bad: TelemetryEvent, code: str
) -> None:
    db, run_id = tmp_path / "embedded.sqlite", _run_id()
    sink = EmbeddedSink(str(db), config=SinkConfig(batch_size=64))
    sink.start()
    try:
        for record in [*_good(run_id, 0, 50), bad, *_good(run_id, 50, 50)]:
            assert sink.put(record)
        assert sink.flush(WAIT_S)  # bounded: a bad record never wedges the sink
        assert _stored(db, run_id) == (100, 100, 100)
        ((source, reason, quarantined_run),) = _quarantine(db)
        assert (source, reason) == ("sink", code)
        # the run id as text SQLite holds: a lone surrogate as its backslash escape
        assert quarantined_run == bad.run_id.encode("utf-8", "backslashreplace").decode()
        stats = sink.stats()
        assert (stats.invalid, stats.quarantined, stats.lost) == (1, 1, 0)
        for record in _good(run_id, 100, 10):  # and it keeps storing
            sink.put(record)
        assert sink.flush(WAIT_S)
        assert _stored(db, run_id) == (110, 110, 110)
    finally:
        assert sink.close(WAIT_S)


def test_a_record_sqlite_refuses_is_isolated_from_its_batch(tmp_path: Path) -> None:
    """A record the validation accepts but SQLite refuses for good (a constraint, here injected
    as an IntegrityError whenever that record is in the transaction): the batch is split until
    it is alone; everything else is stored once."""
    db, run_id = tmp_path / "refused.sqlite", _run_id()
    poisoned = step(run_id=run_id, seq=777, step=777)

    def refuse(batch: object) -> None:
        if poisoned in batch:  # type: ignore[operator]
            raise sqlite3.IntegrityError("CHECK constraint failed (injected)")

    bus = RunBus()
    sink = TelemetryDBSink(bus, db, config=SinkConfig(batch_size=512), fault_hook=refuse)
    sink.start()
    try:
        bus.publish_many([*_good(run_id, 0, 300), poisoned, *_good(run_id, 300, 200)])
        assert sink.flush(WAIT_S)
        assert _stored(db, run_id) == (500, 500, 500)
        assert _quarantine(db) == [("sink", "not_storable", run_id)]
        (refused,) = sink.refused_since(0)
        assert refused.record is poisoned and "IntegrityError" in refused.message
        assert sink.stats().failed_batches == 0  # isolating is not a retry
    finally:
        assert sink.stop(WAIT_S)


def test_a_transient_fault_is_retried_and_the_bad_record_quarantined_once(tmp_path: Path) -> None:
    db, run_id = tmp_path / "transient.sqlite", _run_id()
    failures = [3]

    def disk_full(batch: object) -> None:
        if failures[0]:
            failures[0] -= 1
            raise sqlite3.OperationalError("database or disk is full (injected)")

    bus = RunBus()
    sink = TelemetryDBSink(
        bus, db, config=SinkConfig(batch_size=256, retry_backoff_s=0.01), fault_hook=disk_full
    )
    sink.start()
    try:
        bus.publish_many([*_good(run_id, 0, 100), step(run_id=run_id, seq=100, action=2**63)])
        assert sink.flush(WAIT_S)
        stats = sink.stats()
        assert stats.failed_batches == 3 and "disk is full" in (stats.last_error or "")
        assert _stored(db, run_id) == (100, 100, 100)
        assert _quarantine(db) == [("sink", "out_of_range", run_id)]
        assert (stats.invalid, stats.quarantined) == (1, 1)
    finally:
        assert sink.stop(WAIT_S)


def test_duplicates_are_stored_once_and_never_quarantined(tmp_path: Path) -> None:
    db, run_id = tmp_path / "dup.sqlite", _run_id()
    bus = RunBus()
    sink = TelemetryDBSink(bus, db)
    sink.start()
    try:
        records = _good(run_id, 0, 20)
        bus.publish_many([*records, *records, records[3], records[3]])
        assert sink.flush(WAIT_S)
        bus.publish_many(records)
        assert sink.flush(WAIT_S)
        assert _stored(db, run_id) == (20, 20, 20)
        assert _quarantine(db) == [] and sink.stats().invalid == 0
    finally:
        assert sink.stop(WAIT_S)


# --- ingest --db --------------------------------------------------------------------------


def _hostile_file(path: Path, run_id: str) -> int:
    """A JSONL file: every hostile line of the corpus between two good lines; the number of
    good lines."""
    with open(path, "wb") as out:
        for number, (_, line, _) in enumerate(LINES):
            out.write(good_step_line(run_id, number))
            out.write(line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass"))
            out.write(b"\n")
        out.write(good_step_line(run_id, len(LINES)))
    return len(LINES) + 1


def test_ingest_into_a_database_quarantines_every_hostile_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id, file, db = _run_id(), tmp_path / "hostile.jsonl", tmp_path / "ingest.sqlite"
    good = _hostile_file(file, run_id)
    for _ in range(2):  # twice: re-ingesting stores and quarantines nothing twice
        status = cli(["ingest", str(file), "--db", str(db)])
        assert status == 0, capsys.readouterr().err
        assert f"{good} records stored, {len(LINES)} lines rejected" in capsys.readouterr().err
        assert _stored(db, run_id) == (good, good, 0)
        entries = _quarantine(db)
        assert sorted(reason for _, reason, _ in entries) == sorted(c[2] for c in LINES)
        assert {source for source, _, _ in entries} == {"ingest"}
    assert cli(["ingest", str(file), "--db", str(db), "--remove"]) == 0
    assert not file.exists()  # every record of it was stored or rejected
    assert len(_quarantine(db)) == len(LINES)


def test_the_quarantine_listing_shows_each_entry_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id, file, db = _run_id(), tmp_path / "hostile.jsonl", tmp_path / "list.sqlite"
    _hostile_file(file, run_id)
    assert cli(["ingest", str(file), "--db", str(db)]) == 0
    capsys.readouterr()
    assert cli(["quarantine", "--db", str(db), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(e["reason"] for e in listed) == sorted(c[2] for c in LINES)
    # the run id is read from each line that has one (steps: run-1, lifecycle lines: r)
    assert {e["run_id"] for e in listed if e["reason"] == "out_of_range"} == {"run-1", "r"}
    assert "2147483648" in " ".join(e["record"] for e in listed)  # the slot 2**31 line, as text
    assert cli(["quarantine", "--db", str(db), "--run", "run-1", "--limit", "3"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["TIME", "RUN_ID", "SOURCE", "REASON", "RECORD"]
    assert len(table) == 4 and all(" run-1 " in row for row in table[1:])
    assert cli(["quarantine", "--db", str(db), "--run", "nope"]) == 0
    assert "nothing quarantined of run nope" in capsys.readouterr().out


# --- databases that are not SQLite ------------------------------------------------------------


@pytest.fixture
def not_sqlite(tmp_path: Path) -> Path:
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    return path


def test_opening_a_file_that_is_not_sqlite_names_it_and_the_fix(not_sqlite: Path) -> None:
    with pytest.raises(StoreError) as refused:
        open_writer(not_sqlite)
    message = str(refused.value)
    assert str(not_sqlite) in message and "not an SQLite database" in message
    assert "move it away or choose another file" in message
    assert not_sqlite.read_bytes().startswith(b"these are my notes")  # left as it was


@pytest.mark.parametrize("command", ["runs", "quarantine", "episodes RUN", "ingest FILE"])
def test_inspection_and_ingest_on_a_file_that_is_not_sqlite_say_so_in_one_line(
    not_sqlite: Path, tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    jsonl = tmp_path / "one.jsonl"
    jsonl.write_bytes(good_step_line("r", 0))
    argv = [*command.replace("FILE", str(jsonl)).split(), "--db", str(not_sqlite)]
    assert cli(argv) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert str(not_sqlite) in err and "--db PATH" in err


@pytest.mark.slow
@pytest.mark.parametrize("db", ["notes.sqlite", "file/inside/a/file.sqlite"])
def test_serve_on_a_database_it_cannot_use_exits_2_with_one_line(
    not_sqlite: Path, tmp_path: Path, db: str
) -> None:
    (tmp_path / "file").write_text("a regular file where a folder is needed\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gym_gui_bridge.cli",
            "serve",
            "--db",
            str(tmp_path / db),
            "--listen",
            "127.0.0.1:0",
            "--spool-dir",
            str(tmp_path / "spool"),
        ],
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert str(tmp_path / db) in lines[0] and "(--db PATH)" in lines[0]
