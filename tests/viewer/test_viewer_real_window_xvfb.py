"""A real viewer window on a real X server (Xvfb): the screen shows the frame, the right way up,
and real key presses (XTEST, via xdotool) save a PNG and quit.

Needs Xvfb, xdotool and the xcb libraries (scripts/apt-packages.txt; .ci/run installs them).
"""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage
from waits import WAIT_S

pytestmark = pytest.mark.slow  # every test here starts processes

SCREEN = (1280, 800)
START_TIMEOUT_S = WAIT_S
SHOT_TIMEOUT_S = WAIT_S
RED, BLUE = (250, 0, 0), (0, 0, 250)
FRAME_W, FRAME_H = 600, 400


@pytest.fixture
def xvfb_display() -> Iterator[str]:
    """A fresh Xvfb on a display number it picks itself (``-displayfd``)."""
    binary = shutil.which("Xvfb")
    assert binary, "Xvfb is missing: apt-get install -y $(cat scripts/apt-packages.txt)"
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        [
            binary,
            "-displayfd",
            str(write_fd),
            "-screen",
            "0",
            f"{SCREEN[0]}x{SCREEN[1]}x24",
            "-nolisten",
            "tcp",
            "-noreset",
        ],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        selector = selectors.DefaultSelector()
        selector.register(read_fd, selectors.EVENT_READ)
        assert selector.select(START_TIMEOUT_S), "Xvfb did not report its display"
        number = os.read(read_fd, 64).decode().strip()
        assert number.isdigit(), f"Xvfb said {number!r}"
        yield f":{number}"
    finally:
        os.close(read_fd)
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


def _pixels(path: Path) -> np.ndarray:
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), np.uint8, count=stride * height)
    return raw.reshape(height, stride)[:, : width * 3].reshape(height, width, 3).copy()


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def test_real_window_under_xvfb_shows_the_frame_and_obeys_real_keys(
    xvfb_display: str,
    tmp_path: Path,
    run_id: str,
    spawn_writer: Callable[..., subprocess.Popen[str]],
    child_env: Callable[..., dict[str, str]],
) -> None:
    spawn_writer(
        run_id,
        "--width",
        str(FRAME_W),
        "--height",
        str(FRAME_H),
        "--color",
        ",".join(map(str, RED)),
        "--color2",
        ",".join(map(str, BLUE)),
        "--fps",
        "30",
    )
    env = child_env(DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb")
    log = (tmp_path / "viewer.log").open("w")
    viewer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gym_gui_bridge.cli",
            "view",
            run_id,
            "--db",
            str(tmp_path / "no.sqlite"),
        ],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    shot = tmp_path / "screen.png"
    try:
        deadline = time.monotonic() + SHOT_TIMEOUT_S
        pixels = np.zeros((1, 1, 3), np.uint8)
        while time.monotonic() < deadline:
            assert viewer.poll() is None, (tmp_path / "viewer.log").read_text()
            subprocess.run(
                [sys.executable, str(Path(__file__).with_name("screenshot_process.py")), str(shot)],
                env=env,
                timeout=SHOT_TIMEOUT_S,
                check=True,
            )
            pixels = _pixels(shot)
            red = np.all(pixels == RED, axis=2)
            blue = np.all(pixels == BLUE, axis=2)
            if red.sum() > 1000 and blue.sum() > 1000:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the frame never appeared on {xvfb_display}; see {shot}")
        assert pixels.shape[:2] == (SCREEN[1], SCREEN[0])
        rx0, ry0, rx1, ry1 = _bbox(red)
        bx0, by0, bx1, by1 = _bbox(blue)
        assert rx1 <= bx0 + 1  # red is the left half, blue the right: not mirrored
        width, height = bx1 - rx0, max(ry1, by1) - min(ry0, by0)
        assert abs(width / height - FRAME_W / FRAME_H) < 0.02  # aspect ratio kept
        assert abs((rx1 - rx0) - (bx1 - bx0)) <= 2  # two equal halves
        assert width > FRAME_W * 0.5  # scaled to the window, not a thumbnail

        xdotool = shutil.which("xdotool")
        assert xdotool, "xdotool is missing: apt-get install -y $(cat scripts/apt-packages.txt)"
        found = subprocess.run(
            [xdotool, "search", "--name", "gym-gui-bridge view"],
            env=env,
            capture_output=True,
            text=True,
            timeout=SHOT_TIMEOUT_S,
            check=True,
        )
        window = found.stdout.split()[0]
        subprocess.run([xdotool, "windowfocus", "--sync", window], env=env, timeout=10, check=True)
        subprocess.run([xdotool, "key", "s"], env=env, timeout=10, check=True)
        deadline = time.monotonic() + SHOT_TIMEOUT_S
        while time.monotonic() < deadline:  # the PNG may still be being written: wait until whole
            saved = list(tmp_path.glob(f"viewer-{run_id}-*.png"))
            if len(saved) == 1 and not QImage(str(saved[0])).isNull():
                break
            time.sleep(0.1)
        else:
            pytest.fail("pressing s saved no readable PNG")
        subprocess.run([xdotool, "key", "q"], env=env, timeout=10, check=True)
        assert viewer.wait(SHOT_TIMEOUT_S) == 0
    finally:
        viewer.terminate()
        try:
            viewer.wait(10)
        except subprocess.TimeoutExpired:
            viewer.kill()
            viewer.wait(10)
        log.close()
