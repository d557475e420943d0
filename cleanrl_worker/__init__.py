"""The worker side: runs inside an unmodified CleanRL script when FASTLANE is set.

Importing this package imports nothing heavy: no Qt, no SQLite sink, no gRPC server. The
distribution's version is ``gym_gui_bridge.__version__``.
"""

from __future__ import annotations

__all__: list[str] = []
