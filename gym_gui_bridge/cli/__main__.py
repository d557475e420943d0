"""``python -m gym_gui_bridge.cli`` is ``gym-gui-bridge``."""

import sys

from gym_gui_bridge.cli import main

sys.exit(main())
