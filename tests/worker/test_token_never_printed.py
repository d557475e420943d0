"""The bridge token (FASTLANE_BRIDGE_TOKEN) is never printed: ``cleanrl-worker settings`` shows it
as set / unset, and neither the worker's banner nor its error or warning lines contain it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from worker_helpers import RANDOM_AGENT, WAIT_S, clean_env

pytestmark = pytest.mark.slow  # every test runs cleanrl-worker or a script

CLI = str(Path(sys.executable).parent / "cleanrl-worker")
SECRET = "s3cret-Token-4f9a"


def _run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=clean_env(**env), cwd=cwd, capture_output=True, text=True, timeout=WAIT_S
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_settings_show_the_token_as_set_in_text_and_json(tmp_path: Path) -> None:
    text = _run([CLI, "settings"], tmp_path, FASTLANE_BRIDGE_TOKEN=SECRET)
    as_json = _run([CLI, "settings", "--json"], tmp_path, FASTLANE_BRIDGE_TOKEN=SECRET)
    assert text.returncode == as_json.returncode == 0, text.stderr + as_json.stderr
    assert "bridge_token" in text.stdout and "= set  (FASTLANE_BRIDGE_TOKEN)" in text.stdout
    assert json.loads(as_json.stdout)["bridge_token"] == "set"
    for result in (text, as_json):
        assert SECRET not in result.stdout + result.stderr


def test_settings_show_an_absent_token_as_unset(tmp_path: Path) -> None:
    text = _run([CLI, "settings"], tmp_path)
    as_json = _run([CLI, "settings", "--json"], tmp_path)
    assert "= unset  (default)" in text.stdout
    assert json.loads(as_json.stdout)["bridge_token"] == "unset"


@pytest.mark.parametrize(
    "bad", [{"FASTLANE_SLOT": "two"}, {"FASTLANE_BRIDGE": "nowhere"}, {"FASTLANE_CONFIG": "x.toml"}]
)
def test_error_lines_never_hold_the_token(tmp_path: Path, bad: dict[str, str]) -> None:
    settings = _run([CLI, "settings"], tmp_path, FASTLANE_BRIDGE_TOKEN=SECRET, **bad)
    script = _run(
        [sys.executable, "-c", "print('the script ran')"],
        tmp_path,
        FASTLANE="1",
        FASTLANE_BRIDGE_TOKEN=SECRET,
        **bad,
    )
    for result in (settings, script):
        assert result.returncode == 2
        assert "error: " in result.stderr and SECRET not in result.stdout + result.stderr


def test_a_run_shipping_to_an_unreachable_bridge_never_prints_the_token(tmp_path: Path) -> None:
    config = tmp_path / "quick.toml"  # no bridge answers: give up on the spool quickly at exit
    config.write_text("[emitter]\nEMITTER_CLOSE_TIMEOUT_S = 0.5\nEMITTER_LOG_INTERVAL_S = 0.0\n")
    result = _run(
        [sys.executable, str(RANDOM_AGENT), "--total-timesteps", "200"],
        tmp_path,
        FASTLANE="1",
        FASTLANE_BRIDGE=f"127.0.0.1:{_closed_port()}",
        FASTLANE_BRIDGE_TOKEN=SECRET,
        FASTLANE_CONFIG=str(config),
    )
    assert result.returncode == 0, result.stderr
    assert "cleanrl-fastlane: run " in result.stderr and "telemetry to bridge" in result.stderr
    assert "kept in" in result.stderr  # the spool warning at exit was printed, without the token
    assert SECRET not in result.stdout + result.stderr
