"""The ring as one process sees it: publish, read, formats, validation, closing."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from gym_gui_bridge.errors import FastLaneNotFoundError
from gym_gui_bridge.fastlane import (
    FastLaneConfig,
    FastLaneMetrics,
    FastLaneReader,
    FastLaneWriter,
    create_fastlane_name,
)


def _shm_path(run_id: str) -> str:
    return "/dev/shm/" + create_fastlane_name(run_id)


def test_reader_gets_the_published_pixels_and_metrics(run_id: str) -> None:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    metrics = FastLaneMetrics(
        last_reward=1.5,
        rolling_return=20.25,
        step_rate_hz=4300.0,
        frame_rate_hz=30.0,
        episode=7,
        episode_step=12,
        global_step=999,
    )
    with (
        FastLaneWriter.create(run_id, FastLaneConfig(width=60, height=40)) as writer,
        FastLaneReader.attach(run_id) as reader,
    ):
        assert writer.publish(frame, metrics) == 1
        got = reader.latest_frame()
        assert got is not None
        assert got.seq == 1 and got.generation == 1
        np.testing.assert_array_equal(got.data, frame)
        assert got.metrics == metrics
        assert got.data.base is None or not np.shares_memory(got.data, frame)


def test_only_newer_frames_are_copied(run_id: str) -> None:
    with (
        FastLaneWriter.create(run_id, FastLaneConfig(width=4, height=4)) as writer,
        FastLaneReader.attach(run_id) as reader,
    ):
        assert reader.latest_frame() is None
        writer.publish(np.zeros((4, 4, 3), np.uint8))
        writer.publish(np.ones((4, 4, 3), np.uint8))
        newest = reader.latest_frame()
        assert newest is not None and newest.seq == 2 and newest.data.max() == 1
        assert reader.latest_frame() is None  # nothing newer
        again = reader.latest_frame(only_new=False)
        assert again is not None and again.seq == 2
        assert reader.last_seq == 2 and reader.frames_published() == 2


@pytest.mark.parametrize(
    ("shape", "channels"),
    [((5, 7), 1), ((5, 7, 1), 1), ((5, 7, 3), 3), ((5, 7, 4), 4)],
)
def test_grayscale_rgb_and_rgba_frames(run_id: str, shape: tuple[int, ...], channels: int) -> None:
    frame = (np.arange(np.prod(shape)) % 256).astype(np.uint8).reshape(shape)
    with (
        FastLaneWriter.create(run_id, FastLaneConfig(width=7, height=5, channels=channels)) as w,
        FastLaneReader.attach(run_id) as reader,
    ):
        w.publish(frame)
        got = reader.latest_frame()
        assert got is not None and got.channels == channels and w.generation == 1
        np.testing.assert_array_equal(got.data.reshape(shape), frame)


def test_memory_is_a_handful_of_frames(run_id: str) -> None:
    config = FastLaneConfig(width=600, height=400, capacity=3)
    with FastLaneWriter.create(run_id, config):
        size = os.path.getsize(_shm_path(run_id))
    assert 3 * config.frame_bytes <= size < 3 * config.frame_bytes + 2 * 4096  # + state area


def test_segment_is_owner_only(run_id: str) -> None:
    with FastLaneWriter.create(run_id, FastLaneConfig(width=4, height=4)):
        mode = stat.S_IMODE(os.stat(_shm_path(run_id)).st_mode)
    assert mode == 0o600


def test_close_unlinks_and_is_idempotent(run_id: str) -> None:
    writer = FastLaneWriter.create(run_id, FastLaneConfig(width=4, height=4))
    assert os.path.exists(_shm_path(run_id))
    writer.close()
    writer.close()
    assert not os.path.exists(_shm_path(run_id))
    with pytest.raises(ValueError, match="closed"):
        writer.publish(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(FastLaneNotFoundError, match=run_id):
        FastLaneReader.attach(run_id)


def test_reader_close_never_unlinks(run_id: str) -> None:
    with FastLaneWriter.create(run_id, FastLaneConfig(width=4, height=4)) as writer:
        for _ in range(3):
            FastLaneReader.attach(run_id).close()
        assert os.path.exists(_shm_path(run_id))
        writer.publish(np.zeros((4, 4, 3), np.uint8))
        with FastLaneReader.attach(run_id) as reader:
            assert reader.latest_frame() is not None


@pytest.mark.parametrize(
    "bad",
    ["", "a/b", "../x", "run id", "é", ".", "..", "x" * 101, "semi;colon", "new\nline"],
)
def test_bad_run_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="run id"):
        create_fastlane_name(bad)
    with pytest.raises(ValueError, match="run id"):
        FastLaneWriter.create(bad, FastLaneConfig(width=4, height=4))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 0, "height": 4}, "width"),
        ({"width": 4, "height": 5000}, "height"),
        ({"width": 4, "height": 4, "channels": 2}, "channels"),
        ({"width": 4, "height": 4, "capacity": 1}, "capacity"),
        ({"width": 4, "height": 4, "capacity": 100}, "capacity"),
        ({"width": 4, "height": 4, "env_slot": -2}, "env_slot"),
    ],
)
def test_impossible_configs_are_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FastLaneConfig(**kwargs)


def test_non_uint8_frames_are_refused(run_id: str) -> None:
    with FastLaneWriter.create(run_id, FastLaneConfig(width=4, height=4)) as writer:
        with pytest.raises(ValueError, match="uint8"):
            writer.publish(np.zeros((4, 4, 3), np.float32))
        with pytest.raises(ValueError, match="shape"):
            writer.publish(np.zeros((4, 4, 3, 1), np.uint8))
        assert writer.generation == 1 and writer.frames_published == 0
