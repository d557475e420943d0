"""The bridge's browser view: run list, watch page, frames, curves and ``/metrics`` over HTTP.

Imported only by ``gym-gui-bridge serve --http``; it needs the ``remote`` extra (aiohttp,
prometheus-client, Pillow through the frame relay). :class:`~.server.WebServer` is the
listener; :mod:`.routes` lists the routes, :mod:`.auth` the token check, :mod:`.metrics` the
Prometheus collector, :mod:`.curves` the incremental curves, :mod:`.frames` the relay watches
and :mod:`.pages` the HTML around ``static/``.
"""

from __future__ import annotations

__all__ = ["WebServer"]

from gym_gui_bridge.web.server import WebServer
