"""The browser view's HTTP listener: an aiohttp server on its own thread and event loop.

``gym-gui-bridge serve --http HOST:PORT`` starts one inside the bridge process. It reads what
the bridge already has (the store through reader connections, the RunBus, the servicer's
counters, the frame relay) and adds no lane of its own. aiohttp is the one package that gives
the HTTP server, streamed responses and WebSockets together, with no separate ASGI server.

The address follows the gRPC listener's rule: loopback only, unless ``allow_remote`` and the
bridge has a token. With TLS files (``--tls-cert``/``--tls-key``) it serves HTTPS with them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
from typing import TYPE_CHECKING

from aiohttp import web

from gym_gui_bridge.config.spec import ConfigError
from gym_gui_bridge.config.web import WebConfig
from gym_gui_bridge.errors import BridgeError
from gym_gui_bridge.server.app import is_loopback
from gym_gui_bridge.web.auth import auth_middleware
from gym_gui_bridge.web.frames import FrameStreams
from gym_gui_bridge.web.metrics import BridgeCollector, registry_for
from gym_gui_bridge.web.routes import WebContext, build_app

if TYPE_CHECKING:
    from gym_gui_bridge.relay import FrameRelay
    from gym_gui_bridge.server.app import Bridge

__all__ = ["WebServer", "split_address", "tls_context"]

_log = logging.getLogger(__name__)
_START_TIMEOUT_S = 10.0  # longest start() waits for the listener to bind
_SHUTDOWN_S = 1.0  # how long open requests get to end before they are cancelled at stop
_DEFAULT_CONFIG = WebConfig()


def split_address(listen: str) -> tuple[str, int]:
    """``(host, port)`` of ``HOST:PORT`` (IPv6 hosts in brackets).

    >>> split_address("127.0.0.1:8080"), split_address("[::1]:0")
    (('127.0.0.1', 8080), ('::1', 0))

    Raises:
        BridgeError: no port, or it is not an integer in 0..65535.
    """
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise BridgeError(f"Expected --http HOST:PORT (e.g. 127.0.0.1:8080), got {listen!r}")
    return host.strip("[]"), int(port)


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server-side TLS context from PEM files (the same files the gRPC listener uses).

    Raises:
        BridgeError: a file is missing or not a matching certificate and key.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as error:
        raise BridgeError(
            f"Expected a PEM certificate in --tls-cert {cert} and its key in --tls-key {key}, "
            f"got {error}"
        ) from None
    return context


class WebServer:
    """The HTTP listener of a bridge; thread ``bridge-web``. ``port`` is the bound port.

    Args:
        bridge: the running bridge whose store, counters and relay are shown.
        listen: ``HOST:PORT`` to listen on (port 0: any free port).
        token: the bridge's shared token, or None.
        allow_remote: a non-loopback address is allowed (a token is then required).
        relay: the bridge's frame relay, or None (the frame routes then answer 503).
        tls: a server TLS context (HTTPS), or None (HTTP).
        config: the ``[web]`` tunables.

    Raises:
        BridgeError: a non-loopback ``listen`` without ``allow_remote`` and a token.
        ConfigError: ``WEB_STREAM_FPS`` above the relay's ``RELAY_MAX_FPS``.
    """

    def __init__(
        self,
        bridge: Bridge,
        listen: str,
        *,
        token: str | None = None,
        allow_remote: bool = False,
        relay: FrameRelay | None = None,
        tls: ssl.SSLContext | None = None,
        config: WebConfig = _DEFAULT_CONFIG,
    ) -> None:
        self.host, self.port = split_address(listen)
        if not is_loopback(listen) and not (allow_remote and token):
            raise BridgeError(
                f"Expected a loopback --http address, got {listen}: serving browsers beyond "
                "this machine needs --allow-remote and a shared token (--token-file or "
                "FASTLANE_BRIDGE_TOKEN)"
            )
        self._bridge, self._token, self._tls, self.config = bridge, token, tls, config
        if relay is not None and config.stream_fps > relay.config.max_fps:
            raise ConfigError(
                f"WEB_STREAM_FPS: expected <= RELAY_MAX_FPS ({relay.config.max_fps:g}), "
                f"got {config.stream_fps:g}"
            )
        self.streams = FrameStreams(relay, config) if relay else None
        self._collector = BridgeCollector(
            bridge, relay, self.streams.stats if self.streams else None
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="bridge-web", daemon=True)

    @property
    def url(self) -> str:
        """Where a browser finds the run list."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self._tls else 'http'}://{host}:{self.port}/"

    @property
    def running(self) -> bool:
        """Whether the listener's thread is serving (started and not stopped)."""
        return self._thread.is_alive()

    def start(self) -> None:
        """Bind and serve; returns once listening.

        Raises:
            BridgeError: the address could not be bound.
        """
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            raise BridgeError(f"Expected the HTTP listener on {self.host}:{self.port} to start")
        if self._error is not None:
            self._thread.join(_START_TIMEOUT_S)
            raise BridgeError(
                f"Expected to listen on --http {self.host}:{self.port}, got {self._error}"
            )

    def stop(self, timeout: float = 5.0) -> None:
        """Close every stream (their relay watches with them) and the listener."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            # RuntimeError: the loop closed already, the thread ended on its own
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout)
        if self.streams is not None:
            self.streams.close()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except Exception as error:  # the thread's boundary: start() reports it
            if self._ready.is_set():
                _log.exception("the HTTP listener failed")
            self._error = error
        finally:
            self._ready.set()
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        context = WebContext(
            db_path=self._bridge.sink.db_path,
            streams=self.streams,
            registry=registry_for(self._collector),
            config=self.config,
            stopping=asyncio.Event(),
        )
        auth = auth_middleware(
            self._token,
            secure=self._tls is not None,
            log_interval_s=self._bridge.config.bridge.log_interval_s,
        )
        runner = web.AppRunner(
            build_app(context, auth), access_log=None, shutdown_timeout=_SHUTDOWN_S
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port, ssl_context=self._tls)
            await site.start()
            self.port = int(runner.addresses[0][1])
            self._ready.set()
            await self._stop.wait()
            context.stopping.set()
        finally:
            await runner.cleanup()
