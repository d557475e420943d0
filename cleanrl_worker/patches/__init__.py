"""Patches applied to the training script's libraries when the fast lane is on.

- :mod:`~cleanrl_worker.patches.vector_env`: gymnasium's vector envs build the watched slot.
- :mod:`~cleanrl_worker.patches.summary_writer`: ``SummaryWriter.add_scalar`` is mirrored.
"""

from __future__ import annotations

__all__: list[str] = []
