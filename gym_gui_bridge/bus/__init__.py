"""In-process publish/subscribe between record producers and consumers.

- :mod:`~gym_gui_bridge.bus.run_bus`: ``RunBus``: never-blocking publish, per-subscriber queues.
- :mod:`~gym_gui_bridge.bus.credits`: credits per (run, agent) for live subscribers.
- :mod:`~gym_gui_bridge.bus.feed`: ``DequeFeed``, the bounded hand-off a single writer drains.
"""

from __future__ import annotations

__all__: list[str] = []
