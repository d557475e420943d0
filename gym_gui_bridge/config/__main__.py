"""``python -m gym_gui_bridge.config``: print the generated ``configs/defaults.toml``."""

from __future__ import annotations

import sys

from gym_gui_bridge.config.render import render_defaults

sys.stdout.write(render_defaults())
