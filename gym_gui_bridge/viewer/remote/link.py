"""How the viewer reaches a bridge: address, token, TLS CA, one shared channel, and what a
failed call means, in one line for people.

The frame stream, the run list and the telemetry source share one :class:`BridgeLink` (a gRPC
channel is safe to use from several threads). Connecting is lazy: nothing is sent before the
first call.

>>> target = BridgeTarget("127.0.0.1:50055")
>>> explain_code(grpc.StatusCode.UNAUTHENTICATED, "", target)[1]
'the bridge at 127.0.0.1:50055 requires its token: set FASTLANE_BRIDGE_TOKEN or pass --token-file FILE'
>>> explain_code(grpc.StatusCode.UNAVAILABLE, "connection refused", target)[0]
'bridge-unreachable'
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import grpc

from gym_gui_bridge.config.viewer import RemoteViewConfig
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.proto import trainer_pb2_grpc as pb_grpc
from gym_gui_bridge.server.channel import open_channel

__all__ = [
    "FATAL_STATUSES",
    "STATUS_BRIDGE_FAILED",
    "STATUS_BRIDGE_UNREACHABLE",
    "STATUS_TOKEN_REFUSED",
    "Backoff",
    "BridgeLink",
    "BridgeTarget",
    "explain",
    "explain_code",
]

#: The bridge could not be reached (nothing listens, a firewall, TLS on one side only).
STATUS_BRIDGE_UNREACHABLE = "bridge-unreachable"
#: The bridge refused the token (none given, or not the bridge's).
STATUS_TOKEN_REFUSED = "token-refused"
#: The bridge refused the request itself (an fps above its limit, an RPC it does not serve).
STATUS_BRIDGE_FAILED = "bridge-failed"
#: Statuses retrying cannot change: the viewer stops trying and says why.
FATAL_STATUSES = frozenset({STATUS_TOKEN_REFUSED, STATUS_BRIDGE_FAILED})

_REFUSED = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
_UNREACHABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
_FAILED = (
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.FAILED_PRECONDITION,
)


@dataclass(frozen=True)
class BridgeTarget:
    """Where the bridge is and how to prove who we are.

    Args:
        address: the bridge's HOST:PORT.
        token: its shared token, or ``None`` to send none.
        token_source: where the token came from, for messages (``FASTLANE_BRIDGE_TOKEN`` or
            ``--token-file FILE``); never the token itself.
        tls_ca: a PEM file the bridge's TLS certificate is checked against; ``None``: plain text.
    """

    address: str
    token: str | None = None
    token_source: str = ""
    tls_ca: str | Path | None = None


def explain_code(code: grpc.StatusCode, details: str, target: BridgeTarget) -> tuple[str, str]:
    """``(status, one line for people)`` for a call that ended with ``code``."""
    where = f"the bridge at {target.address}"
    if code in _REFUSED:
        if not target.token:
            return STATUS_TOKEN_REFUSED, (
                f"{where} requires its token: set FASTLANE_BRIDGE_TOKEN or pass --token-file FILE"
            )
        return STATUS_TOKEN_REFUSED, (
            f"{where} refused the token from {target.token_source or 'the token given'}: "
            "expected that bridge's token (FASTLANE_BRIDGE_TOKEN or --token-file FILE)"
        )
    if code in _UNREACHABLE:
        reason = details.splitlines()[0] if details else code.name.lower()
        hint = " (is --tls-ca right?)" if target.tls_ca is not None else ""
        return STATUS_BRIDGE_UNREACHABLE, (
            f"no answer from {where}{hint}: {reason}; is `gym-gui-bridge serve` running there "
            "(or the SSH tunnel open)?"
        )
    if code in _FAILED:
        return STATUS_BRIDGE_FAILED, f"{where} refused the request: {code.name}: {details}"
    return STATUS_BRIDGE_UNREACHABLE, f"{where} failed the call: {code.name}: {details}"


def explain(error: grpc.RpcError, target: BridgeTarget) -> tuple[str, str]:
    """:func:`explain_code` of a failed call's error."""
    code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = (error.details() if isinstance(error, grpc.Call) else str(error)) or ""
    return explain_code(code, details, target)


class Backoff:
    """Waits between reconnection attempts: ``first_s``, doubling up to ``most_s``.

    >>> backoff = Backoff(0.25, 1.0)
    >>> [backoff.next() for _ in range(4)]
    [0.25, 0.5, 1.0, 1.0]
    >>> backoff.reset(); backoff.next()
    0.25
    """

    def __init__(self, first_s: float, most_s: float) -> None:
        if not 0 < first_s <= most_s:
            raise ValueError(f"Expected 0 < first_s <= most_s, got {first_s} and {most_s}")
        self._first, self._most = first_s, most_s
        self._next = first_s

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self._most)
        return delay

    def reset(self) -> None:
        self._next = self._first


class BridgeLink:
    """One channel to a bridge, opened on first use and shared by every remote part.

    Args:
        target: address, token and TLS CA.
        config: retries and call deadlines (``[remote_view]``; default: the defaults).

    Raises:
        BridgeError: (on first use) ``target.tls_ca`` cannot be read or is not PEM.
    """

    def __init__(self, target: BridgeTarget, config: RemoteViewConfig | None = None) -> None:
        self.target = target
        self.config = config if config is not None else RemoteViewConfig()
        self._lock = threading.Lock()  # guards _channel and _stub
        self._channel: grpc.Channel | None = None
        self._stub: pb_grpc.TrainerServiceStub | None = None

    @property
    def address(self) -> str:
        return self.target.address

    def stub(self) -> pb_grpc.TrainerServiceStub:
        """The service stub on the shared channel (opened now if needed)."""
        with self._lock:
            if self._stub is None:
                target = self.target
                self._channel = open_channel(
                    target.address,
                    token=target.token,
                    tls_ca=target.tls_ca,
                    reconnect_s=(self.config.retry_min_s, self.config.retry_max_s),
                )
                self._stub = pb_grpc.TrainerServiceStub(self._channel)
            return self._stub

    def list_runs(self) -> pb.ListRunsResponse:
        """The bridge's runs (``REMOTE_VIEW_CALL_TIMEOUT_S`` deadline). Raises grpc.RpcError."""
        response: pb.ListRunsResponse = self.stub().ListRuns(
            pb.ListRunsRequest(), timeout=self.config.call_timeout_s
        )
        return response

    def list_fastlanes(self) -> pb.ListFastLanesResponse:
        """The fast lanes of the bridge's machine. Raises grpc.RpcError."""
        response: pb.ListFastLanesResponse = self.stub().ListFastLanes(
            pb.ListFastLanesRequest(), timeout=self.config.call_timeout_s
        )
        return response

    def backoff(self) -> Backoff:
        """A new reconnection schedule (``REMOTE_VIEW_RETRY_MIN_S`` .. ``_MAX_S``)."""
        return Backoff(self.config.retry_min_s, self.config.retry_max_s)

    def close(self) -> None:
        """Close the channel (ends every call on it). Safe to call twice."""
        with self._lock:
            channel, self._channel, self._stub = self._channel, None, None
        if channel is not None:
            channel.close()
