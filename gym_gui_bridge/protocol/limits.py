"""Fixed limits of the record formats: what every encoder, decoder and gRPC peer agrees on.

Not tunables: a worker, a bridge and ``gym-gui-bridge ingest`` that disagreed on them would
refuse each other's records. See docs/records.md and docs/bridge_protocol.md.
"""

from __future__ import annotations

__all__ = [
    "GRPC_MAX_MESSAGE_BYTES",
    "JSONL_MAX_ACTION_DEPTH",
    "JSONL_MAX_LINE_BYTES",
    "JSONL_MAX_LIST_ITEMS",
    "JSONL_MAX_NAME_CHARS",
]

#: Longest JSONL line a decoder accepts (bytes).
JSONL_MAX_LINE_BYTES = 1024 * 1024
#: Deepest list nesting accepted in a step's ``action`` (levels). Box actions are 1-3 deep.
JSONL_MAX_ACTION_DEPTH = 8
#: Most items of one list-valued field: an action's numbers and lists at every level together,
#: ``argv``'s strings. Box actions hold a few dozen numbers; this bounds the work and memory of
#: one record wherever it comes from (a line is already bounded by ``JSONL_MAX_LINE_BYTES``).
JSONL_MAX_LIST_ITEMS = 65536
#: Longest ``run_id`` / ``agent_id`` / scalar ``tag`` a decoder accepts (characters).
JSONL_MAX_NAME_CHARS = 1024
#: Largest gRPC message either side accepts (bytes). An emitter batch holds at most
#: ``EMITTER_BATCH_MAX_BYTES`` of JSONL plus framing; 16 MiB leaves room for one maximal
#: (``JSONL_MAX_LINE_BYTES``) line on top and refuses anything absurd before it is buffered.
GRPC_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
