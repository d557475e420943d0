"""``gym-gui-bridge serve``: the bridge daemon (gRPC TrainerService, RunBus, SQLite sink)."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Annotated

import tyro

from gym_gui_bridge.cli.arguments import DbPath, unset_means
from gym_gui_bridge.config.paths import BRIDGE_DEFAULT_LISTEN, DEFAULT_DB_PATH, EMITTER_SPOOL_DIR
from gym_gui_bridge.config.spec import ConfigError
from gym_gui_bridge.errors import BridgeError, StoreError
from gym_gui_bridge.protocol.tokens import check_token, read_token_file

if TYPE_CHECKING:
    from gym_gui_bridge.server.app import Bridge

__all__ = ["TOKEN_ENV", "build_bridge", "main", "read_token"]

#: Environment variable holding the shared token when --token-file is not given.
TOKEN_ENV = "FASTLANE_BRIDGE_TOKEN"


@dataclasses.dataclass(frozen=True)
class ServeArgs:
    """Run the bridge: receive workers' telemetry over gRPC, store it, serve live subscribers."""

    db: DbPath = DEFAULT_DB_PATH
    """SQLite file the bridge owns (its only writer)."""
    listen: Annotated[str, tyro.conf.arg(metavar="HOST:PORT")] = BRIDGE_DEFAULT_LISTEN
    """Address to listen on. Non-loopback needs --allow-remote and a token."""
    config: Annotated[str | None, unset_means("FILE", "none")] = None
    """TOML config file: the [run_bus], [sink], [bridge], [live], [credits] and [relay] tables of
    configs/defaults.toml (docs/configuration.md). A key serve does not read is an error."""
    tls_cert: Annotated[str | None, unset_means("FILE", "no TLS")] = None
    """PEM certificate (chain) to serve gRPC over TLS with; needs --tls-key. Clients then pass
    --tls-ca with the CA (or this certificate, if self-signed)."""
    tls_key: Annotated[str | None, unset_means("FILE", "no TLS")] = None
    """PEM private key of --tls-cert (readable by its owner only)."""
    allow_remote: bool = False
    """Allow a non-loopback listen address (a shared token is then required)."""
    token_file: Annotated[str | None, unset_means("FILE", "$FASTLANE_BRIDGE_TOKEN")] = None
    """File whose first line is the shared token (16 characters or more; the file readable by
    its owner only: chmod 600)."""
    spool_dir: Annotated[str, tyro.conf.arg(metavar="DIR")] = EMITTER_SPOOL_DIR
    """Spool root of the workers on this machine; orphaned spools there are ingested at start."""
    log_level: Annotated[str, tyro.conf.arg(metavar="LEVEL")] = "INFO"
    """Logging level (DEBUG, INFO, WARNING, ERROR)."""


def read_token(token_file: str | None) -> str | None:
    """The shared token: first line of ``token_file``, else $FASTLANE_BRIDGE_TOKEN, else None.

    The bridge process reads its own environment here and only here. A blank variable counts
    as unset.

    Raises:
        BridgeError: the token is shorter than ``MIN_TOKEN_CHARS``, or the file is readable by
            group or others (:func:`~gym_gui_bridge.protocol.tokens.read_token_file`).
        OSError: the file cannot be read.
    """
    if token_file:
        return read_token_file(token_file)
    token = os.environ.get(TOKEN_ENV, "")
    return check_token(token, TOKEN_ENV) if token.strip() else None


_SIGNAL_POLL_S = 0.5  # how often the waiting main thread looks for a stop signal


def build_bridge(args: ServeArgs) -> Bridge:
    """The bridge ``serve`` runs (not started): its flags, token and ``--config`` file.

    Raises:
        ConfigError: the config file is missing, not TOML, or holds a key serve refuses.
        BridgeError: the listen address, the token or the TLS files are refused.
    """
    from gym_gui_bridge.config.loader import load_config
    from gym_gui_bridge.config.programs import ServeConfig
    from gym_gui_bridge.server.app import Bridge, server_credentials  # grpc only when serving

    config = load_config(args.config, ServeConfig)
    if (args.tls_cert is None) != (args.tls_key is None):
        given, missing = (
            ("--tls-cert", "--tls-key") if args.tls_key is None else ("--tls-key", "--tls-cert")
        )
        raise BridgeError(f"Expected {missing} with {given}, got only {given}")
    tls = None
    if args.tls_cert is not None and args.tls_key is not None:
        tls = server_credentials(args.tls_cert, args.tls_key)
    return Bridge(
        args.db,
        args.listen,
        token=read_token(args.token_file),
        allow_remote=args.allow_remote,
        spool_root=args.spool_dir,
        config=config,
        tls=tls,
    )


def main(argv: list[str], prog: str) -> int:
    args = tyro.cli(ServeArgs, args=argv, prog=prog)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s"
    )
    from gym_gui_bridge.server.app import StatusReporter

    db, listen, spool_dir = args.db, args.listen, args.spool_dir
    try:
        bridge = build_bridge(args)
        bridge.start()
    except StoreError as error:
        print(f"{prog}: {error} (--db PATH)", file=sys.stderr)
        return 2
    except (BridgeError, ConfigError, OSError, IndexError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    # the handler only appends to a list: taking a lock in a signal handler (Event.set) can
    # deadlock with the main thread holding that lock inside Event.wait
    signals: list[int] = []
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda signum, _frame: signals.append(signum))
    host = listen.rsplit(":", 1)[0]
    ingest = bridge.spool_ingest
    more = " (more in the background)" if ingest is not None and not ingest.done else ""
    print(
        f"{prog}: listening on {host}:{bridge.port}, db {db}, "
        f"{'TLS, ' if bridge.tls else ''}"
        f"{'token required' if bridge.token_required else 'no token'}; "
        f"ingested {bridge.ingested.accepted} "
        f"spooled records from {spool_dir}{more}",
        file=sys.stderr,
        flush=True,
    )
    status = StatusReporter(bridge)
    status.start()
    # a short sleep, not an untimed Event.wait(): a stop signal runs its handler at once when
    # the kernel delivers it to the main thread, and within _SIGNAL_POLL_S when it picked
    # another thread (gRPC's, the sink's). (The untimed wait hung past 60 s once in CI.)
    while not signals:
        time.sleep(_SIGNAL_POLL_S)
    status.stop()
    flushed = bridge.stop()
    print(
        f"{prog}: stopped, {bridge.sink.stats().written} records written"
        f"{'' if flushed else ' (sink did not flush in time)'}",
        file=sys.stderr,
        flush=True,
    )
    return 0
