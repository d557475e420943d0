"""Whether the viewer can start: Qt (PySide6) installed, a display to open a window on.

Both are checked without importing Qt, so ``gym-gui-bridge view`` explains what is missing in
one line instead of failing inside Qt (which aborts the process when it finds no display).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping

__all__ = [
    "INSTALL_HINT",
    "ViewerUnavailableError",
    "missing_display",
    "qt_available",
    "require_qt",
]

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


def missing_display(environ: Mapping[str, str]) -> bool:
    """Whether Qt would find no display: no X11 or Wayland display and no platform chosen.

    With ``QT_QPA_PLATFORM`` set (``offscreen``, ``xcb``, ...) Qt is left to decide.

    >>> missing_display({}), missing_display({"DISPLAY": ":0"})
    (True, False)
    >>> missing_display({"QT_QPA_PLATFORM": "offscreen"})
    False
    """
    return not any(environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
