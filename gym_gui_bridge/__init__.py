"""The bridge side: fast-lane ring, RunBus, SQLite sink, gRPC service and the viewer.

Importing this package is cheap: subpackages are imported only when used, and Qt only under
``gym_gui_bridge.viewer``.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
