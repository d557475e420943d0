"""``gym-gui-bridge fastlanes`` and the dispatcher, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from waits import wait_until

from gym_gui_bridge.cli import main
from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneMetrics, FastLaneReader, FastLaneWriter


def test_fastlanes_lists_a_live_run_as_json(
    run_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = FastLaneConfig(width=60, height=40, env_slot=2)

    def listed() -> dict[str, Any]:
        assert main(["fastlanes", "--json"]) == 0
        return {row["run_id"]: row for row in json.loads(capsys.readouterr().out)}[run_id]

    with FastLaneWriter.create(run_id, config) as writer:
        for _ in range(5):
            writer.publish(np.zeros((40, 60, 3), np.uint8), FastLaneMetrics())
        row = listed()
        assert row["slot"] == 2 and row["size"] == "60x40x3" and row["frames"] == 5
        assert row["alive"] == "yes" and row["state"] == "live" and row["watched"] == "no"
        # the rate is the current one: 0 once the writer idled FASTLANE_STALE_PUBLISH_S, which a
        # stalled machine can reach between publishing and listing; a new frame refreshes it
        wait_until(
            lambda: writer.publish(np.zeros((40, 60, 3), np.uint8)) and listed()["rate_hz"] > 0,
            what="a positive publish rate",
        )


def test_fastlanes_table_names_the_columns(run_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    with FastLaneWriter.create(run_id, FastLaneConfig(width=8, height=4)):
        assert main(["fastlanes"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[:6] == ["RUN_ID", "SLOT", "PID", "ALIVE", "SIZE", "FRAMES"]
    assert run_id in out


@pytest.mark.slow
def test_console_script_help_and_unknown_command() -> None:
    exe = [sys.executable, "-m", "gym_gui_bridge.cli"]
    top = subprocess.run([*exe, "--help"], capture_output=True, text=True, timeout=60)
    assert top.returncode == 0 and "fastlanes" in top.stdout and "cleanup" in top.stdout
    sub = subprocess.run([*exe, "cleanup", "--help"], capture_output=True, text=True, timeout=60)
    assert sub.returncode == 0 and "--dry-run" in sub.stdout
    bad = subprocess.run([*exe, "nope"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown command 'nope'" in bad.stderr


@pytest.mark.slow
def test_bridge_cli_import_stays_light() -> None:
    code = (
        "import sys, gym_gui_bridge.cli, gym_gui_bridge.fastlane;"
        "heavy = [m for m in ('PySide6', 'grpc', 'sqlite3', 'torch') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_a_writer_that_stopped_publishing_has_no_current_rate(run_id: str) -> None:
    from gym_gui_bridge.fastlane.layout import FASTLANE_STALE_PUBLISH_S

    with FastLaneWriter.create(run_id, FastLaneConfig(width=8, height=4)) as writer:
        for _ in range(3):
            writer.publish(np.zeros((4, 8, 3), np.uint8))
        with FastLaneReader.attach(run_id, announce=False) as reader:
            status = reader.status()
    assert status.current_rate_hz(status.last_publish_ns) > 0  # right after the last frame
    later = status.last_publish_ns + int(2 * FASTLANE_STALE_PUBLISH_S * 1e9)
    assert status.current_rate_hz(later) == 0.0
