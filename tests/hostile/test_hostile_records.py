"""Hostile lines and records against the one validation: the strict decoder, the batch decoder,
the bridge's batch reader, both encoders and the protobuf conversion.

Each case is one fault. A decoder given it rejects it with the reason code and never raises;
the valid lines around it in a batch are decoded exactly once; an encoder refuses the same
values instead of writing a line a decoder would reject; and whatever a decoder accepts, SQLite
and the protobuf messages hold unchanged.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from hostile_corpus import LINES, RECORDS, good_step_line
from hypothesis import given, settings
from hypothesis import strategies as st
from record_corpus import GOOD
from record_strategies import records

from gym_gui_bridge.errors import RecordDecodeError, RecordEncodeError
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.jsonl import JsonlDecoder, decode_record, encode_record
from gym_gui_bridge.protocol.jsonl_batch import decode_valid_batch, encode_valid_batch
from gym_gui_bridge.protocol.normalise import normalised
from gym_gui_bridge.protocol.records import EpisodeRollup, StepRecord
from gym_gui_bridge.protocol.storable import storable, storable_all
from gym_gui_bridge.protocol.validation import problem
from gym_gui_bridge.protocol.wire import episode_message, step_message
from gym_gui_bridge.server.publish import read_batch
from gym_gui_bridge.store.schema import open_writer
from gym_gui_bridge.store.writes import write_batch


def _bytes(line: bytes | str) -> bytes:
    return line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")


@pytest.mark.parametrize(("line", "code"), [c[1:] for c in LINES], ids=[c[0] for c in LINES])
def test_the_strict_decoder_rejects_with_the_reason_and_never_raises(
    line: bytes | str, code: str
) -> None:
    with pytest.raises(RecordDecodeError) as rejected:
        decode_record(_bytes(line))
    assert rejected.value.code == code
    decoder = JsonlDecoder()
    assert decoder.decode(_bytes(line)) is None
    assert decoder.stats.rejected == 1 and decoder.stats.reasons == {code: 1}


@pytest.mark.parametrize(("line", "code"), [c[1:] for c in LINES], ids=[c[0] for c in LINES])
def test_a_batch_with_one_hostile_line_keeps_every_good_line_exactly_once(
    line: bytes | str, code: str
) -> None:
    before, after = good_step_line("h", 0), good_step_line("h", 1)
    data = before + _bytes(line) + b"\n" + after
    assert decode_valid_batch(data) is None  # the one-call path declines, never raises
    decoded = read_batch(pb.RecordBatch(batch_id=7, jsonl=data), None)
    assert [(r.run_id, r.seq) for r in decoded.records] == [("h", 0), ("h", 1)]
    assert decoded.lines == [0, 2]
    assert decoded.rejected == 1
    assert [(r.line, r.code) for r in decoded.rejections] == [(1, code)]
    (entry,) = decoded.quarantine
    assert entry.reason == code and entry.source == "bridge"
    entry.text.encode("utf-8")  # kept as text SQLite can store, whatever the bytes were


@pytest.mark.parametrize(("record", "code"), [c[1:] for c in RECORDS], ids=[c[0] for c in RECORDS])
def test_the_encoders_refuse_what_a_decoder_would_reject(record: object, code: str) -> None:
    assert not storable(record)
    reason = problem(normalised(record))
    assert reason is not None and reason.code == code
    with pytest.raises(RecordEncodeError, match=f"^{code}: "):
        encode_record(record)  # type: ignore[arg-type]
    good = StepRecord("r", 0, "default", 0, 1.0, 0, 0, 0, 1, 1.0, False, False)
    assert encode_valid_batch([good, record]) is None  # type: ignore[list-item]


_WIRE_CASES = [c for c in RECORDS if type(c[1]) in (StepRecord, EpisodeRollup)]


@pytest.mark.parametrize(
    ("record", "code"), [c[1:] for c in _WIRE_CASES], ids=[c[0] for c in _WIRE_CASES]
)
def test_the_protobuf_conversion_refuses_with_the_reason(record: object, code: str) -> None:
    convert = step_message if type(record) is StepRecord else episode_message
    with pytest.raises(RecordEncodeError, match=f"protobuf can carry, got {code}: "):
        convert(record)  # type: ignore[arg-type]


def test_numpy_values_are_converted_not_refused() -> None:
    np = pytest.importorskip("numpy")
    record = StepRecord(
        "r",
        np.int64(1),
        "default",
        np.int64(3),
        np.float64(2.5),
        0,
        0,
        0,
        np.array([0.5, 1.0], np.float32),
        np.float32(1.0),
        np.bool_(True),
        False,
    )
    assert not storable(record) and storable(normalised(record))
    assert decode_record(encode_record(record)) == normalised(record)


def _mutated(record: object, field: int, value: object) -> object:
    values = list(record)  # type: ignore[call-overload]
    values[field] = value
    return type(record)(*values)


_HOSTILE_VALUES = st.sampled_from(
    [
        10**30,
        2**64,
        "nul\x00",
        2**63,
        -(2**63) - 1,
        2**40,
        -2,
        "\ud800",
        "",
        "x" * 2000,
        float("nan"),
        float("inf"),
        10**400,
        [2**63],
        [[[[[[[[[1]]]]]]]]],
        True,
        None,
        "5",
        b"bytes",
        {"a": 1},
        1.5,
        0,
    ]
)


@settings(max_examples=300, deadline=None)
@given(records, st.integers(min_value=0, max_value=12), _HOSTILE_VALUES)
def test_the_fast_test_agrees_with_the_checks(record: object, field: int, value: object) -> None:
    """``storable`` (one expression per record type, the hot paths' test) never says yes to a
    record a check refuses, and once foreign values are converted it says yes exactly when every
    field passes its domain's check (valid records with one hostile value)."""
    hostile = _mutated(record, field % len(record), value)  # type: ignore[arg-type]
    if storable(hostile):
        assert problem(hostile) is None
    converted = normalised(hostile)
    assert storable(converted) == (problem(converted) is None)


@settings(max_examples=300, deadline=None)
@given(records, st.integers(min_value=0, max_value=12), _HOSTILE_VALUES)
def test_the_store_stores_a_record_or_quarantines_it_with_the_checks_reason(
    record: object, field: int, value: object
) -> None:
    """Whatever one hostile value makes of a record, ``write_batch`` (the bulk test, the test,
    SQLite, the isolation) stores it if and only if the checks accept it (converted), and
    otherwise quarantines it with the checks' reason: the tests agree with the checks."""
    hostile = _mutated(record, field % len(record), value)  # type: ignore[arg-type]
    if storable(hostile):
        assert storable_all([hostile])
    expected = problem(normalised(hostile))
    conn = open_writer(":memory:")
    result = write_batch(conn, [hostile])  # type: ignore[list-item]
    if expected is None:
        assert (result.rows, result.invalid) == (1, 0)
    else:
        assert (result.rows, result.invalid) == (0, 1)
        assert result.quarantined[0].reason == expected.code
    rows = conn.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0]
    assert rows == result.invalid


@settings(max_examples=200, deadline=None)
@given(records)
def test_whatever_a_decoder_accepts_sqlite_and_protobuf_hold_unchanged(record: object) -> None:
    line = encode_record(record)  # type: ignore[arg-type]
    for decoded in (decode_record(line), *(decode_valid_batch(line.encode()) or ())):
        assert storable(decoded) and storable_all([decoded]) and problem(decoded) is None
        if type(decoded) is StepRecord:
            step_message(decoded)
        elif type(decoded) is EpisodeRollup:
            episode_message(decoded)
        conn = open_writer(":memory:")
        result = write_batch(conn, [decoded])
        assert (result.rows, result.invalid) == (1, 0)
        assert conn.execute("SELECT COUNT(*) FROM quarantine").fetchone() == (0,)


def test_every_integer_of_a_decodable_line_binds_in_sqlite() -> None:
    """The edges of each integer domain: the last value accepted binds, the next is refused."""
    conn = sqlite3.connect(":memory:")
    for key, edge in (("seq", 2**63 - 1), ("slot", 2**31 - 1), ("action", -(2**63))):
        record = decode_record(_bytes(_line(**{key: edge})))
        conn.execute("SELECT ?", (getattr(record, key),))
        with pytest.raises(RecordDecodeError, match="out_of_range"):
            decode_record(_bytes(_line(**{key: edge + (1 if edge > 0 else -1)})))


def _line(**changes: object) -> str:
    return json.dumps({**GOOD, **changes})
