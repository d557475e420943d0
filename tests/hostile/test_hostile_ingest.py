"""Hostile records through the bridge: publishing over gRPC on 127.0.0.1, ``ingest --bridge``
(with ``--remove``), and ``serve`` starting on orphaned spools that hold poisoned records.

Each case asserts that the bad part is rejected, counted where the client sees it (the ack, the
bridge's health) and kept in the quarantine table; the good records around it are stored exactly
once and acknowledged; the bridge keeps serving other clients; every wait is bounded; a file is
deleted only when every record of it was acknowledged as stored or rejected.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from bridge_helpers import free_port, start_bridge, stop_bridge, wait_healthy
from hostile_corpus import LINES, good_step_line
from record_factory import step
from waits import WAIT_S, wait_until

from gym_gui_bridge.bus.run_bus import RunBus
from gym_gui_bridge.cli import main as cli
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.proto import trainer_pb2_grpc as pb_grpc
from gym_gui_bridge.protocol.jsonl import encode_record
from gym_gui_bridge.protocol.wire import SERVICE_NAME, channel_options
from gym_gui_bridge.server.service import TrainerServicer
from gym_gui_bridge.store.quarantine import quarantined_line
from gym_gui_bridge.store.sink import TelemetryDBSink


def _run_id() -> str:
    return f"hostile-{uuid.uuid4().hex[:8]}"


def _bytes(line: bytes | str) -> bytes:
    return line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")


def _publish(address: str, batches: list[bytes]) -> list[pb.BatchAck]:
    """Send ``batches`` on one PublishRecords stream (a new channel: a client of its own) and
    return every ack; the stream must end OK with one ack per batch."""
    channel = grpc.insecure_channel(address, options=channel_options())
    try:
        stub = pb_grpc.TrainerServiceStub(channel)
        requests = (pb.RecordBatch(batch_id=i + 1, jsonl=data) for i, data in enumerate(batches))
        acks = list(stub.PublishRecords(requests, timeout=WAIT_S))
    finally:
        channel.close()
    assert [a.batch_id for a in acks] == list(range(1, len(batches) + 1))
    return acks


def _count(db: Path, sql: str, *params: Any) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=WAIT_S) as conn:
        return int(conn.execute(sql, params).fetchone()[0])


def _steps(db: Path, run_id: str) -> tuple[int, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=WAIT_S) as conn:
        row = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT seq) FROM steps WHERE run_id = ?", (run_id,)
        ).fetchone()
    return int(row[0]), int(row[1])


# --- a real bridge process, shared by the publishing cases -----------------------------------


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("bridge")
    db, port = folder / "bridge.sqlite", free_port()
    proc = start_bridge(db, port, folder / "spool")
    try:
        yield f"127.0.0.1:{port}", db
    finally:
        assert stop_bridge(proc) == 0


@pytest.mark.slow
@pytest.mark.parametrize(("line", "code"), [c[1:] for c in LINES], ids=[c[0] for c in LINES])
def test_a_hostile_line_is_rejected_and_the_good_ones_stored_and_acknowledged(
    bridge: tuple[str, Path], line: bytes | str, code: str
) -> None:
    address, db = bridge
    run_id = _run_id()
    before = wait_healthy(address)
    data = good_step_line(run_id, 0) + _bytes(line) + b"\n" + good_step_line(run_id, 1)
    (ack,) = _publish(address, [data])
    assert (ack.accepted, ack.rejected, ack.dropped) == (2, 1, 0)
    assert [(r.line, r.code) for r in ack.rejections] == [(1, code)]
    assert _steps(db, run_id) == (2, 2)  # acknowledged means stored: no wait needed
    kept = quarantined_line(_bytes(line), code, "", "bridge").text
    entries = (
        "SELECT COUNT(*) FROM quarantine WHERE source = 'bridge' AND reason = ? AND record = ?"
    )
    assert _count(db, entries, code, kept) == 1
    after = wait_healthy(address)
    assert after.records_rejected - before.records_rejected >= 1
    assert after.records_dropped == before.records_dropped
    # another client, another stream: the bridge keeps serving
    other = _run_id()
    (next_ack,) = _publish(address, [good_step_line(other, 0) + good_step_line(other, 1)])
    assert (next_ack.accepted, next_ack.rejected, next_ack.dropped) == (2, 0, 0)
    assert _steps(db, other) == (2, 2)


@pytest.mark.slow
def test_a_poisoned_batch_in_the_middle_of_a_stream_leaves_every_batch_acknowledged(
    bridge: tuple[str, Path],
) -> None:
    address, db = bridge
    run_id = _run_id()
    batches = [b"".join(good_step_line(run_id, 10 * b + i) for i in range(10)) for b in range(5)]
    deep = b'{"v":1,"type":"step","action":' + b"[" * 5000 + b"]" * 5000 + b"}\n"
    batches[2] = batches[2] + deep + b"x" * 9 + b"\n" + _bytes(LINES[0][1]) + b"\n"
    acks = _publish(address, batches)
    assert [(a.accepted, a.rejected, a.dropped) for a in acks] == [(10, 0, 0)] * 2 + [
        (10, 3, 0)
    ] + [(10, 0, 0)] * 2
    assert _steps(db, run_id) == (50, 50)


# --- a record the store refuses after the decoder accepted it (in-process bridge) ------------


def test_a_record_the_sink_refuses_is_acknowledged_as_rejected_not_dropped(tmp_path: Path) -> None:
    run_id = _run_id()

    def refuse(batch: object) -> None:
        if any(getattr(r, "seq", None) == 777 for r in batch):  # type: ignore[attr-defined]
            raise sqlite3.IntegrityError("CHECK constraint failed (injected)")

    bus = RunBus()
    sink = TelemetryDBSink(bus, tmp_path / "refuse.sqlite", fault_hook=refuse, decoded=True)
    sink.start()
    servicer = TrainerServicer(bus, sink)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=channel_options())
    server.add_generic_rpc_handlers([servicer.generic_handler()])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        lines = [good_step_line(run_id, i) for i in range(20)]
        lines[7] = good_step_line(run_id, 777)
        (ack,) = _publish(f"127.0.0.1:{port}", [b"".join(lines)])
        assert (ack.accepted, ack.rejected, ack.dropped) == (19, 1, 0)
        assert [(r.line, r.code) for r in ack.rejections] == [(7, "not_storable")]
        assert _steps(tmp_path / "refuse.sqlite", run_id) == (19, 19)
        health = servicer.health()
        assert (health.records_accepted, health.records_rejected) == (19, 1)
    finally:
        server.stop(0).wait(WAIT_S)
        assert sink.stop(WAIT_S)


# --- ingest --bridge ----------------------------------------------------------------------


def _poisoned_file(path: Path, run_id: str, good: int) -> None:
    with open(path, "wb") as out:
        for seq in range(good):
            out.write(good_step_line(run_id, seq))
            if seq == good // 2:
                out.write(_bytes(LINES[0][1]) + b"\n")  # action 2**63
                out.write(encode_record(step(run_id=run_id, seq=10**6)).encode()[:-20] + b"\n")


@pytest.mark.slow
def test_ingest_to_a_bridge_removes_a_file_whose_records_were_all_stored_or_rejected(
    bridge: tuple[str, Path], tmp_path: Path
) -> None:
    address, db = bridge
    run_id, file = _run_id(), tmp_path / "poisoned.jsonl"
    _poisoned_file(file, run_id, 3000)  # three batches
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gym_gui_bridge.cli",
            "ingest",
            str(file),
            "--bridge",
            address,
            "--remove",
        ],
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert result.returncode == 0, result.stderr
    assert "3000 records stored, 2 lines rejected" in result.stderr
    assert not file.exists()
    assert _steps(db, run_id) == (3000, 3000)


def test_ingest_to_a_bridge_that_is_not_there_keeps_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "kept.jsonl"
    _poisoned_file(file, _run_id(), 10)
    address = f"127.0.0.1:{free_port()}"
    assert cli(["ingest", str(file), "--bridge", address, "--remove"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "UNAVAILABLE" in err and "kept" in err
    assert file.exists()


def _short_bridge(acks: int) -> tuple[grpc.Server, int]:
    """A gRPC server on 127.0.0.1 whose PublishRecords reads every batch but acknowledges only
    the first ``acks`` and then ends the stream with OK."""

    def publish(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
        for number, data in enumerate(requests):
            batch = pb.RecordBatch.FromString(data)
            if number < acks:
                count = batch.jsonl.count(b"\n")
                yield pb.BatchAck(batch_id=batch.batch_id, accepted=count).SerializeToString()

    handler = grpc.method_handlers_generic_handler(
        SERVICE_NAME, {"PublishRecords": grpc.stream_stream_rpc_method_handler(publish)}
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[handler])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def test_a_stream_that_ends_ok_without_every_ack_is_an_error_and_keeps_the_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = _run_id()
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_bytes(b"".join(good_step_line(run_id, i) for i in range(100)))
    second.write_bytes(b"".join(good_step_line(run_id, i) for i in range(100, 2100)))
    server, port = _short_bridge(acks=1)  # batch 1: a.jsonl and the start of b.jsonl
    try:
        status = cli(["ingest", str(tmp_path), "--bridge", f"127.0.0.1:{port}", "--remove"])
    finally:
        server.stop(0).wait(WAIT_S)
    err = capsys.readouterr().err
    assert status == 1 and len(err.strip().splitlines()) == 1, err
    assert "the stream ended after 1" in err
    assert not first.exists()  # all its records were acknowledged
    assert second.exists()  # some were not


# --- serve with orphaned spools -------------------------------------------------------------


def _orphan_spool(root: Path, run_id: str, good: int) -> Path:
    """A spool directory as an emitter that died leaves it (no lock held), with a poisoned
    record and hostile lines among ``good`` step lines."""
    directory = root / f"{run_id}.{os.getpid()}"
    directory.mkdir(parents=True)
    with open(directory / "seg-000000000001.jsonl", "wb") as out:
        for seq in range(good):
            out.write(good_step_line(run_id, seq))
            if seq == 5:
                for _, line, _ in LINES:
                    out.write(_bytes(line) + b"\n")
        out.write(b'{"v":1,"type":"step","run_id":"torn')  # a torn last line: not yet a line
    return directory


@pytest.mark.slow
def test_serve_ingests_an_orphaned_poisoned_spool_and_listens(tmp_path: Path) -> None:
    run_id, db, spool, port = _run_id(), tmp_path / "b.sqlite", tmp_path / "spool", free_port()
    directory = _orphan_spool(spool, run_id, 200)
    proc = start_bridge(db, port, spool)  # returns once the bridge answers: it listens
    try:
        assert _steps(db, run_id) == (200, 200)
        entries = "SELECT COUNT(*) FROM quarantine WHERE source = 'spool'"
        assert _count(db, entries) == len(LINES)
        assert not directory.exists()
        (ack,) = _publish(f"127.0.0.1:{port}", [good_step_line(run_id, 1000)])  # serving
        assert ack.accepted == 1
    finally:
        assert stop_bridge(proc) == 0


@pytest.mark.slow
def test_serve_listens_before_a_large_spool_is_ingested_and_finishes_it_while_serving(
    tmp_path: Path,
) -> None:
    run_id, db, spool, port = _run_id(), tmp_path / "b.sqlite", tmp_path / "spool", free_port()
    directory = _orphan_spool(spool, run_id, 30_000)
    config = tmp_path / "serve.toml"
    config.write_text("[bridge]\nBRIDGE_STARTUP_INGEST_S = 0.0\n")
    proc = start_bridge(db, port, spool, "--config", str(config))
    try:
        log = (tmp_path / f"bridge-{port}.log").read_text()
        assert "(more in the background)" in log
        (ack,) = _publish(f"127.0.0.1:{port}", [good_step_line(run_id, 10**6)])  # served now
        assert ack.accepted == 1
        wait_until(lambda: not directory.exists(), WAIT_S, "the spool ingested and deleted")
        assert _steps(db, run_id) == (30_001, 30_001)
    finally:
        assert stop_bridge(proc) == 0


def test_the_start_up_ingest_can_be_stopped_half_way_and_keeps_the_rest(tmp_path: Path) -> None:
    from gym_gui_bridge.store.ingest import SpoolIngest

    run_id, spool = _run_id(), tmp_path / "spool"
    directory = _orphan_spool(spool, run_id, 20_000)
    bus = RunBus()
    sink = TelemetryDBSink(bus, tmp_path / "half.sqlite")
    sink.start()
    try:
        ingest = SpoolIngest(spool, bus, sink)
        assert not ingest.run_for(0.0)  # one chunk, then the budget is spent
        ingest.start()
        assert ingest.stop(WAIT_S)
        assert directory.exists() or ingest.done  # kept unless it was all stored in time
    finally:
        assert sink.stop(WAIT_S)
    if directory.exists():  # the lock was released: the next start ingests it
        again = RunBus()
        sink = TelemetryDBSink(again, tmp_path / "half.sqlite")
        sink.start()
        try:
            rest = SpoolIngest(spool, again, sink)
            assert rest.run_for(WAIT_S)
        finally:
            assert sink.stop(WAIT_S)
    assert not directory.exists()
    assert _steps(tmp_path / "half.sqlite", run_id) == (20_000, 20_000)
