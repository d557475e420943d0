"""``cleanrl-worker run [--bridge ADDR] [--run-id ID] [--db PATH] -- COMMAND ...``: the trainer
telemetry proxy.

It launches COMMAND with the fast-lane variables set (``FASTLANE=1``, ``FASTLANE_RUN_ID``, and
``FASTLANE_BRIDGE`` or ``FASTLANE_DB``), so a CleanRL script records by itself, and it reads the
child's stdout and stderr as bytes, each in its own thread:

- a stdout line that starts with ``{"v":`` (whitespace allowed) is a telemetry record candidate: checked by the strict
  JSONL decoder, a valid one goes to the bridge through a :class:`BridgeEmitter` (disk spool,
  acknowledged; ``--bridge``) or into the SQLite file (``--db``) and is *not* echoed; a malformed
  one is counted as rejected, logged (``LOG_PROXY_RECORD_REJECTED``, rate-limited) and passed
  through, so nothing the child printed disappears;
- every other line of stdout, and all of stderr, is passed through byte for byte and in order
  (invalid UTF-8, a last line without newline, lines of any length included);
- lines longer than ``JSONL_MAX_LINE_BYTES`` are passed through as they arrive, never buffered
  whole (a record candidate that long counts as rejected: ``too_long``).

SIGINT and SIGTERM are forwarded to the child (started in its own session, so a terminal's
Ctrl-C reaches it once). The proxy exits with the child's exit code (128 + N if signal N
killed it) after a one-line summary on stderr: records accepted, rejected, dropped.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Annotated

import tyro

from cleanrl_worker.slowlane.record_sink import RecordSink
from gym_gui_bridge.cli.arguments import DbPath, unset_means
from gym_gui_bridge.config.paths import DEFAULT_DB_PATH, EMITTER_SPOOL_DIR
from gym_gui_bridge.config.slowlane import EmitterConfig
from gym_gui_bridge.logs import LOG_PROXY_RECORD_REJECTED, LogThrottle
from gym_gui_bridge.protocol.jsonl import JsonlDecoder
from gym_gui_bridge.protocol.limits import JSONL_MAX_LINE_BYTES

if TYPE_CHECKING:
    from gym_gui_bridge.store.sink import SinkStats

__all__ = ["ProxyArgs", "main"]

_RECORD_START = re.compile(rb'\s*\{\s*"v"\s*:')  # a record's first key is "v" (docs/records.md)
_READ_BYTES = 1 << 16  # bytes read from a pipe at a time
_DRAIN_TIMEOUT_S = 5.0  # longest the proxy waits for the pipes' EOF after the child exited
_EXIT_SIGNAL_BASE = 128  # shell convention: killed by signal N -> exit status 128 + N


@dataclasses.dataclass(frozen=True)
class ProxyArgs:
    """Run COMMAND (after --), forward its JSONL telemetry, pass every other line through.

    Example: cleanrl-worker run --db runs/fastlane.sqlite -- python ppo.py --env-id CartPole-v1"""

    command: Annotated[
        tuple[str, ...],
        tyro.conf.Positional,
        tyro.conf.arg(metavar="-- COMMAND [ARG ...]", help_behavior_hint="(required)"),
    ] = ()
    """The command to run and its arguments, after --."""
    bridge: Annotated[str | None, unset_means("HOST:PORT", "write into --db")] = None
    """A running bridge to ship the records to."""
    run_id: Annotated[str | None, unset_means("RUN_ID", "proxy-<time>-<pid>")] = None
    """Run id given to the child (FASTLANE_RUN_ID)."""
    db: DbPath = DEFAULT_DB_PATH
    """SQLite file for the records when no bridge is given."""
    spool_dir: Annotated[str, tyro.conf.arg(metavar="DIR")] = EMITTER_SPOOL_DIR
    """Root of the emitter's disk spool (with --bridge)."""
    token_file: Annotated[str | None, unset_means("FILE", "$FASTLANE_BRIDGE_TOKEN")] = None
    """File whose first line is the bridge's shared token."""


class _DbSink:
    """A record sink writing into SQLite in this process (RunBus + TelemetryDBSink): the bus's
    durable path takes bursts of the child's output into memory instead of refusing them."""

    def __init__(self, db_path: str) -> None:
        from gym_gui_bridge.bus.run_bus import RunBus
        from gym_gui_bridge.store.sink import TelemetryDBSink

        self._bus = RunBus()
        self._sink = TelemetryDBSink(self._bus, db_path, name="proxy-db-sink")
        self.put = self._bus.publish

    def start(self) -> None:
        self._sink.start()

    def flush(self, timeout: float | None = None) -> bool:
        return self._sink.flush(timeout)

    def close(self, timeout: float) -> bool:
        return self._sink.stop(timeout)

    def stats(self) -> SinkStats:
        return self._sink.stats()

    @property
    def dropped(self) -> int:
        return self._sink.stats().lost


class _Pump:
    """Thread ``proxy-<stream>``: copies one pipe of the child, taking records out of stdout."""

    def __init__(
        self,
        name: str,
        source: IO[bytes],
        target: IO[bytes],
        sink: RecordSink | None,
        log_interval_s: float,
    ) -> None:
        self.decoder = JsonlDecoder()
        self._source, self._target, self._sink = source, target, sink
        self._throttle = LogThrottle(log_interval_s)
        self._thread = threading.Thread(target=self._run, name=f"proxy-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        fd, out = self._source.fileno(), self._target
        pending = b""  # start of a line not yet complete
        oversize = None  # None, or whether the over-long line being passed through is a candidate
        while True:
            chunk = os.read(fd, _READ_BYTES)
            if not chunk:
                break
            data, start, passed = pending + chunk, 0, []
            while True:
                newline = data.find(b"\n", start)
                if newline < 0:
                    break
                line = data[start : newline + 1]
                start = newline + 1
                if oversize is not None:
                    passed.append(line)  # end of an over-long line: already counted
                    oversize = None
                elif self._consume(line) is False:
                    passed.append(line)
            pending = data[start:]
            if len(pending) > JSONL_MAX_LINE_BYTES:
                if oversize is None and self._candidate(pending):
                    self._reject("too_long")
                oversize = oversize if oversize is not None else True
                passed.append(pending)
                pending = b""
            if passed:
                out.write(b"".join(passed))
                out.flush()
        # a last line without newline
        if pending and (oversize is not None or self._consume(pending) is False):
            out.write(pending)
        out.flush()

    def _candidate(self, line: bytes) -> bool:
        return self._sink is not None and _RECORD_START.match(line) is not None

    def _consume(self, line: bytes) -> bool:
        """True if ``line`` was a record handed to the sink; False: pass it through."""
        if not self._candidate(line):
            return False
        record = self.decoder.decode(line)
        if record is None:
            if self._throttle.ready("rejected"):
                print(
                    f"{LOG_PROXY_RECORD_REJECTED} {self.decoder.stats.last_error}",
                    file=sys.stderr,
                    flush=True,
                )
            return False
        assert self._sink is not None
        self._sink.put(record)
        return True

    def _reject(self, code: str) -> None:
        stats = self.decoder.stats
        stats.rejected += 1
        stats.reasons[code] = stats.reasons.get(code, 0) + 1


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" not in argv:
        return argv, []
    cut = argv.index("--")
    return argv[:cut], argv[cut + 1 :]


def main(argv: list[str], prog: str) -> int:
    # the command is cut off at the first "--" before parsing, so none of its own flags (--db,
    # --help, a second "--") can be taken for the proxy's
    own, command = _split(argv)
    args = tyro.cli(ProxyArgs, args=own, prog=prog)
    if args.command or not command:
        got = f"{' '.join(args.command)!r} before --" if args.command else "none"
        print(f"{prog}: expected a command after --, got {got}", file=sys.stderr)
        return 2
    run_id = args.run_id or f"proxy-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    env = {**os.environ, "FASTLANE": "1", "FASTLANE_RUN_ID": run_id}
    emitting = EmitterConfig()  # the proxy reads no config file: its emitter has the defaults
    sink: RecordSink
    if args.bridge:
        from cleanrl_worker.emitter.emitter import BridgeEmitter

        env["FASTLANE_BRIDGE"] = args.bridge
        token = env.get("FASTLANE_BRIDGE_TOKEN")  # the child inherits it too
        if args.token_file:
            with open(args.token_file, encoding="utf-8") as handle:
                token = handle.readline().strip() or None
            if token:
                env["FASTLANE_BRIDGE_TOKEN"] = token
        sink = BridgeEmitter(
            args.bridge,
            run_id,
            spool_root=args.spool_dir,
            token=token,
            name="proxy-emitter",
            spool_name=f"{run_id}.proxy",
            config=emitting,
        )
    else:
        env["FASTLANE_DB"] = args.db
        sink = _DbSink(args.db)
    sink.start()
    try:
        child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True
        )
    except OSError as error:
        sink.close(emitting.close_timeout_s)
        print(f"{prog}: cannot start {command[0]!r}: {error}", file=sys.stderr)
        return 127
    assert child.stdout is not None and child.stderr is not None
    pumps = [
        _Pump("stdout", child.stdout, sys.stdout.buffer, sink, emitting.log_interval_s),
        _Pump("stderr", child.stderr, sys.stderr.buffer, None, emitting.log_interval_s),
    ]
    for pump in pumps:
        pump.start()
    forward = lambda number, _frame: child.send_signal(number)  # noqa: E731
    previous = {n: signal.signal(n, forward) for n in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = child.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    for pump in pumps:
        pump.stop(_DRAIN_TIMEOUT_S)
    stored = sink.close(emitting.close_timeout_s)
    stats = pumps[0].decoder.stats
    lost = sink.dropped
    where = args.bridge or args.db
    print(
        f"{prog}: run {run_id}: records accepted {stats.accepted}, rejected {stats.rejected}, "
        f"dropped {lost}; {'all stored' if stored else 'NOT all stored yet (see spool)'} "
        f"-> {where}",
        file=sys.stderr,
        flush=True,
    )
    return code if code >= 0 else _EXIT_SIGNAL_BASE - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], "cleanrl-worker run"))
