"""Opening a channel to a bridge: the shared token on every call, TLS when a CA is given.

>>> channel = open_channel("127.0.0.1:1", token="s3cret-token-of-enough-length")
>>> channel.close()  # connecting is lazy: nothing happened
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import grpc

from gym_gui_bridge.errors import BridgeError
from gym_gui_bridge.protocol.wire import auth_metadata, channel_options

__all__ = ["open_channel", "read_pem"]


def read_pem(path: str | Path, flag: str) -> bytes:
    """The bytes of a PEM file named by ``flag`` (for messages), or BridgeError saying why not.

    Raises:
        BridgeError: the file is missing, unreadable, empty, or not PEM.
    """
    file = Path(path)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise BridgeError(f"{flag}: expected a PEM file, got no file {file}") from None
    except OSError as error:
        raise BridgeError(f"{flag}: expected a readable PEM file {file}, got {error}") from None
    if b"-----BEGIN " not in data:
        raise BridgeError(f"{flag}: expected a PEM file (-----BEGIN ...), got {file}")
    return data


class _CallDetails(NamedTuple):
    method: str
    timeout: float | None
    metadata: Any
    credentials: Any
    wait_for_ready: bool | None
    compression: Any


class _TokenInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds ``authorization: Bearer <token>`` to every call's metadata."""

    def __init__(self, token: str) -> None:
        self._metadata = auth_metadata(token)

    def _details(self, details: Any) -> _CallDetails:
        metadata = [*(details.metadata or ()), *self._metadata]
        return _CallDetails(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def _call(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    intercept_unary_unary = _call
    intercept_unary_stream = _call
    intercept_stream_unary = _call
    intercept_stream_stream = _call


def open_channel(
    address: str,
    *,
    token: str | None = None,
    tls_ca: str | Path | None = None,
    reconnect_s: tuple[float, float] | None = None,
) -> grpc.Channel:
    """A channel to the bridge at ``address`` (HOST:PORT).

    Args:
        address: the bridge's HOST:PORT.
        token: the bridge's shared token, sent on every call as ``authorization: Bearer``.
        tls_ca: a PEM file of the certificate authority (or the self-signed certificate) the
            bridge's ``--tls-cert`` is checked against; without it the channel is plain text.
        reconnect_s: ``(first, most)`` seconds the channel waits between attempts to reconnect
            to a bridge that went away; without it gRPC's defaults (1 s growing to 120 s),
            too slow for a viewer waiting on a restarted bridge.

    Raises:
        BridgeError: ``tls_ca`` cannot be read or is not PEM.
    """
    options = channel_options()
    if reconnect_s is not None:
        first_ms, most_ms = (max(1, round(seconds * 1000)) for seconds in reconnect_s)
        options += [
            ("grpc.initial_reconnect_backoff_ms", first_ms),
            ("grpc.max_reconnect_backoff_ms", most_ms),
        ]
    if tls_ca is not None:
        credentials = grpc.ssl_channel_credentials(root_certificates=read_pem(tls_ca, "--tls-ca"))
        channel = grpc.secure_channel(address, credentials, options=options)
    else:
        channel = grpc.insecure_channel(address, options=options)
    if token:
        channel = grpc.intercept_channel(channel, _TokenInterceptor(token))
    return channel
