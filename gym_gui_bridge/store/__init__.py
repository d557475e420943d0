"""The durable store: SQLite schema, the background sink, and read-only queries.

Import what you need from the submodules; this package imports nothing itself, so a reader of
:mod:`gym_gui_bridge.store.queries` does not pay for the sink thread and vice versa.
"""

from __future__ import annotations

__all__: list[str] = []
