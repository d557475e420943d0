"""The bridge's one-call batch decoder accepts exactly what the strict line decoder accepts.

It may decline a batch it cannot vouch for (the caller then decodes line by line), but it must
never accept a line the strict decoder rejects, and what it returns must equal the strict
decoder's records.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from record_corpus import CORPUS, EPISODE, STEP
from record_strategies import records

from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.jsonl import decode_record, encode_lines, encode_record
from gym_gui_bridge.protocol.jsonl_batch import decode_valid_batch, encode_valid_batch
from gym_gui_bridge.protocol.records import ScalarRecord, StepRecord
from gym_gui_bridge.server.publish import decode_batch


def _bytes(line: bytes | str) -> bytes:
    return line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("line", [c[1] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_every_malformed_line_makes_the_batch_decoder_decline(line: bytes | str) -> None:
    good = encode_record(STEP).encode()
    assert decode_valid_batch(_bytes(line)) is None
    assert decode_valid_batch(good + b"\n" + _bytes(line) + b"\n" + good + b"\n") is None


@pytest.mark.parametrize(
    "line",
    [
        # the repeated key hidden behind formatting the key count cannot see
        encode_record(STEP)[:-1] + ',"seq" :6}',
        encode_record(STEP)[:-1] + ',"seq"\t:6}',
        # an escaped quote makes the batch decoder decline, the strict one accepts it
        encode_record(STEP._replace(run_id='a"b')),
    ],
)
def test_lines_the_key_count_cannot_vouch_for_go_line_by_line(line: str) -> None:
    assert decode_valid_batch(line.encode()) is None


def test_a_colon_inside_a_string_neither_hides_a_repeated_key_nor_blocks_the_fast_path() -> None:
    colon = STEP._replace(run_id="run:1", seq=6)
    repeated = encode_record(STEP)[:-1] + ',"seq":6}'
    assert decode_valid_batch(encode_lines([colon, STEP]).encode()) == [colon, STEP]
    assert decode_valid_batch(f"{encode_record(colon)}\n{repeated}\n".encode()) is None


def test_a_batch_of_another_kind_is_declined_when_a_kind_is_asked_for() -> None:
    data = encode_lines([STEP, STEP]).encode()
    assert decode_valid_batch(data, "step") == [STEP, STEP]
    assert decode_valid_batch(data, "episode") is None


@settings(max_examples=200, deadline=None)
@given(st.lists(records, min_size=1, max_size=6))
def test_a_valid_batch_decodes_to_the_same_records_as_line_by_line(batch: list[object]) -> None:
    text = encode_lines(batch)  # type: ignore[arg-type]
    expected = [decode_record(line) for line in text.split("\n")[:-1]]
    assert expected == batch
    fast = decode_valid_batch(text.encode("utf-8"))
    # declining is allowed (an escaped quote, a string starting with ':'), a different
    # answer is not
    assert fast is None or fast == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(records, min_size=1, max_size=6))
def test_the_batch_encoder_writes_what_decodes_to_the_same_records(batch: list[object]) -> None:
    data = encode_valid_batch(batch)  # type: ignore[arg-type]
    if data is None:  # declined (run records, nested actions): the per-record encoder's job
        return
    lines = data.decode("utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == len(batch) + 1
    assert [decode_record(line) for line in lines[:-1]] == batch
    assert [list(json.loads(line))[:2] for line in lines[:-1]] == [["v", "type"]] * len(batch)


@pytest.mark.parametrize(
    "record",
    [
        STEP._replace(reward=float("nan")),
        STEP._replace(wall_time=float("inf")),
        STEP._replace(action=[0.5, float("-inf")]),
        STEP._replace(action=[[1.0]]),
        STEP._replace(run_id="\ud800"),
        STEP._replace(terminated=1),
        STEP._replace(wall_time="1.0"),
    ],
    ids=[
        "nan reward",
        "inf wall_time",
        "inf in action",
        "nested action",
        "surrogate",
        "int flag",
        "str wall_time",
    ],
)
def test_the_batch_encoder_declines_what_it_cannot_write_exactly(record: StepRecord) -> None:
    assert encode_valid_batch([STEP, record]) is None


def test_the_batch_encoder_covers_what_the_recorder_emits() -> None:
    scalar = ScalarRecord(
        run_id="run-1",
        slot=-1,
        agent_id="default",
        seq=0,
        wall_time=1.0,
        tag="charts/SPS",
        value=2300.0,
        step=512,
    )
    batch = [STEP, STEP._replace(action=[0.25, -1.0], frame_seq=None), EPISODE, scalar]
    data = encode_valid_batch(batch)
    assert data is not None
    assert decode_valid_batch(data) == batch


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(json.loads(encode_record(STEP)))),
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.text(max_size=3),
        st.floats(),
        st.lists(st.integers(), max_size=2),
    ),
)
def test_a_mutated_field_is_accepted_only_if_the_strict_decoder_accepts_it(
    key: str, value: object
) -> None:
    document = {**json.loads(encode_record(STEP)), key: value}
    line = json.dumps(document)  # NaN and Infinity come out as bare tokens: both must refuse
    try:
        strict: object = decode_record(line)
    except ValueError:
        strict = None
    fast = decode_valid_batch(line.encode("utf-8", "surrogatepass"))
    assert fast is None or fast == [strict]


def test_the_bridge_decodes_a_mixed_batch_line_by_line_and_reports_the_bad_line() -> None:
    good = encode_record(STEP).encode()
    batch = pb.RecordBatch(batch_id=1, jsonl=good + b"\n" + b"not json\n" + good + b"\n")
    valid, rejections, rejected = decode_batch(batch, None)
    assert valid == [STEP, STEP] and rejected == 1
    assert rejections[0].line == 1 and rejections[0].code == "not_json"


def test_a_list_action_is_checked_by_the_strict_rule() -> None:
    nested = STEP._replace(action=[[0.5, 1.0], [2.0, 3.0]])
    assert decode_valid_batch(encode_record(nested).encode()) == [nested]
    too_deep = encode_record(STEP).replace('"action":1', '"action":' + "[" * 9 + "1" + "]" * 9)
    assert decode_valid_batch(too_deep.encode()) is None
    assert isinstance(decode_record(encode_record(nested)), StepRecord)
