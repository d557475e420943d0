"""Mp4Recorder: frames in, an H.264 MP4 that PyAV decodes back to the same pictures."""

from __future__ import annotations

import builtins
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from video_helpers import H264_TOLERANCE, read_video

from gym_gui_bridge.errors import EncoderUnavailableError, RecordingError
from gym_gui_bridge.recording import Mp4Recorder, check_writable


def _pattern(shade: int, height: int = 48, width: int = 64) -> np.ndarray:
    """A flat picture with a marker: background ``shade``, a white square whose place moves."""
    frame = np.full((height, width, 3), shade, np.uint8)
    x = (shade // 8) % (width - 16)
    frame[8:24, x : x + 16] = 255
    return frame


def test_each_frame_added_is_one_video_frame_with_the_same_picture(tmp_path: Path) -> None:
    frames = [_pattern(shade) for shade in range(0, 240, 8)]
    out = tmp_path / "clip.mp4"
    recorder = Mp4Recorder.open(out, width=64, height=48, fps=30)
    for frame in frames:
        recorder.add(frame)
    assert recorder.close() == out

    video = read_video(out)
    assert video.codec == "h264"
    assert (video.width, video.height) == (64, 48)
    assert video.rate == 30
    assert len(video.frames) == len(frames)
    assert video.seconds == pytest.approx(len(frames) / 30, abs=0.05)
    for index, frame in enumerate(frames):
        assert video.mean_error(index, frame) < H264_TOLERANCE, f"frame {index}"


def test_odd_edges_are_padded_and_gray_and_rgba_frames_become_rgb(tmp_path: Path) -> None:
    gray = np.full((47, 63), 200, np.uint8)
    rgba = np.zeros((47, 63, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 220, 255
    out = tmp_path / "odd.mp4"
    recorder = Mp4Recorder.open(out, width=63, height=47, fps=10)
    assert recorder.size == (64, 48)
    recorder.add(gray)
    recorder.add(rgba)
    recorder.close()

    video = read_video(out)
    assert (video.width, video.height) == (64, 48)
    inner = (slice(0, 44), slice(0, 60))  # away from the padding (chroma is shared by 2x2)
    assert video.mean_error(0, np.full((44, 60, 3), 200, np.uint8)) < H264_TOLERANCE
    red = video.frames[1][inner].astype(int)
    assert abs(red[..., 0].mean() - 220) < H264_TOLERANCE
    assert red[..., 1].mean() < H264_TOLERANCE and red[..., 2].mean() < H264_TOLERANCE
    assert video.frames[0][47, :, :].mean() < 40  # the padding row is black (up to bleed)


def test_a_frame_of_another_size_is_drawn_top_left_on_the_video_canvas(tmp_path: Path) -> None:
    out = tmp_path / "resized.mp4"
    recorder = Mp4Recorder.open(out, width=64, height=48, fps=10)
    recorder.add(np.full((48, 64, 3), 90, np.uint8))
    recorder.add(np.full((24, 32, 3), 250, np.uint8))  # smaller: black around it
    recorder.add(np.full((96, 128, 3), 160, np.uint8))  # larger: cropped
    recorder.close()

    video = read_video(out)
    assert len(video.frames) == 3
    small = video.frames[1].astype(int)
    assert abs(small[:20, :28].mean() - 250) < H264_TOLERANCE
    assert small[28:, 36:].mean() < H264_TOLERANCE
    assert video.mean_error(2, np.full((48, 64, 3), 160, np.uint8)) < H264_TOLERANCE


def test_the_file_appears_complete_or_not_at_all(tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    recorder = Mp4Recorder.open(out, width=32, height=32, fps=30)
    for shade in range(40):
        recorder.add(np.full((32, 32, 3), shade, np.uint8))
    assert recorder.partial_path.exists() and not out.exists()
    recorder.close()
    assert out.exists() and not recorder.partial_path.exists()
    assert len(read_video(out).frames) == 40


def test_a_recorder_without_frames_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "empty.mp4"
    recorder = Mp4Recorder.open(out, width=32, height=32, fps=30)
    with pytest.raises(RecordingError, match="no frame was recorded"):
        recorder.close()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["missing folder", "folder is a file", "a folder"])
def test_a_path_that_cannot_be_written_is_refused_at_once(tmp_path: Path, where: str) -> None:
    (tmp_path / "file").write_text("x")
    target = {
        "missing folder": tmp_path / "nope" / "out.mp4",
        "folder is a file": tmp_path / "file" / "out.mp4",
        "a folder": tmp_path,
    }[where]
    with pytest.raises(RecordingError, match="video"):
        check_writable(target)
    if where != "a folder":
        with pytest.raises(RecordingError, match=f"cannot write the video {target}"):
            Mp4Recorder.open(target, width=32, height=32, fps=30)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_without_pyav_the_error_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_av(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "av" or name.startswith("av."):
            raise ImportError("No module named 'av'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "av")
    monkeypatch.setattr(builtins, "__import__", no_av)
    with pytest.raises(EncoderUnavailableError, match=r"pip install 'cleanrl-fastlane\[record\]'"):
        Mp4Recorder.open(tmp_path / "x.mp4", width=32, height=32, fps=30)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (np.zeros((32, 32, 2), np.uint8), "HxWx"),
        (np.zeros((32, 32, 3), np.float32), "uint8"),
    ],
)
def test_a_frame_that_is_not_an_image_is_refused(
    tmp_path: Path, frame: np.ndarray, message: str
) -> None:
    recorder = Mp4Recorder.open(tmp_path / "x.mp4", width=32, height=32, fps=30)
    with pytest.raises(ValueError, match=message):
        recorder.add(frame)
    recorder.discard()
    assert list(tmp_path.iterdir()) == []
