"""A recording takes the newest frame at each tick of its frame rate: video time is wall time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from video_helpers import H264_TOLERANCE, read_video

from gym_gui_bridge.errors import RecordingError
from gym_gui_bridge.recording import FrameCadence, LiveRecording


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 50.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_ticks_fall_at_the_frame_rate_and_late_ticks_are_owed() -> None:
    cadence = FrameCadence(fps=30.0, start_s=0.0)
    taken = [cadence.take(t / 1000) for t in range(0, 1000, 5)]  # polled every 5 ms for 1 s
    assert sum(taken) == 30 and max(taken) == 1
    assert cadence.take(1.5) == 16  # ticks at 1.0, 1.033, ..., 1.5 are owed at once
    assert cadence.next_at() == pytest.approx(1.5 + 1 / 30)
    assert cadence.skipped == 0


def test_a_stall_longer_than_the_catch_up_limit_is_skipped_not_filled() -> None:
    cadence = FrameCadence(fps=30.0, start_s=0.0, max_catch_up_s=1.0)
    assert cadence.take(0.0) == 1
    assert cadence.take(60.0) == 1  # a minute stopped: one frame, not 1800
    assert cadence.skipped == 1799
    assert cadence.take(60.0 + 1 / 30) == 1  # and the rate goes on from there


@pytest.mark.parametrize("fps", [0.0, -1.0, float("inf"), float("nan")])
def test_a_frame_rate_must_be_positive_and_finite(fps: float) -> None:
    with pytest.raises(ValueError, match="Expected fps > 0"):
        FrameCadence(fps=fps, start_s=0.0)


def test_the_newest_frame_is_repeated_until_a_newer_one_comes(tmp_path: Path) -> None:
    clock = FakeClock()
    out = tmp_path / "live.mp4"
    recording = LiveRecording(out, fps=10.0, clock=clock)
    offered = {0: 20, 3: 120, 7: 230}  # tick index -> shade of a frame offered just before it
    for tick in range(10):  # one second of ticks, 0.1 s apart
        clock.now = 50.0 + tick / 10
        if tick in offered:
            recording.offer(np.full((32, 48, 3), offered[tick], np.uint8))
        recording.tick()
    assert recording.frames == 10 and recording.frames_seen == 3
    assert recording.close() == out

    video = read_video(out)
    expected = [20] * 3 + [120] * 4 + [230] * 3  # the newest frame at each tick
    assert len(video.frames) == 10
    for index, shade in enumerate(expected):
        assert video.mean_error(index, np.full((32, 48, 3), shade, np.uint8)) < H264_TOLERANCE


def test_a_late_tick_adds_every_owed_frame_up_to_the_limit(tmp_path: Path) -> None:
    clock = FakeClock()
    recording = LiveRecording(tmp_path / "late.mp4", fps=20.0, clock=clock)
    recording.offer(np.zeros((16, 16, 3), np.uint8))
    assert recording.tick() == 1
    clock.now += 0.5  # the caller was busy for half a second
    assert recording.tick(limit=8) == 7  # 10 owed, 8 frames allowed in all
    recording.close()
    assert len(read_video(tmp_path / "late.mp4").frames) == 8


def test_a_recording_stopped_before_its_first_tick_keeps_the_frame_it_had(tmp_path: Path) -> None:
    recording = LiveRecording(tmp_path / "one.mp4", fps=30.0, clock=FakeClock())
    recording.offer(np.full((16, 16, 3), 99, np.uint8))
    recording.close()
    assert len(read_video(tmp_path / "one.mp4").frames) == 1


def test_a_recording_without_any_frame_writes_nothing(tmp_path: Path) -> None:
    recording = LiveRecording(tmp_path / "none.mp4", fps=30.0)
    assert recording.tick() == 0
    assert recording.close() is None
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_path_is_refused_before_any_frame(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="cannot write the video"):
        LiveRecording(tmp_path / "missing" / "x.mp4")
