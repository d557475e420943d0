"""Whether Qt (PySide6) is installed, checked without importing it."""

from __future__ import annotations

import importlib.util

__all__ = ["INSTALL_HINT", "ViewerUnavailableError", "qt_available", "require_qt"]

INSTALL_HINT = "install the extra: pip install 'cleanrl-fastlane[viewer]'"


class ViewerUnavailableError(ImportError):
    """PySide6 is not installed, so the viewer cannot start."""


def qt_available() -> bool:
    """Whether PySide6 can be imported (looked up, not imported: cheap)."""
    return importlib.util.find_spec("PySide6") is not None


def require_qt() -> None:
    """Raise :class:`ViewerUnavailableError` with the install command if PySide6 is missing."""
    if not qt_available():
        raise ViewerUnavailableError(
            f"the viewer needs PySide6, which is not installed; {INSTALL_HINT}"
        )
