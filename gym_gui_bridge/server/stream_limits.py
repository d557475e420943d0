"""What bounds the bridge's streams: caps in all and per peer, and the end of idle streams.

A *peer* is a remote host, or a user of this machine. gRPC names the other end of a call by
address (``ipv4:127.0.0.1:43210``); every local process shares the loopback address, so a
loopback peer is told apart by the uid owning the client's socket, read from the kernel's
socket table (``/proc/net/tcp`` and ``/proc/net/tcp6``, Linux). Where that table is missing
(another OS, a socket gone already), a loopback peer is the address alone.

:class:`StreamSlots` counts the open streams of one kind (publishing or live), in all and per
peer, and refuses a stream past either cap with a message naming the cap. :class:`StreamEnd`
is the flag a publishing stream watches to end: set when the bridge stops, or once the stream
stayed idle too long.

>>> peer_host("ipv4:10.1.2.3:5000"), peer_host("ipv6:[2001:db8::1]:5000"), peer_host("unix:/s")
('10.1.2.3', '2001:db8::1', 'unix')
>>> slots = StreamSlots("publishing streams", "BRIDGE_MAX_PUBLISHERS", 3, 2, "_PER_PEER")
>>> slots.take("10.0.0.1"), slots.take("10.0.0.1"), slots.take("10.0.0.1")
(None, None, 'Expected at most 2 publishing streams from peer 10.0.0.1 \
(BRIDGE_MAX_PUBLISHERS_PER_PEER), got one more')
>>> slots.take("10.0.0.2"), slots.take("10.0.0.3")
(None, 'Expected at most 3 publishing streams (BRIDGE_MAX_PUBLISHERS), got one more')
>>> slots.give("10.0.0.1"); slots.open(), slots.peers()
(2, {'10.0.0.1': 1, '10.0.0.2': 1})
"""

from __future__ import annotations

import ipaddress
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["StreamEnd", "StreamSlots", "counted", "peer_host", "peer_of", "socket_uid"]

_SOCKET_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
_UID_COLUMN = 7  # /proc/net/tcp: sl local_address rem_address st queues tr retrnsmt uid ...


def peer_host(peer: str) -> str:
    """The host part of a gRPC peer string (``ipv4:H:P``, ``ipv6:[H]:P``); ``unix`` for a
    Unix socket; the string itself when it has another form."""
    kind, _, rest = peer.partition(":")
    if kind == "unix":
        return "unix"
    if kind in ("ipv4", "ipv6"):
        host = rest.rsplit(":", 1)[0]
        return host[1:-1] if host.startswith("[") else host
    return peer


def _port(peer: str) -> int | None:
    tail = peer.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address, an IPv4-mapped IPv6 one as IPv4 (a dual-stack server sees those)."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _table_address(field: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address | None, int]:
    """(address, port) of a ``/proc/net/tcp*`` column: hex words in host byte order."""
    host, _, port = field.partition(":")
    raw = bytes.fromhex(host)
    if sys.byteorder == "little":  # each 32-bit word is printed as a native integer
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(raw) if len(raw) in (4, 16) else None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address, int(port, 16)


def socket_uid(host: str, port: int, tables: tuple[Path, ...] = _SOCKET_TABLES) -> int | None:
    """The uid owning this machine's TCP socket bound to ``host``:``port``; None if unknown."""
    wanted = _address(host)
    if wanted is None:
        return None
    for table in tables:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            columns = line.split()
            if len(columns) <= _UID_COLUMN:
                continue
            try:
                address, bound = _table_address(columns[1])
                if bound == port and address == wanted:
                    return int(columns[_UID_COLUMN])
            except ValueError:
                continue
    return None


def peer_of(peer: str) -> str:
    """The peer a call counts against: its host, and for a loopback host the socket's uid.

    >>> peer_of("ipv4:192.0.2.7:41000")
    '192.0.2.7'
    """
    host = peer_host(peer)
    address = _address(host)
    port = _port(peer)
    if address is None or not address.is_loopback or port is None:
        return host
    uid = socket_uid(host, port)
    return host if uid is None else f"{address} uid {uid}"


class StreamSlots:
    """Open streams of one kind, in all and per peer. Thread-safe.

    Args:
        what: the streams in words (``publishing streams``), for messages.
        key: the tunable capping them in all (``BRIDGE_MAX_PUBLISHERS``), for messages.
        most: streams open at once, in all.
        most_per_peer: streams one peer may hold at once.
        per_peer_suffix: appended to ``key`` to name the per-peer cap.
    """

    def __init__(
        self, what: str, key: str, most: int, most_per_peer: int, per_peer_suffix: str
    ) -> None:
        self._what, self._key, self._peer_key = what, key, key + per_peer_suffix
        self._most, self._most_per_peer = most, most_per_peer
        self._lock = threading.Lock()  # guards _open and _by_peer
        self._open = 0
        self._by_peer: dict[str, int] = {}  # peers holding at least one stream, nobody else

    def take(self, peer: str) -> str | None:
        """Take a slot for ``peer``: None, or the refusal (naming the cap) if none is left."""
        with self._lock:
            held = self._by_peer.get(peer, 0)
            if held >= self._most_per_peer:
                return (
                    f"Expected at most {self._most_per_peer} {self._what} from peer {peer} "
                    f"({self._peer_key}), got one more"
                )
            if self._open >= self._most:
                return f"Expected at most {self._most} {self._what} ({self._key}), got one more"
            self._open += 1
            self._by_peer[peer] = held + 1
            return None

    def give(self, peer: str) -> None:
        """Give back a slot ``peer`` took."""
        with self._lock:
            self._open -= 1
            left = self._by_peer[peer] - 1
            if left:
                self._by_peer[peer] = left
            else:
                del self._by_peer[peer]

    def open(self) -> int:
        """Streams open now."""
        with self._lock:
            return self._open

    def peers(self) -> dict[str, int]:
        """Streams open now per peer (only peers holding one)."""
        with self._lock:
            return dict(self._by_peer)


class StreamEnd(threading.Event):
    """The ``stopping`` flag one publishing stream watches: true once the bridge stops, or once
    the stream stayed idle (no batch received, every batch answered) for ``idle_s`` seconds.

    >>> bridge_stopping = threading.Event()
    >>> end = StreamEnd(bridge_stopping, idle_s=3600.0)
    >>> end.received(); end.is_set(), end.idle
    (False, False)
    >>> bridge_stopping.set(); end.is_set(), end.idle
    (True, False)
    """

    def __init__(self, bridge_stopping: threading.Event, idle_s: float) -> None:
        super().__init__()
        self._bridge_stopping, self._idle_s = bridge_stopping, idle_s
        self._lock = threading.Lock()  # guards _received, _answered and _since
        self._received = self._answered = 0
        self._since = time.monotonic()  # last batch received or answered
        self.idle = False  # ended for idling

    def received(self) -> None:
        with self._lock:
            self._received += 1
            self._since = time.monotonic()

    def answered(self) -> None:
        with self._lock:
            self._answered += 1
            self._since = time.monotonic()

    def is_set(self) -> bool:
        if super().is_set() or self._bridge_stopping.is_set():
            return True
        with self._lock:
            quiet = self._received == self._answered
            idle = quiet and time.monotonic() - self._since >= self._idle_s
        if idle:
            self.idle = True
            self.set()
        return idle


def counted(requests: Iterator[Any], end: StreamEnd) -> Iterator[Any]:
    """``requests``, telling ``end`` of each one received."""
    for request in requests:
        end.received()
        yield request
