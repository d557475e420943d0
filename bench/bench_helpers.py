"""Small pieces several benchmarks share (run them as ``python bench/NAME.py``: this folder is
then on ``sys.path``)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

__all__ = ["RING_SIZES", "cpu_seconds", "free_port", "time_per_call"]

#: Frame shapes the ring benchmarks measure: Atari's observation, CartPole's picture, a large one.
RING_SIZES = [(84, 84, 3), (400, 600, 3), (1024, 1024, 3)]

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, every thread) process ``pid`` has used so far."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        stat = handle.read()
    fields = stat[stat.rfind(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def time_per_call(fn: Callable[[], object], seconds: float) -> float:
    """Mean seconds per call of ``fn``, called in batches of 50 until ``seconds`` have passed."""
    calls = 0
    start = time.perf_counter()
    while True:
        for _ in range(50):
            fn()
        calls += 50
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return elapsed / calls
