"""Key r records what the window shows to an MP4; r again finishes a file PyAV decodes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from video_helpers import H264_TOLERANCE, read_video
from waits import WAIT_MS

from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneWriter
from gym_gui_bridge.viewer.consumer import FastLaneConsumer
from gym_gui_bridge.viewer.main_window import ViewerWindow

SHADES = (40, 200)  # first frame, then a second one published while recording


def _frame(shade: int) -> np.ndarray:
    return np.full((24, 32, 3), shade, np.uint8)


def _window(qtbot: QtBot, run_id: str) -> ViewerWindow:
    window = ViewerWindow(FastLaneConsumer(run_id))
    qtbot.addWidget(window)
    window.show()
    window.start()
    qtbot.waitExposed(window)
    return window


def test_key_r_records_the_frames_shown_to_a_playable_mp4(
    qtbot: QtBot, run_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    writer = FastLaneWriter.create(run_id, FastLaneConfig(32, 24))
    window = _window(qtbot, run_id)
    try:
        writer.publish(_frame(SHADES[0]))
        qtbot.waitUntil(lambda: window.consumer.frames_shown >= 1, timeout=WAIT_MS)
        window.frame_widget.setFocus()

        qtbot.keyClick(window.frame_widget, Qt.Key.Key_R)
        assert window.recording.active and window.record_action.isChecked()
        path = window.recording.path
        assert path is not None and path.name.startswith(f"{run_id}-") and path.suffix == ".mp4"
        assert window.record_label.text() == f"recording {path}"
        qtbot.waitUntil(lambda: window.recording.frames >= 5, timeout=WAIT_MS)
        writer.publish(_frame(SHADES[1]))
        qtbot.waitUntil(lambda: window.consumer.frames_shown >= 2, timeout=WAIT_MS)
        shown_at = window.recording.frames
        qtbot.waitUntil(lambda: window.recording.frames >= shown_at + 5, timeout=WAIT_MS)

        qtbot.keyClick(window.frame_widget, Qt.Key.Key_R)
        assert not window.recording.active and not window.record_action.isChecked()
        assert window.record_label.text() == ""
        frames = window.recording.frames
    finally:
        window.close()
        writer.close()

    video = read_video(tmp_path / path)
    assert (video.width, video.height) == (32, 24)
    assert len(video.frames) == frames
    levels = [float(frame.mean()) for frame in video.frames]
    first_bright = next(i for i, level in enumerate(levels) if level > 120)
    assert first_bright >= 5  # the first frame, repeated until the second came
    for index, level in enumerate(levels):
        shade = SHADES[0] if index < first_bright else SHADES[1]
        assert abs(level - shade) < H264_TOLERANCE, f"video frame {index}"


def test_closing_the_window_finishes_the_recording(
    qtbot: QtBot, run_id: str, tmp_path: Path
) -> None:
    writer = FastLaneWriter.create(run_id, FastLaneConfig(32, 24))
    window = _window(qtbot, run_id)
    target = tmp_path / "closing.mp4"
    try:
        writer.publish(_frame(90))
        qtbot.waitUntil(lambda: window.consumer.frames_shown >= 1, timeout=WAIT_MS)
        assert window.toggle_record(target) == target
        qtbot.waitUntil(lambda: window.recording.frames >= 3, timeout=WAIT_MS)
    finally:
        window.close()
        writer.close()
    assert not window.recording.active
    assert len(read_video(target).frames) >= 3


def test_a_path_that_cannot_be_written_is_reported_and_nothing_records(
    qtbot: QtBot, run_id: str, tmp_path: Path
) -> None:
    window = _window(qtbot, run_id)
    target = tmp_path / "missing" / "x.mp4"
    try:
        assert window.toggle_record(target) is None
        assert not window.recording.active and not window.record_action.isChecked()
        assert window.statusBar().currentMessage() == (
            f"cannot record: cannot write the video {target}: No such file or directory"
        )
    finally:
        window.close()
