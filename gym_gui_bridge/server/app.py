"""The bridge process: gRPC server + RunBus + the SQLite sink, spool ingest, status, shutdown.

Start-up: open the database (the sink is its only writer), ingest orphaned spools for at most
``BRIDGE_STARTUP_INGEST_S`` (the rest in the background), then listen. Shutdown
(:meth:`Bridge.stop`, SIGTERM/SIGINT in ``serve``): stop the spool ingest, refuse new calls, end
publishing streams once their published batches are answered, flush the sink, close.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
import sys
import threading
import time
from concurrent import futures
from pathlib import Path
from typing import TextIO

import grpc

from gym_gui_bridge.bus.run_bus import RunBus
from gym_gui_bridge.config.programs import ServeConfig
from gym_gui_bridge.errors import BridgeError
from gym_gui_bridge.logs import LOG_BRIDGE_STATUS
from gym_gui_bridge.protocol.tokens import MIN_TOKEN_CHARS, check_token
from gym_gui_bridge.protocol.wire import channel_options
from gym_gui_bridge.relay.hub import FrameRelay
from gym_gui_bridge.server.channel import read_pem
from gym_gui_bridge.server.service import TokenInterceptor, TrainerServicer
from gym_gui_bridge.store.ingest import IngestResult, SpoolIngest
from gym_gui_bridge.store.sink import TelemetryDBSink

__all__ = ["Bridge", "StatusReporter", "is_loopback", "server_credentials"]

_log = logging.getLogger(__name__)


def is_loopback(listen: str) -> bool:
    """True if ``HOST:PORT`` listens on a loopback address only.

    >>> is_loopback("127.0.0.1:50055"), is_loopback("localhost:1"), is_loopback("0.0.0.0:1")
    (True, True, False)
    """
    host = listen.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server_credentials(cert_file: str | Path, key_file: str | Path) -> grpc.ServerCredentials:
    """TLS credentials of a bridge from a PEM certificate (chain) and its private key.

    Raises:
        BridgeError: a file is missing, unreadable or not PEM (the message names the flag), or
            the key does not belong to the certificate.
    """
    cert = read_pem(cert_file, "--tls-cert")
    key = read_pem(key_file, "--tls-key")
    try:  # grpc would only fail at the first handshake: check the pair now
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert_file, key_file)
    except ssl.SSLError as error:
        raise BridgeError(
            f"--tls-key: expected the private key of the certificate {cert_file}, "
            f"got {key_file} ({error.reason or error})"
        ) from None
    return grpc.ssl_server_credentials([(key, cert)])


class Bridge:
    """A running bridge. ``port`` is the bound port (useful with ``HOST:0``).

    ``config`` holds the tunables of every component the bridge builds: its RunBus, sink,
    service, live subscribers and their credits, the frame relay (what ``serve --config FILE``
    loads). ``tls`` (from :func:`server_credentials`) makes it listen with TLS only.

    Raises:
        BridgeError: ``token`` is shorter than ``MIN_TOKEN_CHARS``; ``listen`` is not loopback
            and ``allow_remote`` or the token is missing; ``allow_remote`` without a token.
    """

    def __init__(
        self,
        db_path: str | Path,
        listen: str,
        *,
        token: str | None = None,
        allow_remote: bool = False,
        spool_root: str | Path | None = None,
        config: ServeConfig = ServeConfig(),
        tls: grpc.ServerCredentials | None = None,
    ) -> None:
        if token is not None:
            token = check_token(token, "the bridge token")
        if not is_loopback(listen) and not (allow_remote and token):
            raise BridgeError(
                f"Expected a loopback listen address, got {listen}: listening beyond this machine "
                "needs --allow-remote and a shared token (--token-file or FASTLANE_BRIDGE_TOKEN)"
            )
        if allow_remote and not token:
            raise BridgeError(
                "Expected a shared token with --allow-remote (--token-file FILE or "
                f"FASTLANE_BRIDGE_TOKEN, {MIN_TOKEN_CHARS} characters or more), got none"
            )
        self.listen = listen
        self.config = config
        self.bus = RunBus(config.run_bus)
        # every record on this bus comes from the JSONL decoders (publishing streams, spools)
        self.sink = TelemetryDBSink(self.bus, db_path, config=config.sink, decoded=True)
        self.relay = FrameRelay(config.relay)
        self.servicer = TrainerServicer(
            self.bus,
            self.sink,
            config.bridge,
            live=config.live,
            credits=config.credits,
            relay=self.relay,
        )
        self._token = token
        self._tls = tls
        self._spool_root = spool_root
        self._server: grpc.Server | None = None
        self.port = 0
        self.ingested = IngestResult()  # the start-up spool ingest's, updated as it goes
        self.spool_ingest: SpoolIngest | None = None

    @property
    def tls(self) -> bool:
        """Whether the bridge listens with TLS."""
        return self._tls is not None

    @property
    def token_required(self) -> bool:
        """Whether calls must carry the shared token."""
        return bool(self._token)

    def start(self) -> None:
        self.sink.start()
        limits = self.config.bridge
        if self._spool_root is not None:
            self.spool_ingest = SpoolIngest(
                self._spool_root, self.bus, self.sink, limits.quarantine_per_batch
            )
            self.ingested = self.spool_ingest.result
            self.spool_ingest.run_for(limits.startup_ingest_s)
        interceptors = [TokenInterceptor(self._token, limits.log_interval_s)] if self._token else []
        # every publisher, subscriber and frame watch holds a thread for its whole stream, plus
        # unary calls
        relay = self.config.relay
        workers = limits.max_publishers + limits.max_subscribers + relay.max_watches + 8
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bridge-rpc"),
            handlers=[self.servicer.generic_handler()],
            interceptors=interceptors,
            options=channel_options(),
            maximum_concurrent_rpcs=workers,
        )
        if self._tls is not None:
            self.port = server.add_secure_port(self.listen, self._tls)
        else:
            self.port = server.add_insecure_port(self.listen)
        if self.port == 0:
            if self.spool_ingest is not None:
                self.spool_ingest.stop()
            self.sink.stop()
            raise BridgeError(f"Expected to listen on {self.listen}, the address is not available")
        server.start()
        self._server = server
        if self.spool_ingest is not None:
            self.spool_ingest.start()  # what the start-up budget left, while serving

    def stop(self, grace: float | None = None) -> bool:
        """Stop accepting, answer what was published, flush the sink. True if all flushed.

        ``grace`` (default ``BRIDGE_STOP_GRACE_S``) bounds the wait for streams; the sink then
        gets ``DB_SINK_STOP_TIMEOUT_S`` to flush.
        """
        if grace is None:
            grace = self.config.bridge.stop_grace_s
        if self.spool_ingest is not None:
            self.spool_ingest.stop()
        self.servicer.stopping.set()
        self.relay.close()  # ends every WatchFrames stream at once: frames are never flushed
        if self._server is not None:
            self._server.stop(grace).wait(grace + 1.0)
        return self.sink.stop()


class StatusReporter:
    """Thread ``bridge-status``: a live line on a terminal, a periodic log line otherwise."""

    def __init__(self, bridge: Bridge, stream: TextIO = sys.stderr) -> None:
        self._bridge, self._stream = bridge, stream
        self._tty = stream.isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bridge-status", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        if self._tty:
            self._stream.write("\n")

    def line(self, rate: float) -> str:
        h = self._bridge.servicer.health()
        lost = sum(s.dropped for s in self._bridge.bus.overflow_stats().values())
        viewers = sum(self._bridge.relay.viewers().values())
        return (
            f"{LOG_BRIDGE_STATUS} runs {h.runs} publishers {h.publishers} "
            f"subscribers {h.subscribers} viewers {viewers} | "
            f"{rate:,.0f} rec/s | stored {h.sink_written:,} rejected {h.records_rejected:,} "
            f"dropped {h.records_dropped:,} | sink queue {h.sink_queue_depth:,} | "
            f"live drops {lost:,} | WAL {h.wal_bytes / 1e6:.1f} MB"
        )

    def _run(self) -> None:
        limits = self._bridge.config.bridge
        interval = limits.status_interval_s if self._tty else limits.status_log_interval_s
        last_count, last_time = 0, time.monotonic()
        while not self._stop.wait(interval):
            try:
                now, count = time.monotonic(), self._bridge.sink.stats().written
                line = self.line((count - last_count) / max(now - last_time, 1e-9))
                last_count, last_time = count, now
                if self._tty:
                    self._stream.write("\r\x1b[2K" + line)
                    self._stream.flush()
                else:
                    _log.info("%s", line)
            except Exception:  # the thread's boundary: a status line is never worth dying for
                _log.exception("status line failed")
