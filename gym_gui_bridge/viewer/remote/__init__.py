"""Watching a run through a bridge (``gym-gui-bridge view --bridge HOST:PORT``).

The bridge on the training machine relays the run's frames (WatchFrames), lists its runs and
fast lanes (ListRuns, ListFastLanes) and streams its episodes and scalars (StreamRunEpisodes,
StreamRunScalars); nothing here touches shared memory, so the viewer works on any machine that
can reach the bridge.

Modules, by concept:

- ``link``: the address, token and TLS CA, one shared channel, failed calls explained.
- ``decode``: a relayed JPEG/PNG frame to the image the window paints (Qt decodes it).
- ``reconnecting``: one streaming call kept open on its own thread, called again with backoff.
- ``frame_stream``: one run's WatchFrames call, reconnecting.
- ``run_list``: the bridge's runs and fast lanes, re-listed on a background thread.
- ``consumer``: :class:`RemoteFrameConsumer`, the local consumer's signals over the two above.
- ``telemetry``: :class:`BridgeTelemetrySource`, the live panel fed by the bridge's streams.
"""

from __future__ import annotations

__all__: list[str] = []
