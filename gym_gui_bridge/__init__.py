"""The bridge side: fast-lane ring, RunBus, SQLite sink, gRPC service and the viewer.

Importing this package is cheap: subpackages are imported only when used, and Qt only under
``gym_gui_bridge.viewer``.
"""

from __future__ import annotations

#: The version of the cleanrl-fastlane distribution (both packages); pyproject.toml reads it here.
__version__ = "0.1.0"
__all__ = ["__version__"]
