"""What crosses process boundaries: record types, their JSONL encoding, the gRPC wire, the spool.

The worker imports these; nothing here imports the store, the server or Qt.
"""

from __future__ import annotations

__all__: list[str] = []
