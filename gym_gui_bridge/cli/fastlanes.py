"""``gym-gui-bridge fastlanes``: list the fast-lane segments on this machine."""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import Annotated, Any

import tyro

from gym_gui_bridge.cli.arguments import unset_means
from gym_gui_bridge.cli.table import print_json, print_table
from gym_gui_bridge.errors import BridgeError
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
    "age_s",
    "state",
    "watched",
)
_REMOTE_COLUMNS = (
    "run_id",
    "slot",
    "alive",
    "size",
    "frames",
    "rate_hz",
    "state",
    "watched",
    "viewers",
)
_CALL_TIMEOUT_S = 10.0


@dataclasses.dataclass(frozen=True)
class FastlanesArgs:
    """List your fast-lane segments (run id, writer pid and whether it is alive, frame size,
    frames published, publish rate). Reading the list never counts as watching a run. Names
    under the prefix that are not your regular files are skipped, one line each on stderr.
    With --bridge, list the fast lanes of that bridge's machine instead, with the viewers it
    relays each to."""

    json: bool = False
    """Print a JSON array of objects instead of a table."""
    all: bool = True
    """Include segments whose writer is gone (shown with alive=no); --no-all hides them."""
    bridge: Annotated[str | None, unset_means("HOST:PORT", "this machine")] = None
    """A running bridge whose machine's fast lanes to list (ListFastLanes)."""
    token_file: Annotated[str | None, unset_means("FILE", "$FASTLANE_BRIDGE_TOKEN")] = None
    """File whose first line is that bridge's shared token."""
    tls_ca: Annotated[str | None, unset_means("FILE", "plain text")] = None
    """PEM certificate authority to check a TLS bridge's certificate with (serve --tls-cert)."""


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
        rows.append(
            {
                "run_id": s.run_id,
                "slot": "grid" if s.env_slot < 0 else s.env_slot,
                "pid": s.writer_pid,
                "alive": "yes" if s.writer_alive else "no",
                "size": f"{s.width}x{s.height}x{s.channels}",
                "frames": s.frames_published,
                "rate_hz": round(s.current_rate_hz(now), 1),
                "age_s": round((now - s.created_ns) / 1e9, 1),
                "state": s.state.name.lower(),
                "watched": "yes" if s.watched else "no",
                "generation": s.generation,
                "bytes": s.size_bytes,
                "segment": s.name,
            }
        )
    return rows


def remote_rows(address: str, token: str | None, tls_ca: str | None) -> list[dict[str, Any]]:
    """The rows of the bridge at ``address``'s fast lanes (ListFastLanes).

    Raises:
        BridgeError: the bridge could not be reached or refused the call.
    """
    import grpc

    from gym_gui_bridge.proto import trainer_pb2 as pb
    from gym_gui_bridge.server.client import connect

    stub = connect(address, token=token, tls_ca=tls_ca)
    try:
        answer = stub.ListFastLanes(pb.ListFastLanesRequest(), timeout=_CALL_TIMEOUT_S)
    except grpc.RpcError as error:
        raise BridgeError(
            f"Expected a bridge at {address}, got {error.code().name}: {error.details()}"
        ) from None
    return [
        {
            "run_id": f.run_id,
            "slot": "grid" if f.env_slot < 0 else f.env_slot,
            "alive": "yes" if f.writer_alive else "no",
            "size": f"{f.width}x{f.height}x{f.channels}",
            "frames": f.frames_published,
            "rate_hz": round(f.publish_rate_hz, 1),
            "state": f.state,
            "watched": "yes" if f.watched else "no",
            "viewers": f.remote_viewers,
        }
        for f in answer.fastlanes
    ]


def _main_remote(args: FastlanesArgs, prog: str) -> int:
    from gym_gui_bridge.cli.serve import read_token

    assert args.bridge is not None
    try:
        rows = remote_rows(args.bridge, read_token(args.token_file), args.tls_ca)
    except (BridgeError, OSError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 1
    if not args.all:
        rows = [row for row in rows if row["alive"] == "yes"]
    if args.json:
        print_json(rows)
    elif not rows:
        print(f"no fast lanes on the machine of the bridge at {args.bridge}")
    else:
        print_table(rows, _REMOTE_COLUMNS)
    return 0


def main(argv: list[str], prog: str) -> int:
    args = tyro.cli(FastlanesArgs, args=argv, prog=prog)
    if args.bridge is not None:
        return _main_remote(args, prog)
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
