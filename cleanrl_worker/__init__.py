"""The worker side: runs inside an unmodified CleanRL script when FASTLANE is set.

Importing this package imports nothing heavy: no Qt, no SQLite sink, no gRPC server.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
