"""Frames of a vector env's watched slot (envpool): the env's own renderer when it has one,
otherwise the observation drawn as an image; a first frame, then frames only while watched;
a broken frame path turns frames off with one line and never raises into training."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from worker_helpers import segment_exists

from cleanrl_worker.fastlane.observation_frames import observation_frame
from cleanrl_worker.fastlane.vector_frames import VectorSlotFrames
from gym_gui_bridge.config.fastlane import FrameConfig
from gym_gui_bridge.fastlane import FastLaneReader


class FakeClock:
    def __init__(self) -> None:
        self.now = 1.0

    def __call__(self) -> float:
        return self.now


def _stack(step: int) -> np.ndarray:
    """An Atari-like 4 x 84 x 84 stack whose newest frame is filled with ``step``."""
    stack = np.zeros((4, 84, 84), np.uint8)
    stack[-1] = step % 256
    return stack


def _frames(run_id: str, clock: FakeClock, **kwargs: Any) -> VectorSlotFrames:
    frames = FrameConfig(fps=1000.0, budget=1.0)
    return VectorSlotFrames(run_id, 2, name="test pool", frames=frames, clock=clock, **kwargs)


def _observe(frames: VectorSlotFrames, obs: Any, step: int, clock: FakeClock) -> None:
    clock.now += 0.01
    frames.observe(
        obs, reward=1.0, episode=0, episode_step=step, episode_return=float(step), ended=False
    )


def test_the_newest_frame_of_a_stack_is_drawn_scaled_up() -> None:
    stack = _stack(7)
    frame = observation_frame(stack)
    assert frame is not None and frame.shape == (336, 336)
    assert np.all(frame == 7)
    colour = np.zeros((12, 84, 84), np.uint8)
    colour[9:] = np.arange(3, dtype=np.uint8)[:, None, None] + 1
    drawn = observation_frame(colour)
    assert drawn is not None and drawn.shape == (336, 336, 3)
    assert drawn[0, 0].tolist() == [1, 2, 3]  # the last three channels, as RGB


def test_an_image_observation_is_shown_as_it_is() -> None:
    image = np.full((400, 600, 3), 9, np.uint8)
    assert observation_frame(image) is image


def test_a_discrete_state_lights_its_cell_of_a_grid() -> None:
    frame = observation_frame(np.int32(5), discrete_n=16)  # 4 x 4 cells of 64 pixels
    assert frame is not None and frame.shape == (256, 256, 3)
    lit = np.argwhere(frame[:, :, 0] == frame.max())
    assert lit.min(axis=0).tolist() == [65, 65]  # row 1, column 1: state 5
    assert lit.max(axis=0).tolist() == [127, 127]


def test_a_small_vector_is_drawn_as_bars_and_anything_else_is_not_drawn() -> None:
    frame = observation_frame(np.array([3.0, -3.0], np.float32))
    assert frame is not None
    column = frame[:, :, 0]
    assert (column[:, 16] == column.max()).sum() > (column[:, 80] == column.max()).sum()
    assert observation_frame(np.zeros(1000, np.float32)) is None
    assert observation_frame({"obs": 1}) is None
    assert observation_frame(np.zeros((2, 3, 4, 5), np.uint8)) is None


def test_first_result_opens_the_ring_then_frames_only_while_watched(run_id: str) -> None:
    clock = FakeClock()
    frames = _frames(run_id, clock)
    for step in range(50):
        _observe(frames, _stack(step), step, clock)
    assert segment_exists(run_id) and frames.frames_published == 1
    with FastLaneReader.attach(run_id) as reader:
        reader.latest_frame()  # polling tells the writer someone watches
        for step in range(50, 60):
            _observe(frames, _stack(step), step, clock)
        frame = reader.latest_frame(only_new=False)
        assert frame is not None and frame.data.shape == (336, 336)
        assert int(frame.data[0, 0]) == 59 and frame.metrics.episode_step == 59
        assert reader.status().env_slot == 2
        assert frames.last_frame_seq == frame.seq > 1
    frames.close()
    assert not segment_exists(run_id)


def test_the_renderer_is_used_and_a_failing_one_falls_back_to_observations(
    run_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock()
    calls = []

    def render() -> np.ndarray:
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("render not implemented for this environment")
        return np.full((210, 160, 3), 5, np.uint8)

    frames = _frames(run_id, clock, render=render)
    _observe(frames, _stack(1), 1, clock)
    with FastLaneReader.attach(run_id) as reader:
        frame = reader.latest_frame(only_new=False)
        assert frame is not None and frame.data.shape == (210, 160, 3)
        reader.latest_frame()
        _observe(frames, _stack(2), 2, clock)
        frame = reader.latest_frame(only_new=False)
        assert frame is not None and frame.data.shape == (336, 336) and int(frame.data[0, 0]) == 2
    frames.close()
    assert capsys.readouterr().err == ""  # a fallback that works is not worth a line


def test_an_observation_that_cannot_be_drawn_turns_frames_off_with_one_line(
    run_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock()
    frames = _frames(run_id, clock)
    for step in range(5):
        _observe(frames, {"pixels": step}, step, clock)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "slot 2 (test pool) cannot stream frames" in err[0] and "cannot be drawn" in err[0]
    assert not frames.enabled and not segment_exists(run_id)


def test_a_publish_failure_is_reported_once_and_never_raised(
    run_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    frames = _frames(run_id, clock)
    _observe(frames, _stack(0), 0, clock)

    def publish(*args: Any) -> int:
        raise OSError("No space left on device")

    with FastLaneReader.attach(run_id) as reader:
        reader.latest_frame()
        writer = frames._sink.writer
        assert writer is not None
        monkeypatch.setattr(writer, "publish", publish)
        for step in range(1, 20):
            _observe(frames, _stack(step), step, clock)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot stream frames: OSError: No space left" in err[0]
    assert not frames.enabled
    frames.close()
