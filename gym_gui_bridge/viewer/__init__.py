"""The bundled lightweight Qt viewer: ``gym-gui-bridge view``.

This is the only package that imports Qt (PySide6, the ``viewer`` extra). Importing it does not
import Qt yet; the names below are loaded on first use, so a missing PySide6 surfaces as
:class:`ViewerUnavailableError` with the install command, not as a bare ``ImportError``.

Modules, by concept:

- ``consumer``: :class:`FastLaneConsumer` polls a run's ring and turns new frames into images.
- ``image``: numpy frame (gray / RGB / RGBA) to ``QImage``.
- ``hud``: the HUD's numbers (Qt-free) and how they are formatted.
- ``frame_widget``: paints the frame letterboxed, with the HUD overlay.
- ``run_picker``: lists live fast lanes and switches between them.
- ``telemetry_source`` / ``live_controller`` / ``live_panel``: the live curves from the slow lane.
- ``frame_source``: what the window needs from a consumer, local or remote.
- ``consumer_state``: the run, status, counters and HUD both consumers share.
- ``remote``: the same window for a run on another machine, through its bridge (``--bridge``).
- ``main_window`` / ``app``: the window, its keys, ``--snapshot``.
"""

from __future__ import annotations

import importlib
from typing import Any

from gym_gui_bridge.viewer.availability import ViewerUnavailableError, require_qt

__all__ = [
    "FastLaneConsumer",
    "FrameWidget",
    "LiveTelemetryController",
    "ViewerUnavailableError",
    "ViewerWindow",
    "require_qt",
]

_LAZY = {
    "FastLaneConsumer": "gym_gui_bridge.viewer.consumer",
    "FrameWidget": "gym_gui_bridge.viewer.frame_widget",
    "LiveTelemetryController": "gym_gui_bridge.viewer.live_controller",
    "ViewerWindow": "gym_gui_bridge.viewer.main_window",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name != "LiveTelemetryController":
        require_qt()
    return getattr(importlib.import_module(module), name)
