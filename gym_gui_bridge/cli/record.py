"""``gym-gui-bridge record RUN_ID OUT.mp4``: record what a viewer of the run sees, as H.264 MP4.

Needs the ``record`` extra (PyAV). Exit status 0 with a one-line summary on stdout once the file
is complete; 1 with one line on stderr when nothing could be recorded (no such run within
``--wait``, output not writable, PyAV missing); 2 for a flag out of range.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import tyro

from gym_gui_bridge.cli.arguments import RunId, unset_means
from gym_gui_bridge.errors import BridgeError
from gym_gui_bridge.recording.session import DEFAULT_FPS

if TYPE_CHECKING:
    from gym_gui_bridge.recording.sources import FrameSource

__all__ = ["RecordArgs", "main"]

_EXIT_FAILED = 1
_EXIT_USAGE = 2
#: Default of --wait (seconds): long enough for a run started at the same moment to import
#: torch and build its envs, short enough that a mistyped run id is reported soon.
_DEFAULT_WAIT_S = 10.0


@dataclasses.dataclass(frozen=True)
class RecordArgs:
    """Record a run's frames to an H.264 MP4 file, as a viewer sees them.

    Attaches to the run's fast lane like a viewer (the worker renders the watched slot while
    someone watches, and for nothing more) and encodes the newest frame --fps times a second,
    so the video's time is the run's wall time. Stops at Ctrl-C (the file is finished cleanly),
    after --seconds of video, or when the run ends. Needs the record extra:
    pip install 'cleanrl-fastlane[record]'."""

    run_id: RunId
    """Run to record (gym-gui-bridge fastlanes lists them)."""
    out: Annotated[Path, tyro.conf.Positional, tyro.conf.arg(metavar="OUT.mp4")]
    """Video file to write (replaced if it exists); OUT.mp4.part until it is complete."""
    seconds: Annotated[
        float | None, unset_means("SECONDS", "until Ctrl-C or the end of the run")
    ] = None
    """Length of video to record, from the run's first frame."""
    fps: Annotated[float, tyro.conf.arg(metavar="HZ")] = DEFAULT_FPS
    """Video frame rate: the newest frame is taken this often (the previous one is repeated
    when nothing newer came)."""
    wait: Annotated[float, tyro.conf.arg(metavar="SECONDS")] = _DEFAULT_WAIT_S
    """How long to wait for the run's first frame (its fast lane may not exist yet); then
    exit 1. 'inf' waits for ever."""
    bridge: Annotated[str | None, unset_means("HOST:PORT", "the run's ring on this machine")] = None
    """Record a run of another machine through its bridge (gym-gui-bridge serve there), which
    relays the run's frames (WatchFrames)."""
    token_file: Annotated[str | None, unset_means("FILE", "$FASTLANE_BRIDGE_TOKEN")] = None
    """With --bridge: file whose first line is that bridge's shared token."""
    tls_ca: Annotated[str | None, unset_means("FILE", "plain text")] = None
    """With --bridge: PEM file of the CA (or self-signed certificate) the bridge's TLS
    certificate is checked against; the connection is then TLS."""


def _check(args: RecordArgs) -> str:
    """What is wrong with the flags' values, or ""."""
    if not args.fps > 0 or math.isinf(args.fps):
        return f"Expected --fps > 0, got {args.fps:g}"
    if args.seconds is not None and not args.seconds > 0:
        return f"Expected --seconds > 0, got {args.seconds:g}"
    if not args.wait >= 0:
        return f"Expected --wait >= 0, got {args.wait:g}"
    if args.bridge is None and (args.token_file or args.tls_ca):
        flag = "--token-file" if args.token_file else "--tls-ca"
        return f"Expected {flag} only with --bridge HOST:PORT, got no --bridge"
    return ""


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT (Ctrl-C) or SIGTERM, instead of the default of dying mid-file."""
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _source(args: RecordArgs) -> FrameSource:
    """The run's frames: its ring here, or the relay of the bridge named by --bridge."""
    if args.bridge is None:
        from gym_gui_bridge.recording.sources import RingSource

        return RingSource(args.run_id)
    from gym_gui_bridge.cli.serve import read_token
    from gym_gui_bridge.recording.remote import BridgeSource

    return BridgeSource(
        args.run_id,
        args.bridge,
        fps=args.fps,
        token=read_token(args.token_file),
        tls_ca=args.tls_ca,
    )


def main(argv: list[str], prog: str) -> int:
    args = tyro.cli(RecordArgs, args=argv, prog=prog)
    problem = _check(args)
    if problem:
        print(f"{prog}: {problem}", file=sys.stderr)
        return _EXIT_USAGE
    from gym_gui_bridge.recording.session import record_run

    try:
        source = _source(args)
    except (BridgeError, ImportError, OSError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return _EXIT_FAILED
    try:
        with _stop_on_signals() as stop:
            result = record_run(
                source, args.out, fps=args.fps, seconds=args.seconds, wait_s=args.wait, stop=stop
            )
    except (BridgeError, ImportError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return _EXIT_FAILED
    finally:
        source.close()
    print(result.summary(), flush=True)
    return 0
