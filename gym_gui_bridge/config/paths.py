"""Default paths and addresses: the defaults of flags and settings, not tunables of a file.

A path is given where it is used (``--db``, ``FASTLANE_DB``, ``--listen``, ``--spool-dir``), so
two programs sharing a database say so on their command lines.
"""

from __future__ import annotations

__all__ = ["BRIDGE_DEFAULT_LISTEN", "DEFAULT_DB_PATH", "EMITTER_SPOOL_DIR"]

#: Database file of the slow lane, relative to the working directory (path): the worker's
#: ``FASTLANE_DB``, ``gym-gui-bridge serve --db``, the inspection commands' and the viewer's
#: ``--db``, ``cleanrl-worker run --db``.
DEFAULT_DB_PATH = "runs/fastlane.sqlite"
#: Address of ``gym-gui-bridge serve`` (host:port): ``--listen``. Loopback unless asked otherwise.
BRIDGE_DEFAULT_LISTEN = "127.0.0.1:50055"
#: Directory of the emitters' disk spools, one sub-directory per run (path, relative to the
#: working directory). ``gym-gui-bridge serve --spool-dir`` ingests orphaned spools found here
#: at start-up; ``cleanrl-worker run --spool-dir`` spools there.
EMITTER_SPOOL_DIR = "runs/spool"
