"""The subcommand dispatcher both console scripts share (``gym-gui-bridge``, ``cleanrl-worker``).

A command is ``name -> (handler, one-line summary)``; a handler takes the arguments after the
command name and the program name to show in its usage (``"gym-gui-bridge runs"``) and returns
the exit status. Imports nothing: handlers import what they need when they run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping

__all__ = ["Handler", "dispatch", "usage"]

Handler = Callable[[list[str], str], int]
#: exit status after the reader of our output went away (128 + SIGPIPE, as a shell reports it)
_EXIT_BROKEN_PIPE = 141


def usage(prog: str, commands: Mapping[str, tuple[Handler, str]], intro: str, epilog: str) -> str:
    """The top-level help: synopsis, ``intro``, one line per command, ``epilog``."""
    width = max(len(name) for name in commands)
    lines = [f"usage: {prog} COMMAND [options]", "", intro, "", "commands:"]
    lines += [f"  {name.ljust(width)}  {summary}" for name, (_, summary) in commands.items()]
    return "\n".join([*lines, "", epilog])


def dispatch(
    prog: str,
    argv: list[str] | None,
    commands: Mapping[str, tuple[Handler, str]],
    *,
    intro: str,
    epilog: str,
    version: str,
) -> int:
    """Run the command named by ``argv[0]`` (default ``sys.argv[1:]``); exit status 2 if unknown.

    Output piped into a reader that stops early (``| head``) ends the command quietly.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    help_text = usage(prog, commands, intro, epilog)
    try:
        if not args or args[0] in {"-h", "--help", "help"}:
            print(help_text)
            return 0
        if args[0] == "--version":
            print(f"{prog} {version}")
            return 0
        name, rest = args[0], args[1:]
        if name not in commands:
            print(f"{prog}: unknown command {name!r}\n\n{help_text}", file=sys.stderr)
            return 2
        return commands[name][0](rest, f"{prog} {name}")
    except BrokenPipeError:
        # the reader is gone: silence the interpreter's final flush of stdout too
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return _EXIT_BROKEN_PIPE
