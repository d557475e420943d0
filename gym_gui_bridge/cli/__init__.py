"""``gym-gui-bridge``: one command, one subcommand per job.

Subcommands are looked up by name and their module imported only when run, so ``fastlanes`` never
pays for gRPC and nothing but ``view`` imports Qt. Each subcommand module exposes
``main(argv, prog) -> int`` and parses its own flags with tyro.
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["COMMANDS", "main"]

#: name -> (module under gym_gui_bridge.cli, one-line summary)
COMMANDS: dict[str, tuple[str, str]] = {
    "fastlanes": (
        "fastlanes",
        "List live fast-lane segments (run id, writer, size, frames, rate).",
    ),
    "cleanup": ("cleanup", "Remove fast-lane segments whose writer process is gone."),
    "view": ("view", "Watch a run live: frames, HUD and live curves (needs the viewer extra)."),
    "summary": ("summary", "One run at a glance: status, returns per slot, scalars."),
    "runs": ("runs", "List the runs recorded in a database (status, start, episodes)."),
    "episodes": ("episodes", "List a run's finished episodes (slot, episode, return, length)."),
    "steps": ("steps", "List a run's recorded steps (--episode N, --slot K)."),
    "scalars": ("scalars", "List a run's TensorBoard scalars (--tag T)."),
    "export": ("export", "Write a run's records as CSV or JSONL files (--format, --out DIR)."),
    "serve": (
        "serve",
        "Run the bridge: gRPC TrainerService, RunBus, SQLite sink (--listen, --db).",
    ),
    "ingest": ("ingest", "Load JSONL files or an emitter's spool into a database or a bridge."),
}

_PROG = "gym-gui-bridge"


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [
        f"usage: {_PROG} COMMAND [options]",
        "",
        "Watch CleanRL runs live (fast lane) and keep their telemetry (slow lane).",
        "",
        "commands:",
    ]
    lines += [f"  {name.ljust(width)}  {summary}" for name, (_, summary) in COMMANDS.items()]
    lines += ["", f"Run '{_PROG} COMMAND --help' for the options of one command."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(_usage())
        return 0
    if args[0] == "--version":
        from gym_gui_bridge import __version__

        print(f"{_PROG} {__version__}")
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"{_PROG}: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"gym_gui_bridge.cli.{COMMANDS[name][0]}")
    result: int = module.main(rest, prog=f"{_PROG} {name}")
    return result


if __name__ == "__main__":
    sys.exit(main())
