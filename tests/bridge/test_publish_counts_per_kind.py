"""Publishing streams count records per kind (what /metrics shows): received, stored,
rejected (lines the decoder refused, records the sink refused) and dropped."""

from __future__ import annotations

from gym_gui_bridge.protocol.records import EpisodeRollup, ScalarRecord
from gym_gui_bridge.server.publish import UNKNOWN_KIND, KindCounts, PublishCounters


def _episode(seq: int) -> EpisodeRollup:
    return EpisodeRollup("r", 0, "default", seq, 1.0, seq, 1.0, 5, True, False, 0, 0.1)


def _scalar(seq: int) -> ScalarRecord:
    return ScalarRecord("r", -1, "default", seq, 1.0, "loss", 0.5, seq)


def test_a_mixed_stream_counts_each_kind_and_rejected_lines_as_unknown() -> None:
    counters = PublishCounters()
    records = [_episode(0), _scalar(0), _scalar(1)]
    counters.count(None, records, [records[1]], lines_rejected=2, stored=True)
    assert counters.by_kind == {
        "episode": KindCounts(received=1, accepted=1),
        "scalar": KindCounts(received=2, accepted=1, rejected=1),
        UNKNOWN_KIND: KindCounts(received=2, rejected=2),
    }


def test_a_stream_of_one_kind_counts_its_rejected_lines_under_that_kind() -> None:
    counters = PublishCounters()
    counters.count("scalar", [_scalar(0)], [], lines_rejected=1, stored=True)
    counters.count("scalar", [_scalar(1), _scalar(2)], [], lines_rejected=0, stored=False)
    assert counters.by_kind == {"scalar": KindCounts(received=4, accepted=1, rejected=1, dropped=2)}
