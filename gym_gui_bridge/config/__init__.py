"""Configuration: every tunable's default, written once, and the files that override them.

One frozen dataclass per component holds its tunables (:mod:`.fastlane`, :mod:`.slowlane`,
:mod:`.store`, :mod:`.bridge`, :mod:`.viewer`); components take it as a constructor argument,
the default config as default. :mod:`.programs` says which program reads which tables,
:mod:`.loader` reads a program's file, :mod:`.render` generates ``configs/defaults.toml``.
Paths and addresses are defaults of flags (:mod:`.paths`); fixed limits of the formats live next
to the formats (``gym_gui_bridge/fastlane/layout.py``, ``gym_gui_bridge/protocol/limits.py``).

The names operators know from the original design are kept, derived from the definitions:

>>> RUNBUS_UI_PATH_QUEUE_SIZE, DB_SINK_WRITER_QUEUE_SIZE, INITIAL_CREDITS
(512, 16384, 200)
"""

from __future__ import annotations

from gym_gui_bridge.config.bridge import CreditConfig, RunBusConfig
from gym_gui_bridge.config.paths import BRIDGE_DEFAULT_LISTEN, DEFAULT_DB_PATH, EMITTER_SPOOL_DIR
from gym_gui_bridge.config.spec import ConfigError
from gym_gui_bridge.config.store import SinkConfig

__all__ = [
    "BRIDGE_DEFAULT_LISTEN",
    "DB_SINK_BATCH_SIZE",
    "DB_SINK_WRITER_QUEUE_SIZE",
    "DEFAULT_DB_PATH",
    "EMITTER_SPOOL_DIR",
    "INITIAL_CREDITS",
    "MIN_CREDITS_THRESHOLD",
    "RUNBUS_DB_PATH_QUEUE_SIZE",
    "RUNBUS_UI_PATH_QUEUE_SIZE",
    "ConfigError",
]

RUNBUS_UI_PATH_QUEUE_SIZE = RunBusConfig().ui_path_queue_size
RUNBUS_DB_PATH_QUEUE_SIZE = RunBusConfig().db_path_queue_size
DB_SINK_WRITER_QUEUE_SIZE = SinkConfig().writer_queue_size
DB_SINK_BATCH_SIZE = SinkConfig().batch_size
INITIAL_CREDITS = CreditConfig().initial
MIN_CREDITS_THRESHOLD = CreditConfig().threshold
