"""The trainer proxy's output pumps: one thread per pipe of the child, copying it line by line.

A pump reads the child's pipe as bytes and never dies on what it reads: binary garbage, invalid
UTF-8, lines of any length, a last line without newline. On stdout, a line that starts with
``{"v":`` (whitespace allowed) is a record candidate: a valid record goes to the record sink and
is not echoed; anything else passes through byte for byte and in order. A decoder or sink that
raises on a line counts that line as rejected and passes it through; any other failure inside
the pump is reported once and the pump keeps draining the pipe (discarding), so the child never
blocks on a full pipe.

When writing to its own output fails, a pump stops passing through (records are still taken)
and calls ``on_closed`` once: with ``broken`` True for a closed pipe (``| head``; EPIPE), False
for another error (a full disk under a redirect).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sys
import threading
from collections.abc import Callable
from typing import IO

from cleanrl_worker.slowlane.record_sink import RecordSink
from gym_gui_bridge.logs import LOG_PROXY_RECORD_REJECTED, LogThrottle
from gym_gui_bridge.protocol.jsonl import JsonlDecoder
from gym_gui_bridge.protocol.limits import JSONL_MAX_LINE_BYTES

__all__ = ["Pump", "say"]

_RECORD_START = re.compile(rb'\s*\{\s*"v"\s*:')  # a record's first key is "v" (docs/records.md)
_READ_BYTES = 1 << 16  # bytes read from a pipe at a time


def say(line: str) -> None:
    """One line on the proxy's stderr; nothing if stderr is gone (closed, full disk)."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


def _to_devnull(target: IO[bytes]) -> None:
    """Point ``target``'s descriptor at /dev/null: what is left in its buffer, and the flush
    at interpreter exit, then go nowhere instead of failing again with a traceback."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, target.fileno())
        os.close(devnull)


class Pump:
    """Thread ``proxy-<name>``: copies one pipe of the child, taking records out of stdout.

    Args:
        name: ``stdout`` or ``stderr``.
        source: the child's pipe.
        target: where other lines go (the proxy's own stdout or stderr).
        sink: where records go; None: pass everything through (stderr).
        log_interval_s: least interval between two rejection lines.
        on_closed: called once, from the pump's thread, when writing to ``target`` failed.
    """

    def __init__(
        self,
        name: str,
        source: IO[bytes],
        target: IO[bytes],
        sink: RecordSink | None,
        log_interval_s: float,
        on_closed: Callable[[bool], None],
    ) -> None:
        self.name = name
        self.decoder = JsonlDecoder()
        self._source, self._sink = source, sink
        self._target: IO[bytes] | None = target  # None once writing to it failed
        self._on_closed = on_closed
        self._throttle = LogThrottle(log_interval_s)
        self._thread = threading.Thread(target=self._run, name=f"proxy-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Wait up to ``timeout`` s for the pipe's end (the child and its children exited)."""
        self._thread.join(timeout)

    def _run(self) -> None:
        fd = self._source.fileno()
        try:
            self._copy(fd)
        except Exception as error:  # the thread's boundary: report, then keep the pipe drained
            say(f"cleanrl-worker run: {self.name} pump failed ({type(error).__name__}: {error})")
            self._write(None)
            try:
                while os.read(fd, _READ_BYTES):
                    pass
            except OSError:
                pass

    def _copy(self, fd: int) -> None:
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
                elif not self._consume(line):
                    passed.append(line)
            pending = data[start:]
            if len(pending) > JSONL_MAX_LINE_BYTES:
                if oversize is None and self._candidate(pending):
                    self._reject("too_long", "a record candidate over JSONL_MAX_LINE_BYTES")
                oversize = oversize if oversize is not None else True
                passed.append(pending)
                pending = b""
            if passed:
                self._write(b"".join(passed))
        # a last line without newline
        if pending and (oversize is not None or not self._consume(pending)):
            self._write(pending)

    def _write(self, data: bytes | None) -> None:
        """Pass ``data`` through (None: only flush); on failure stop passing, tell once."""
        target = self._target
        if target is None:
            return
        try:
            if data:
                target.write(data)
            target.flush()
        except (OSError, ValueError) as error:  # closed pipe, full disk, closed file object
            self._target = None
            broken = isinstance(error, OSError) and error.errno == errno.EPIPE
            if broken:
                _to_devnull(target)
            self._on_closed(broken)

    def _candidate(self, line: bytes) -> bool:
        return self._sink is not None and _RECORD_START.match(line) is not None

    def _consume(self, line: bytes) -> bool:
        """True if ``line`` was a record handed to the sink; False: pass it through."""
        if not self._candidate(line):
            return False
        try:
            record = self.decoder.decode(line)
        except Exception as error:  # a line must never stop the copy: count it, pass it on
            self._reject("internal", f"{type(error).__name__}: {error}")
            return False
        if record is None:
            if self._throttle.ready("rejected"):
                say(f"{LOG_PROXY_RECORD_REJECTED} {self.decoder.stats.last_error}")
            return False
        assert self._sink is not None
        try:
            self._sink.put(record)
        except Exception as error:  # the sink refused it: counted as rejected, passed on
            self.decoder.stats.accepted -= 1
            self._reject("not_stored", f"{type(error).__name__}: {error}")
            return False
        return True

    def _reject(self, code: str, reason: str) -> None:
        stats = self.decoder.stats
        stats.rejected += 1
        stats.reasons[code] = stats.reasons.get(code, 0) + 1
        if self._throttle.ready("rejected"):
            say(f"{LOG_PROXY_RECORD_REJECTED} {code}: {reason[:200]}")
