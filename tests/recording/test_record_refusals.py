"""``gym-gui-bridge record`` refuses what it cannot do, with one line naming the flag or file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from gym_gui_bridge.cli import main

    try:
        status = main(["record", *argv])
    except SystemExit as stop:
        status = int(stop.code or 0)
    return status, capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fps", "0"], "Expected --fps > 0, got 0"),
        (["--seconds", "-1"], "Expected --seconds > 0, got -1"),
        (
            ["--token-file", "t"],
            "Expected --token-file only with --bridge HOST:PORT, got no --bridge",
        ),
    ],
)
def test_flags_out_of_range_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = _main(["some-run", str(tmp_path / "x.mp4"), *argv], capsys)
    assert (status, err.strip()) == (2, f"gym-gui-bridge record: {message}")
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_output_is_reported_before_waiting_for_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no-such-folder" / "x.mp4"
    status, err = _main(["no-such-run", str(target), "--wait", "inf"], capsys)
    assert status == 1
    assert err.strip() == (
        f"gym-gui-bridge record: cannot write the video {target}: No such file or directory"
    )


def test_a_run_that_never_shows_up_is_reported_after_the_wait(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = f"absent-{os.getpid()}"
    status, err = _main([run, str(tmp_path / "x.mp4"), "--wait", "0.2"], capsys)
    assert status == 1
    assert err.startswith(f"gym-gui-bridge record: no frame from run '{run}' within 0.2 s: ")
    assert "no fast lane for run" in err
    assert list(tmp_path.iterdir()) == []
