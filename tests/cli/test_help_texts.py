"""Every command's ``--help`` reads like documentation: named placeholders (``RUN_ID``, ``PATH``,
never ``STR`` or ``{None}|INT``), one default per option, no flag that does nothing, exit 0."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from cleanrl_worker import cli as worker_cli
from gym_gui_bridge import cli as bridge_cli

Main = Callable[[list[str]], int]

#: (program, arguments) of every help text a user can ask for
HELP_CALLS: list[tuple[str, Main, list[str]]] = [
    ("gym-gui-bridge", bridge_cli.main, ["--help"]),
    *[
        (f"gym-gui-bridge {name}", bridge_cli.main, [name, "--help"])
        for name in bridge_cli.COMMANDS
    ],
    ("cleanrl-worker", worker_cli.main, ["--help"]),
    *[
        (f"cleanrl-worker {name}", worker_cli.main, [name, "--help"])
        for name in worker_cli.COMMANDS
    ],
]
#: the commands whose first positional argument is a recorded run
RUN_ID_COMMANDS = ("summary", "episodes", "steps", "scalars", "export")
#: placeholders tyro derives from a type when nobody named the value
TYPE_PLACEHOLDER = re.compile(r"\b(STR|INT|FLOAT)\b|\{None\}")


def _help(main: Main, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The help text ``main(argv)`` prints; fails unless it exits with status 0."""
    try:
        status = main(argv)
    except SystemExit as stop:  # tyro exits after printing a subcommand's help
        status = 0 if stop.code is None else stop.code
    out, err = capsys.readouterr()
    assert status == 0, err
    return out


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed width, so a long placeholder is never wrapped apart."""
    monkeypatch.setenv("COLUMNS", "120")


@pytest.mark.parametrize(("prog", "main", "argv"), HELP_CALLS, ids=[c[0] for c in HELP_CALLS])
def test_help_names_every_value_and_states_each_default_once(
    prog: str, main: Main, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help(main, argv, capsys)
    assert text.strip(), f"{prog} --help printed nothing"
    assert not TYPE_PLACEHOLDER.search(text), f"{prog}: unnamed placeholder in\n{text}"
    assert "(default: None)" not in text
    assert "Default:" not in text  # a default written into the help and added by tyro again
    assert "not available" not in text


@pytest.mark.parametrize("command", RUN_ID_COMMANDS)
def test_run_commands_take_a_run_id(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    usage = _help(bridge_cli.main, [command, "--help"], capsys).splitlines()[0]
    assert usage.startswith(f"usage: gym-gui-bridge {command} ")
    assert " RUN_ID" in usage


def test_view_takes_an_optional_run_id_and_a_bridge_with_its_token_and_ca(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = _help(bridge_cli.main, ["view", "--help"], capsys)
    assert "[RUN_ID]" in text.splitlines()[0]
    for flag in ("--bridge HOST:PORT", "--token-file FILE", "--tls-ca FILE", "--lossless"):
        assert flag in text
    assert "$FASTLANE_BRIDGE_TOKEN" in text


def test_ingest_names_its_path(capsys: pytest.CaptureFixture[str]) -> None:
    usage = _help(bridge_cli.main, ["ingest", "--help"], capsys).splitlines()[0]
    assert usage.endswith(" PATH")


def test_run_usage_shows_the_command_after_two_dashes(capsys: pytest.CaptureFixture[str]) -> None:
    usage = _help(worker_cli.main, ["run", "--help"], capsys).splitlines()[0]
    assert usage == "usage: cleanrl-worker run [-h] [OPTIONS] -- COMMAND [ARG ...]"


def test_run_refuses_a_command_given_without_two_dashes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert worker_cli.main(["run", "python", "train.py"]) == 2
    err = capsys.readouterr().err
    assert "expected a command after --, got 'python train.py' before --" in err


def test_run_refuses_no_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert worker_cli.main(["run", "--db", "unused.sqlite", "--"]) == 2
    assert "expected a command after --, got none" in capsys.readouterr().err
