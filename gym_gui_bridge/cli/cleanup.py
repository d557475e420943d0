"""``gym-gui-bridge cleanup``: remove segments whose writer process is gone."""

from __future__ import annotations

import dataclasses
import sys

import tyro

from gym_gui_bridge.fastlane import cleanup_segments, scan_segments

__all__ = ["main"]


@dataclasses.dataclass(frozen=True)
class CleanupArgs:
    """Remove your fast-lane segments whose writer process is gone, and those never set up by a
    writer. Live runs are never touched, nor anything under the prefix that is not your regular
    file (skipped, one line each on stderr)."""

    dry_run: bool = False
    """Only list what would be removed."""


def main(argv: list[str], prog: str) -> int:
    args = tyro.cli(CleanupArgs, args=argv, prog=prog)
    scan = scan_segments()
    for skipped in scan.skipped:
        print(f"{prog}: {skipped.note}", file=sys.stderr)
    removed = cleanup_segments(dry_run=args.dry_run, scan=scan)
    verb = "would remove" if args.dry_run else "removed"
    for entry in removed:
        pid = entry.status.writer_pid if entry.status else "?"
        reason = entry.problem or f"writer pid {pid} is gone"
        print(f"{verb} {entry.name} ({reason})")
    print(f"{verb} {len(removed)} segment(s)")
    return 0
