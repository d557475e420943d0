"""A geometry change starts a new generation; readers follow; no header is reused."""

from __future__ import annotations

import numpy as np

from gym_gui_bridge.fastlane import (
    FastLaneConfig,
    FastLaneReader,
    FastLaneWriter,
    SegmentState,
)


def test_geometry_change_starts_a_new_generation_readers_follow(run_id: str) -> None:
    with (
        FastLaneWriter.create(run_id, FastLaneConfig(width=8, height=4)) as writer,
        FastLaneReader.attach(run_id) as reader,
    ):
        writer.publish(np.full((4, 8, 3), 1, np.uint8))
        first = reader.latest_frame()
        assert first is not None and first.generation == 1

        wide = np.full((4, 16, 3), 2, np.uint8)  # e.g. the grid grew
        seq = writer.publish(wide)
        assert writer.generation == 2 and seq == 2
        got = reader.latest_frame()
        assert got is not None
        assert got.generation == 2 and got.seq == 2 and got.data.shape == (4, 16, 3)
        assert reader.reattach_count == 1
        assert reader.config.width == 16


def test_old_generation_is_marked_retired_and_unlinked(run_id: str) -> None:
    with FastLaneWriter.create(run_id, FastLaneConfig(width=8, height=4)) as writer:
        old = FastLaneReader.attach(run_id)
        writer.publish(np.zeros((2, 2), np.uint8))
        # the old mapping stays valid for its reader, but says it was replaced
        assert old.status().state == SegmentState.RETIRED
        fresh = FastLaneReader.attach(run_id)
        assert fresh.generation == 2 and fresh.status().state == SegmentState.LIVE
        assert fresh.config.channels == 1
        old.close()
        fresh.close()


def test_reader_waits_while_the_next_generation_is_absent(run_id: str) -> None:
    writer = FastLaneWriter.create(run_id, FastLaneConfig(width=8, height=4))
    reader = FastLaneReader.attach(run_id)
    writer.publish(np.zeros((4, 8, 3), np.uint8))
    assert reader.latest_frame() is not None
    writer.close()  # closed, not retired: there is nothing to follow
    assert reader.latest_frame() is None
    assert reader.status().state == SegmentState.CLOSED
    reader.close()
