"""The quarantine: what the store could not take, kept with its reason so nothing goes in silence.

Two kinds of entries land in the ``quarantine`` table (migration 2 of
:mod:`gym_gui_bridge.store.schema`):

- a **line** a decoder rejected (the bridge's publishing streams, ``ingest``, the bridge's
  start-up ingest of orphaned spools): its text and the decoder's reason code;
- a **record** the sink could not store: one that fails the validation
  (:mod:`gym_gui_bridge.protocol.validation`; the embedded recorder's records are not decoded),
  or one SQLite refused for a reason that retrying cannot cure (a constraint, a value it cannot
  bind). The sink isolates such a record by splitting its batch; everything around it is stored.

Each entry keeps the record's text as far as it can be represented (its JSONL line, else a JSON
or ``repr`` rendering; invalid UTF-8 and lone surrogates as backslash escapes), cut to
``QUARANTINE_TEXT_CHARS`` characters, with the original size, the run id when one can be read,
where it was refused (``source``) and when. An entry is identified by a digest of its reason and
full text: the same bad line delivered twice (a re-sent batch, a re-ingested file) is kept once.
``gym-gui-bridge quarantine`` lists them.

>>> entry = quarantined_line(b'{"v":1,"type":"step","run_id":"r1","seq":-1}\\n', "negative",
...                          "negative: Expected seq >= 0, got -1", "bridge")
>>> entry.run_id, entry.reason, entry.text
('r1', 'negative', '{"v":1,"type":"step","run_id":"r1","seq":-1}')
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from gym_gui_bridge.errors import RecordEncodeError
from gym_gui_bridge.protocol.jsonl import encode_record
from gym_gui_bridge.protocol.limits import JSONL_MAX_ACTION_DEPTH, JSONL_MAX_NAME_CHARS
from gym_gui_bridge.protocol.validation import shown

__all__ = [
    "QUARANTINE_TEXT_CHARS",
    "Quarantined",
    "quarantined_line",
    "quarantined_record",
    "record_text",
    "write_quarantine",
]

#: Longest text kept of one quarantined line or record (characters); the size of the whole is
#: kept beside it. Enough to read any record the encoder writes; a hostile megabyte is cut.
QUARANTINE_TEXT_CHARS = 65536
_LIST_ITEMS_SHOWN = 4096  # longest list rendered item by item in a record's text

_INSERT_SQL = (
    "INSERT OR IGNORE INTO quarantine (digest, quarantined_at, run_id, source, reason, message, "
    "record, record_chars) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


class Quarantined(NamedTuple):
    """One quarantine entry, before it is written."""

    reason: str
    """The reason code: a decoder's (``not_json``, ``out_of_range``, ...) or ``not_storable``
    (SQLite refused a record the validation accepts)."""
    message: str
    """What was wrong, in words."""
    text: str
    """The line or record as text, cut to ``QUARANTINE_TEXT_CHARS``."""
    chars: int
    """Length of the whole text (characters)."""
    run_id: str | None
    """The run it names, when one could be read."""
    source: str
    """Where it was refused: ``bridge`` (a publishing stream), ``ingest``, ``spool`` (the
    bridge's start-up ingest), ``sink`` (a record the sink could not store)."""
    record: object = None
    """The refused record object itself (``sink`` entries), for callers that match it; not stored."""


def _printable(text: str) -> str:
    """``text`` with lone surrogates as backslash escapes: storable as UTF-8."""
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _entry(
    reason: str,
    message: str,
    text: str,
    run_id: Any,
    source: str,
    record: object = None,
) -> Quarantined:
    text = _printable(text)
    if not (isinstance(run_id, str) and 0 < len(run_id) <= JSONL_MAX_NAME_CHARS):
        run_id = None
    elif not run_id.isascii():
        run_id = _printable(run_id)
    return Quarantined(
        reason,
        _printable(message)[:1000],
        text[:QUARANTINE_TEXT_CHARS],
        len(text),
        run_id,
        source,
        record,
    )


def _run_id_of_line(text: str) -> Any:
    """The ``run_id`` a line names, if it is a JSON object that has one (else None)."""
    if '"run_id"' not in text:
        return None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return document.get("run_id") if isinstance(document, dict) else None


def quarantined_line(line: bytes | str, reason: str, message: str, source: str) -> Quarantined:
    """The entry of a line a decoder rejected (its text: UTF-8, invalid bytes as ``\\xNN``)."""
    if isinstance(line, (bytes, bytearray, memoryview)):
        text = bytes(line).decode("utf-8", "backslashreplace")
    else:
        text = line
    text = text.rstrip("\n")
    run_id = _run_id_of_line(text) if len(text) <= QUARANTINE_TEXT_CHARS else None
    return _entry(reason, message, text, run_id, source)


def _plain(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-able data of bounded size and depth (a rendering, for reading)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value if not isinstance(value, int) or abs(value) < 10**300 else shown(value)
    if isinstance(value, str):
        return value[:QUARANTINE_TEXT_CHARS]
    if isinstance(value, (list, tuple)):
        if depth > JSONL_MAX_ACTION_DEPTH or len(value) > _LIST_ITEMS_SHOWN:
            return shown(value)
        return [_plain(item, depth + 1) for item in value]
    return shown(value)


def record_text(record: Any) -> str:
    """A record as text: its JSONL line if the encoder takes it, else a JSON rendering of its
    fields (non-finite numbers as ``NaN``/``Infinity``, foreign values by ``repr``)."""
    try:
        return encode_record(record)
    except RecordEncodeError:
        pass
    fields = getattr(record, "_fields", None)
    if fields is None:
        return shown(record)
    document = {"type": getattr(record, "kind", type(record).__name__)}
    document.update((name, _plain(value)) for name, value in zip(fields, record, strict=False))
    try:
        return json.dumps(document, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        return shown(record)


def quarantined_record(record: Any, reason: str, message: str) -> Quarantined:
    """The entry of a record the sink could not store."""
    return _entry(
        reason, message, record_text(record), getattr(record, "run_id", None), "sink", record
    )


def write_quarantine(conn: sqlite3.Connection, entries: Sequence[Quarantined]) -> None:
    """Insert ``entries`` (each once: an entry already kept is ignored), in the caller's
    transaction."""
    now = time.time()
    rows = []
    for entry in entries:
        digest = hashlib.sha256(
            f"{entry.reason}\n{entry.text}\n{entry.chars}".encode("utf-8", "backslashreplace")
        ).hexdigest()
        rows.append(
            (
                digest,
                now,
                entry.run_id,
                entry.source,
                entry.reason,
                entry.message,
                entry.text,
                entry.chars,
            )
        )
    conn.executemany(_INSERT_SQL, rows)
