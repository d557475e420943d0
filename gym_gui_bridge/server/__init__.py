"""The bridge daemon (``gym-gui-bridge serve``): gRPC TrainerService over a RunBus and the SQLite sink.

- :mod:`~gym_gui_bridge.server.publish`: publishing streams, acknowledged after the commit.
- :mod:`~gym_gui_bridge.server.live`: live subscribers (replay from SQLite, then live).
- :mod:`~gym_gui_bridge.server.watch`: WatchFrames and ListFastLanes (the frame relay's RPCs).
- :mod:`~gym_gui_bridge.server.service`: the servicer, authentication, request validation.
- :mod:`~gym_gui_bridge.server.app`: the process: server, TLS, sink, spool ingest, status,
  signals.
- :mod:`~gym_gui_bridge.server.channel`: ``open_channel`` for clients (token, TLS).
"""

from __future__ import annotations

__all__: list[str] = []
