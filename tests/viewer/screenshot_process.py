"""Take a screenshot of a whole X display (the root window), as an independent X client.

DISPLAY=:N QT_QPA_PLATFORM=xcb python screenshot_process.py OUT.png
"""

from __future__ import annotations

import sys

from PySide6.QtGui import QGuiApplication


def main() -> int:
    app = QGuiApplication([sys.argv[0]])
    screen = app.primaryScreen()
    if screen is None:
        print("no screen", file=sys.stderr)
        return 1
    ok = screen.grabWindow(0).save(sys.argv[1], "PNG")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
