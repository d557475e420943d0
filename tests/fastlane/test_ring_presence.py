"""Readers announce that they watch; the writer can tell, and silent monitors do not count."""

from __future__ import annotations

import numpy as np
from waits import wait_until

from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneReader, FastLaneWriter, list_segments


def test_nobody_watching_until_a_reader_polls(run_id: str) -> None:
    with FastLaneWriter.create(run_id, FastLaneConfig(width=4, height=4)) as writer:
        writer.publish(np.zeros((4, 4, 3), np.uint8))
        assert not writer.watched
        with FastLaneReader.attach(run_id) as reader:
            assert not writer.watched  # attaching alone is not watching
            reader.latest_frame()
            assert writer.watched


def test_watching_lapses_when_the_reader_stops_polling(run_id: str) -> None:
    with (
        FastLaneWriter.create(run_id, FastLaneConfig(width=4, height=4)) as writer,
        FastLaneReader.attach(run_id) as reader,
    ):
        reader.latest_frame()
        assert writer.watched
        # the heartbeat ages out after FASTLANE_WATCH_TIMEOUT_S without polls
        wait_until(lambda: not writer.watched, what="watching to lapse")


def test_silent_readers_and_listing_do_not_count_as_watching(run_id: str) -> None:
    with FastLaneWriter.create(run_id, FastLaneConfig(width=4, height=4)) as writer:
        writer.publish(np.zeros((4, 4, 3), np.uint8))
        with FastLaneReader.attach(run_id, announce=False) as monitor:
            assert monitor.latest_frame() is not None
        assert [e for e in list_segments() if e.run_id == run_id]
        assert not writer.watched
