"""``cleanrl-worker run [--bridge ADDR] [--run-id ID] [--db PATH] -- COMMAND ...``: the trainer
telemetry proxy.

It launches COMMAND with the fast-lane variables set (``FASTLANE=1``, ``FASTLANE_RUN_ID``, and
``FASTLANE_BRIDGE`` or ``FASTLANE_DB``), so a CleanRL script records by itself, and it reads the
child's stdout and stderr as bytes, each in its own thread (:mod:`cleanrl_worker.proxy_pump`):

- a stdout line that starts with ``{"v":`` (whitespace allowed) is a telemetry record
  candidate: checked by the strict JSONL decoder, a valid one goes to the bridge through a
  :class:`BridgeEmitter` (disk spool, acknowledged; ``--bridge``) or into the SQLite file
  (``--db``) and is *not* echoed; a malformed one is counted as rejected, logged
  (``LOG_PROXY_RECORD_REJECTED``, rate-limited) and passed through, so nothing the child
  printed disappears;
- every other line of stdout, and all of stderr, is passed through byte for byte and in order
  (binary data, invalid UTF-8, a last line without newline, lines of any length included);
- lines longer than ``JSONL_MAX_LINE_BYTES`` are passed through as they arrive, never buffered
  whole (a record candidate that long counts as rejected: ``too_long``).

Ending. SIGINT and SIGTERM are forwarded to the child (started in its own session, so a
terminal's Ctrl-C reaches it once); a child still running ``--stop-grace`` seconds after the
first one is killed with SIGKILL, with its process group (``LOG_PROXY_CHILD_KILLED``). When the
proxy's stdout or stderr is closed (``cleanrl-worker run ... | head``), the proxy logs
``LOG_PROXY_OUTPUT_CLOSED``, ends the child the same way (SIGTERM, then SIGKILL) and exits 141
(128 + SIGPIPE), as a filter whose reader went away does. On Linux the child is started with
``PR_SET_PDEATHSIG`` = SIGKILL, so a proxy that is itself killed (SIGKILL, OOM) takes the child
along; elsewhere such a child runs on (its output pipes are then closed).

Otherwise the proxy exits with the child's exit code (128 + N if signal N killed it), after a
one-line summary on stderr: records accepted, rejected, dropped. A failure to start (the record
sink cannot open, a token file refused) is one line and exit status 2; a command that cannot be
run, 127.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import tyro

from cleanrl_worker.proxy_pump import Pump, say
from cleanrl_worker.slowlane.record_sink import RecordSink
from gym_gui_bridge.cli.arguments import DbPath, unset_means
from gym_gui_bridge.config.paths import DEFAULT_DB_PATH, EMITTER_SPOOL_DIR
from gym_gui_bridge.config.slowlane import EmitterConfig
from gym_gui_bridge.errors import BridgeError
from gym_gui_bridge.logs import LOG_PROXY_CHILD_KILLED, LOG_PROXY_OUTPUT_CLOSED

if TYPE_CHECKING:
    from gym_gui_bridge.store.sink import SinkStats

__all__ = ["ProxyArgs", "main"]

_PROG = "cleanrl-worker run"
_DRAIN_TIMEOUT_S = 5.0  # longest the proxy waits for the pipes' EOF after the child exited
_POLL_S = 0.05  # how often the waiting main thread looks at signals and the child
_EXIT_SIGNAL_BASE = 128  # shell convention: killed by signal N -> exit status 128 + N
_STOP_GRACE_S = 10.0  # default of --stop-grace: a training script saves and exits well within it
_PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h): signal sent when the parent thread dies


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
    """File whose first line is the bridge's shared token (readable by its owner only)."""
    tls_ca: Annotated[str | None, unset_means("FILE", "$FASTLANE_BRIDGE_TLS_CA, plain text")] = None
    """PEM certificate authority of a TLS bridge's certificate (serve --tls-cert); the child
    gets it as FASTLANE_BRIDGE_TLS_CA."""
    stop_grace: Annotated[float, tyro.conf.arg(metavar="SECONDS")] = _STOP_GRACE_S
    """How long the child may take to exit after SIGTERM/SIGINT before it is killed."""


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


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" not in argv:
        return argv, []
    cut = argv.index("--")
    return argv[:cut], argv[cut + 1 :]


def _die_with_parent() -> Callable[[], None] | None:
    """The child's pre-exec step on Linux: SIGKILL when the proxy dies (``PR_SET_PDEATHSIG``);
    a proxy already gone by then kills the child at once. None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before the fork
    except (OSError, AttributeError):
        return None
    parent, kill = os.getpid(), int(signal.SIGKILL)

    def arm() -> None:  # in the child between fork and exec: two system calls, no lock taken
        prctl(_PR_SET_PDEATHSIG, kill, 0, 0, 0)
        if os.getppid() != parent:  # the proxy died before prctl took effect
            os.kill(os.getpid(), kill)

    return arm


class _Ending:
    """Ends the child: the first request forwards a signal, ``grace`` s later SIGKILL follows
    (to the child's process group: it leads its own session). Used from the main thread only;
    signal handlers and pumps only append to :attr:`requests` (no lock taken in a handler)."""

    def __init__(self, child: subprocess.Popen[bytes], grace: float) -> None:
        self._child, self._grace = child, grace
        self.requests: list[int] = []  # signals to forward, appended by handlers and pumps
        self.output_closed = False  # set by a pump whose output pipe was closed
        self._deadline: float | None = None
        self.killed = False

    def on_output_closed(self, broken: bool) -> None:
        """A pump could not write its output: a closed pipe ends the child."""
        if broken and not self.output_closed:
            self.output_closed = True
            self.requests.append(signal.SIGTERM)
        elif not broken:
            say(f"{_PROG}: writing the child's output failed; records are still taken")

    def step(self) -> None:
        """Forward pending signals; kill the child once the grace period ran out."""
        while self.requests:
            number = self.requests.pop(0)
            if self._child.poll() is not None:
                return
            if self._deadline is None:
                self._deadline = time.monotonic() + self._grace
                if self.output_closed:
                    say(f"{LOG_PROXY_OUTPUT_CLOSED} {_PROG}: output closed, ending the child")
            os.kill(self._child.pid, number)
        if self._deadline is not None and not self.killed and time.monotonic() >= self._deadline:
            if self._child.poll() is None:
                say(
                    f"{LOG_PROXY_CHILD_KILLED} {_PROG}: the child outlived SIGTERM by "
                    f"{self._grace:g} s (--stop-grace); killed"
                )
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._child.pid, signal.SIGKILL)
            self.killed = True

    def wait(self) -> int:
        """The child's exit status, once it exited; handles requests meanwhile."""
        while True:
            self.step()
            try:
                return self._child.wait(_POLL_S)
            except subprocess.TimeoutExpired:
                continue


def _open_sink(
    args: ProxyArgs, run_id: str, env: dict[str, str], config: EmitterConfig
) -> RecordSink:
    """The record sink of ``args`` (not started); sets the child's variables in ``env``."""
    if not args.bridge:
        env["FASTLANE_DB"] = args.db
        return _DbSink(args.db)
    from cleanrl_worker.emitter.emitter import BridgeEmitter
    from gym_gui_bridge.protocol.tokens import check_token, read_token_file

    env["FASTLANE_BRIDGE"] = args.bridge
    token = env.get("FASTLANE_BRIDGE_TOKEN", "").strip() or None  # the child inherits it too
    if args.token_file:
        token = read_token_file(args.token_file)
    elif token is not None:
        token = check_token(token, "FASTLANE_BRIDGE_TOKEN")
    if token:
        env["FASTLANE_BRIDGE_TOKEN"] = token
    tls_ca = args.tls_ca or env.get("FASTLANE_BRIDGE_TLS_CA", "").strip() or None
    if tls_ca:
        tls_ca = env["FASTLANE_BRIDGE_TLS_CA"] = os.path.abspath(tls_ca)
    return BridgeEmitter(
        args.bridge,
        run_id,
        spool_root=args.spool_dir,
        token=token,
        tls_ca=tls_ca,
        name="proxy-emitter",
        spool_name=f"{run_id}.proxy",
        config=config,
    )


def main(argv: list[str], prog: str = _PROG) -> int:
    # the command is cut off at the first "--" before parsing, so none of its own flags (--db,
    # --help, a second "--") can be taken for the proxy's
    own, command = _split(argv)
    args = tyro.cli(ProxyArgs, args=own, prog=prog)
    if args.command or not command:
        got = f"{' '.join(args.command)!r} before --" if args.command else "none"
        print(f"{prog}: expected a command after --, got {got}", file=sys.stderr)
        return 2
    if not args.stop_grace >= 0:
        print(
            f"{prog}: --stop-grace: expected seconds >= 0, got {args.stop_grace}", file=sys.stderr
        )
        return 2
    run_id = args.run_id or f"proxy-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    env = {**os.environ, "FASTLANE": "1", "FASTLANE_RUN_ID": run_id}
    emitting = EmitterConfig()  # the proxy reads no config file: its emitter has the defaults
    where = args.bridge or args.db
    try:
        sink = _open_sink(args, run_id, env, emitting)
    except (BridgeError, OSError) as error:  # the token
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    try:
        sink.start()
    except (BridgeError, OSError, RuntimeError, sqlite3.Error) as error:
        print(f"{prog}: cannot record to {where}: {error}", file=sys.stderr)
        return 2
    try:
        child = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent(),  # prctl only, see _die_with_parent
        )
    except OSError as error:
        sink.close(emitting.close_timeout_s)
        print(f"{prog}: cannot start {command[0]!r}: {error}", file=sys.stderr)
        return 127
    assert child.stdout is not None and child.stderr is not None
    ending = _Ending(child, args.stop_grace)
    pumps = [
        Pump(
            "stdout",
            child.stdout,
            sys.stdout.buffer,
            sink,
            emitting.log_interval_s,
            ending.on_output_closed,
        ),
        Pump(
            "stderr",
            child.stderr,
            sys.stderr.buffer,
            None,
            emitting.log_interval_s,
            ending.on_output_closed,
        ),
    ]
    for pump in pumps:
        pump.start()
    forward = lambda number, _frame: ending.requests.append(number)  # noqa: E731
    previous = {n: signal.signal(n, forward) for n in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = ending.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    for pump in pumps:
        pump.stop(_DRAIN_TIMEOUT_S)
    stored = sink.close(emitting.close_timeout_s)
    stats = pumps[0].decoder.stats
    say(
        f"{prog}: run {run_id}: records accepted {stats.accepted}, rejected {stats.rejected}, "
        f"dropped {sink.dropped}; {'all stored' if stored else 'NOT all stored yet (see spool)'} "
        f"-> {where}"
    )
    if ending.output_closed:
        return _EXIT_SIGNAL_BASE + signal.SIGPIPE
    return code if code >= 0 else _EXIT_SIGNAL_BASE - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], _PROG))
