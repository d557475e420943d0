"""``gym-gui-bridge view --snapshot`` end to end, in real processes; the CLI without Qt."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from waits import WAIT_S

pytestmark = pytest.mark.slow  # every test here starts processes

CLI = [sys.executable, "-m", "gym_gui_bridge.cli"]
TIMEOUT_S = WAIT_S * 2  # above the snapshot's own timeout


@pytest.fixture
def view(
    tmp_path: Path, child_env: Callable[..., dict[str, str]]
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``gym-gui-bridge view ARGS`` offscreen in a child process."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, "view", *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            cwd=tmp_path,
            env=child_env(QT_QPA_PLATFORM="offscreen"),
        )

    return run


def test_snapshot_saves_the_window_with_the_frame(
    tmp_path: Path,
    run_id: str,
    spawn_writer: Callable[..., subprocess.Popen[str]],
    view: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    spawn_writer(run_id, "--width", "600", "--height", "400", "--color", "255,0,255")
    target = tmp_path / "shot.png"
    done = view(
        run_id,
        "--snapshot",
        str(target),
        "--snapshot-timeout",
        str(WAIT_S),
        "--db",
        str(tmp_path / "none.sqlite"),
    )
    assert done.returncode == 0, done.stderr
    assert f"saved {target}" in done.stdout
    image = QImage(str(target))
    assert not image.isNull()
    magenta = sum(
        image.pixelColor(x, y).getRgb()[:3] == (255, 0, 255)
        for x in range(0, image.width(), 10)
        for y in range(0, image.height(), 10)
    )
    assert magenta > 0.3 * (image.width() // 10) * (image.height() // 10)


def test_snapshot_saves_at_its_timeout_what_it_has_and_says_what_is_missing(
    tmp_path: Path,
    run_id: str,
    spawn_writer: Callable[..., subprocess.Popen[str]],
    view: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    # one frame, then the next in 100 s: no frame published while the viewer watches comes
    spawn_writer(run_id, "--width", "60", "--height", "40", "--color", "255,0,255", "--fps", "0.01")
    target = tmp_path / "stale.png"
    done = view(run_id, "--snapshot", str(target), "--snapshot-timeout", "1", "--db", "none.sqlite")
    assert done.returncode == 0, done.stderr
    assert f"saved {target} (run {run_id}, frame 1," in done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "saving after 1 s (--snapshot-timeout)" in lines[0]
    assert "no frame newer than frame 1" in lines[0] and "live panel" not in lines[0]
    assert not QImage(str(target)).isNull()


def test_snapshot_without_a_frame_fails_clearly_within_its_timeout(
    tmp_path: Path, run_id: str, view: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    target = tmp_path / "never.png"
    done = view(run_id, "--snapshot", str(target), "--snapshot-timeout", "1")
    assert done.returncode == 1
    assert f"no frame from run '{run_id}' within 1 s" in done.stderr
    assert "fastlane-unavailable" in done.stderr
    assert not target.exists()


@pytest.mark.slow
@pytest.mark.parametrize("args", [[], ["some-run", "--snapshot", "out.png"]])
def test_without_a_display_it_explains_the_two_ways_out(
    tmp_path: Path, args: list[str], child_env: Callable[..., dict[str, str]]
) -> None:
    env = child_env()
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(name, None)
    done = subprocess.run(
        [*CLI, "view", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 2  # not Qt's abort (134)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "no display" in lines[0]
    assert "QT_QPA_PLATFORM=offscreen gym-gui-bridge view --snapshot out.png" in lines[0]
    assert "xvfb-run gym-gui-bridge view" in lines[0]
    assert not (tmp_path / "out.png").exists()


def test_missing_pyside6_gives_the_install_command(
    tmp_path: Path, child_env: Callable[..., dict[str, str]]
) -> None:
    code = (
        "import sys; sys.modules['PySide6'] = None\n"
        "from gym_gui_bridge.cli import main\n"
        "sys.exit(main(['view', 'some-run']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        cwd=tmp_path,
        env=child_env(),
    )
    assert done.returncode == 1
    assert "pip install 'cleanrl-fastlane[viewer]'" in done.stderr


def test_importing_the_package_and_its_cli_does_not_import_qt(
    tmp_path: Path, child_env: Callable[..., dict[str, str]]
) -> None:
    code = (
        "import sys\n"
        "import gym_gui_bridge, gym_gui_bridge.cli, gym_gui_bridge.cli.view\n"
        "import gym_gui_bridge.viewer, gym_gui_bridge.viewer.live_controller\n"
        "from gym_gui_bridge.cli import COMMANDS\n"
        "assert 'view' in COMMANDS\n"
        "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        cwd=tmp_path,
        env=child_env(),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
