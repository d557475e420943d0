"""The JSONL decoder rejects every malformed line with a reason, counts it, never raises."""

from __future__ import annotations

import pytest
from record_corpus import CORPUS, STEP, with_

from gym_gui_bridge.errors import RecordDecodeError
from gym_gui_bridge.protocol.jsonl import JsonlDecoder, decode_record, encode_record
from gym_gui_bridge.protocol.records import StepRecord


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 25


@pytest.mark.parametrize(("line", "reason"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_malformed_line_is_rejected_with_its_reason(line: bytes | str, reason: str) -> None:
    with pytest.raises(RecordDecodeError) as caught:
        decode_record(line)
    assert caught.value.code == reason
    assert str(caught.value).startswith(reason)


def test_reader_loop_counts_every_rejection_and_keeps_the_good_lines() -> None:
    decoder = JsonlDecoder()
    lines = [c[1] for c in CORPUS]
    good = encode_record(STEP)
    records = [decoder.decode(line) for line in [good, *lines, good.encode() + b"\n"]]
    assert records[0] == STEP and records[-1] == STEP
    assert all(r is None for r in records[1:-1])
    assert decoder.stats.accepted == 2
    assert decoder.stats.rejected == len(CORPUS)
    expected: dict[str, int] = {}
    for _, _, reason in CORPUS:
        expected[reason] = expected.get(reason, 0) + 1
    assert decoder.stats.reasons == expected
    assert decoder.stats.last_error is not None


def test_a_valid_line_with_a_trailing_newline_and_int_reward_is_accepted() -> None:
    line = with_(reward=2) + "\n"
    record = decode_record(line)
    assert isinstance(record, StepRecord)
    assert record.reward == 2.0 and isinstance(record.reward, float)
