"""``gym-gui-bridge view RUN --bridge HOST:PORT``, all in real processes: a worker publishing
frames and telemetry, ``gym-gui-bridge serve``, and the viewer in its own mount namespace with
a private, empty /dev/shm, so it cannot read the run's ring: what it shows came through the
bridge. A refused token and an unreachable bridge end in one line and a non-zero exit."""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from bridge_helpers import free_port, rows_stored, start_bridge, stop_bridge
from PySide6.QtGui import QImage
from remote_view_helpers import TOKEN
from waits import WAIT_S, wait_until

from gym_gui_bridge.fastlane import _shm, create_fastlane_name

pytestmark = pytest.mark.slow  # every test here starts processes

WORKER = Path(__file__).with_name("remote_worker_process.py")
CLI = [sys.executable, "-m", "gym_gui_bridge.cli"]
LEFT, RIGHT = (255, 0, 255), (0, 200, 100)  # the worker's frame: two halves
SLOT_COLOURS = ((0x4E, 0x9A, 0xF1), (0xF1, 0xA9, 0x4E))  # the live panel's slots 0 and 1
JPEG_TOLERANCE = 24  # per channel, away from the edge between the halves


def _first_line(proc: subprocess.Popen[str]) -> str:
    """The child's first line of output, or "" if none comes within WAIT_S."""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
        return proc.stdout.readline() if selector.select(WAIT_S) else ""  # type: ignore[union-attr]


def _namespaced(command: list[str]) -> list[str]:
    """``command`` run in a new mount namespace whose /dev/shm is a fresh, empty tmpfs."""
    script = 'mount -t tmpfs tmpfs /dev/shm && test -z "$(ls -A /dev/shm)" && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, "sh", *command]


needs_unshare = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="needs root and unshare(1) for a private /dev/shm",
)


@pytest.fixture
def bridge(tmp_path: Path, child_env: Callable[..., dict[str, str]]) -> Iterator[int]:
    """A ``gym-gui-bridge serve`` requiring TOKEN on 127.0.0.1; yields its port."""
    port = free_port()
    env = child_env(FASTLANE_BRIDGE_TOKEN=TOKEN)
    proc = start_bridge(tmp_path / "bridge.sqlite", port, tmp_path / "bridge-spool", env=env)
    try:
        yield port
    finally:
        assert stop_bridge(proc) == 0


@pytest.fixture
def worker(
    tmp_path: Path, run_id: str, bridge: int, child_env: Callable[..., dict[str, str]]
) -> Iterator[subprocess.Popen[str]]:
    """The worker of ``run_id`` publishing to ``bridge``, once its first frame is out."""
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), run_id, f"127.0.0.1:{bridge}", str(tmp_path / "spool")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(FASTLANE_BRIDGE_TOKEN=TOKEN),
    )
    try:
        line = _first_line(proc)
        assert line.startswith("ready"), f"worker did not start: {line!r}"
        yield proc
    finally:
        if proc.poll() is None:
            proc.stdin.close()  # type: ignore[union-attr]  # ends it; killed if it hangs
            try:
                proc.wait(WAIT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(WAIT_S)
        _shm.unlink(create_fastlane_name(run_id))


def _view(
    args: list[str], env: dict[str, str], cwd: Path, *, namespaced: bool = False
) -> subprocess.CompletedProcess[str]:
    command = [*CLI, "view", *args]
    return subprocess.run(
        _namespaced(command) if namespaced else command,
        capture_output=True,
        text=True,
        timeout=WAIT_S * 2,
        cwd=cwd,
        env=env,
    )


def _pixels(path: Path) -> np.ndarray:
    """The PNG at ``path`` as an ``H x W x 3`` int array."""
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    assert not image.isNull(), f"no image at {path}"
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1)
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).astype(int)


def _near(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: int) -> np.ndarray:
    """Mask of the pixels within ``tolerance`` of ``colour`` in every channel."""
    return np.all(np.abs(pixels - np.array(colour)) <= tolerance, axis=-1)


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box ``(x0, y0, x1, y1)`` (inclusive) of the true pixels of ``mask``."""
    ys, xs = np.nonzero(mask)
    assert xs.size, "no such pixel in the snapshot"
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


@needs_unshare
def test_a_viewer_that_cannot_see_the_ring_shows_its_frame_and_curves_through_the_bridge(
    tmp_path: Path,
    run_id: str,
    bridge: int,
    worker: subprocess.Popen[str],
    child_env: Callable[..., dict[str, str]],
) -> None:
    db = tmp_path / "bridge.sqlite"
    wait_until(lambda: rows_stored(db, run_id, "episodes") >= 4, what="episodes stored")
    wait_until(lambda: rows_stored(db, run_id, "scalars") >= 2, what="scalars stored")
    target = tmp_path / "remote.png"
    flags = ["--snapshot", str(target), "--snapshot-timeout", str(WAIT_S)]
    done = _view(
        [run_id, "--bridge", f"127.0.0.1:{bridge}", *flags],
        child_env(QT_QPA_PLATFORM="offscreen", FASTLANE_BRIDGE_TOKEN=TOKEN),
        tmp_path,
        namespaced=True,
    )
    assert done.returncode == 0, done.stderr
    assert f"saved {target} (run {run_id}, frame " in done.stdout
    assert "--snapshot-timeout" not in done.stderr  # saved complete, not at the timeout
    pixels = _pixels(target)
    # the frame: left half LEFT, right half RIGHT, side by side, of the ring's 3:2 shape
    lx0, ly0, lx1, ly1 = _box(_near(pixels, LEFT, JPEG_TOLERANCE))
    rx0, ry0, rx1, ry1 = _box(_near(pixels, RIGHT, JPEG_TOLERANCE))
    assert lx1 < rx0 <= lx1 + 6
    width, height = rx1 - lx0 + 1, max(ly1, ry1) - min(ly0, ry0) + 1
    assert abs(width / height - 600 / 400) < 0.03
    # each half's lower part (the HUD covers the top left) is its colour, pixel for pixel
    for (x0, y0, x1, y1), colour in (((lx0, ly0, lx1, ly1), LEFT), ((rx0, ry0, rx1, ry1), RIGHT)):
        lower = pixels[(y0 + y1) // 2 : y1 - 3, x0 + 4 : x1 - 3]
        assert lower.size and _near(lower, colour, JPEG_TOLERANCE).all(), colour
    # the live panel, right of the frame: a return curve for each slot
    panel = pixels[:, rx1 + 8 :]
    for colour in SLOT_COLOURS:
        assert _near(panel, colour, 12).sum() >= 50, f"no curve of colour {colour}"


def test_a_missing_or_wrong_token_is_one_line_naming_the_token(
    tmp_path: Path, run_id: str, bridge: int, child_env: Callable[..., dict[str, str]]
) -> None:
    env = child_env(QT_QPA_PLATFORM="offscreen")
    env.pop("FASTLANE_BRIDGE_TOKEN", None)
    address = f"127.0.0.1:{bridge}"
    missing = _view([run_id, "--bridge", address, "--snapshot", "out.png"], env, tmp_path)
    assert missing.returncode == 1
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1, missing.stderr
    assert f"the bridge at {address} requires its token" in lines[0]
    assert "FASTLANE_BRIDGE_TOKEN" in lines[0] and "--token-file" in lines[0]
    wrong = tmp_path / "wrong-token"
    wrong.write_text("a-wrong-token-of-enough-length\n")
    wrong.chmod(0o600)
    refused = _view([run_id, "--bridge", address, "--token-file", str(wrong)], env, tmp_path)
    assert refused.returncode == 1  # the window does not open either
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert f"refused the token from --token-file {wrong}" in lines[0]
    assert not (tmp_path / "out.png").exists()


def test_an_unreachable_bridge_is_one_line_with_snapshot(
    tmp_path: Path, run_id: str, child_env: Callable[..., dict[str, str]]
) -> None:
    address = f"127.0.0.1:{free_port()}"
    done = _view(
        [run_id, "--bridge", address, "--snapshot", "out.png"],
        child_env(QT_QPA_PLATFORM="offscreen"),
        tmp_path,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"no answer from the bridge at {address}" in lines[0]
    assert not (tmp_path / "out.png").exists()
