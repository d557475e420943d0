"""``gym-gui-bridge fastlanes``: list the fast-lane segments on this machine."""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import Any

import tyro

from gym_gui_bridge.cli.table import print_json, print_table
from gym_gui_bridge.fastlane import SegmentEntry, scan_segments

__all__ = ["main", "segment_rows"]

_COLUMNS = (
    "run_id",
    "slot",
    "pid",
    "alive",
    "size",
    "frames",
    "rate_hz",
    "steps_hz",
    "render",
    "render_ms",
    "age_s",
    "state",
    "watched",
)


@dataclasses.dataclass(frozen=True)
class FastlanesArgs:
    """List your fast-lane segments (run id, writer pid and whether it is alive, frame size,
    frames published, frames published per second next to the env's steps per second, how the
    newest frame was made: in-process, sidecar or screen, and what it cost). Reading the list never counts as watching a run. Names
    under the prefix that are not your regular files are skipped, one line each on stderr."""

    json: bool = False
    """Print a JSON array of objects instead of a table."""
    all: bool = True
    """Include segments whose writer is gone (shown with alive=no); --no-all hides them."""


def segment_rows(entries: list[SegmentEntry]) -> list[dict[str, Any]]:
    now = time.time_ns()
    rows: list[dict[str, Any]] = []
    for entry in entries:
        s = entry.status
        if s is None:
            rows.append(
                {
                    "run_id": entry.run_id,
                    "state": "unreadable",
                    "problem": entry.problem,
                    "segment": entry.name,
                }
            )
            continue
        m = s.latest_metrics
        rows.append(
            {
                "run_id": s.run_id,
                "slot": "grid" if s.env_slot < 0 else s.env_slot,
                "pid": s.writer_pid,
                "alive": "yes" if s.writer_alive else "no",
                "size": f"{s.width}x{s.height}x{s.channels}",
                "frames": s.frames_published,
                "rate_hz": round(s.current_rate_hz(now), 1),
                "steps_hz": round(m.step_rate_hz) if m is not None else 0,
                "render": (m.render_mode or "-") if m is not None else "-",
                "render_ms": round(m.render_ms, 2) if m is not None else 0.0,
                "frames_by": s.frames_by,
                "age_s": round((now - s.created_ns) / 1e9, 1),
                "state": s.state.name.lower(),
                "watched": "yes" if s.watched else "no",
                "generation": s.generation,
                "bytes": s.size_bytes,
                "segment": s.name,
            }
        )
    return rows


def main(argv: list[str], prog: str) -> int:
    args = tyro.cli(FastlanesArgs, args=argv, prog=prog)
    scan = scan_segments()
    for skipped in scan.skipped:
        print(f"{prog}: {skipped.note}", file=sys.stderr)
    entries = scan.entries
    if not args.all:
        entries = [e for e in entries if not e.orphaned]
    rows = segment_rows(entries)
    if args.json:
        print_json(rows)
    elif not rows:
        print("no fast lanes (start a run with FASTLANE=1)")
    else:
        print_table(rows, _COLUMNS)
    return 0
