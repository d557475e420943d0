"""Every record survives encode -> decode unchanged (property test), and bad values are refused
by the encoder rather than written as invalid JSON."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from record_corpus import STEP
from record_strategies import records, scalars

from gym_gui_bridge.errors import RecordEncodeError
from gym_gui_bridge.protocol.jsonl import decode_record, encode_lines, encode_record
from gym_gui_bridge.protocol.records import ScalarRecord


@settings(max_examples=200, deadline=None)
@given(records)
def test_encode_then_decode_gives_the_same_record(record: object) -> None:
    line = encode_record(record)  # type: ignore[arg-type]
    assert "\n" not in line
    document = json.loads(line)
    assert list(document)[:2] == ["v", "type"] and document["v"] == 1
    assert decode_record(line) == record
    assert decode_record(line.encode("utf-8")) == record


@given(st.lists(scalars, max_size=5))
def test_encode_lines_is_one_record_per_line(records: list[ScalarRecord]) -> None:
    text = encode_lines(records)
    # split on "\n" only: str.splitlines() also splits inside strings at \x85, \u2028, ...
    assert [decode_record(line) for line in text.split("\n")[:-1]] == records


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_encoder_refuses_non_finite_numbers(bad: float) -> None:
    with pytest.raises(RecordEncodeError, match="finite"):
        encode_record(ScalarRecord("r", -1, "default", 0, 1.0, tag="loss", value=bad, step=1))


def test_encoder_refuses_an_action_that_is_not_json() -> None:
    with pytest.raises(RecordEncodeError, match="JSON-able"):
        encode_record(STEP._replace(action={1, 2}))
