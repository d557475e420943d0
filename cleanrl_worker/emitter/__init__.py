"""The bridge emitter: ships the worker's records to ``gym-gui-bridge serve`` through a disk spool.

- :mod:`~cleanrl_worker.emitter.emitter`: the record sink the recorder writes to.
- :mod:`~cleanrl_worker.emitter.spooler`: encodes records into spool segment files.
- :mod:`~cleanrl_worker.emitter.segment_writer`: appends whole lines to a segment, counts only
  what is written.
- :mod:`~cleanrl_worker.emitter.shipper`: streams the spool to the bridge, deletes what is acked.
- :mod:`~cleanrl_worker.emitter.ledger`: the spool's segments and the counts of records put,
  spooled, acknowledged and dropped.
"""

from __future__ import annotations

__all__: list[str] = []
