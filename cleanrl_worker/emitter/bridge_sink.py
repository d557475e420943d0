"""The emitter dressed as the embedded recorder's writer, so the recorder ships to a bridge.

:class:`cleanrl_worker.slowlane.recorder.Recorder` puts each record into its writer's queue
(``put(record)``, on the training thread: a deque append) and drives
``start() / flush(timeout) / stop(timeout) / stats()``. :class:`EmitterSink` has exactly that
surface over one :class:`~cleanrl_worker.emitter.emitter.BridgeEmitter`, so switching a worker from
the embedded SQLite file to a bridge is one line in ``Recorder._open``::

    self._start_sink(EmitterSink(self.bridge, self.run_id, token=self._bridge_token))

Each process (the script and every spawned vector-env worker) gets its own spool directory,
``runs/spool/<run_id>.<pid>``: a spool has a single owner.
"""

from __future__ import annotations

import os

from cleanrl_worker.emitter.emitter import BridgeEmitter, EmitterStats
from gym_gui_bridge.config.paths import EMITTER_SPOOL_DIR
from gym_gui_bridge.config.slowlane import EmitterConfig
from gym_gui_bridge.protocol.records import TelemetryEvent

__all__ = ["EmitterSink"]


class EmitterSink:
    """The recorder's writer surface over a :class:`BridgeEmitter` shipping to ``address``.

    ``config`` is the emitter's (the worker's ``[emitter]`` table).
    """

    def __init__(
        self,
        address: str,
        run_id: str,
        *,
        token: str | None = None,
        spool_root: str = EMITTER_SPOOL_DIR,
        name: str = "fastlane-emitter",
        config: EmitterConfig = EmitterConfig(),
    ) -> None:
        self.name = name
        self.emitter = BridgeEmitter(
            address, run_id, spool_root=spool_root, token=token, name=name,
            spool_name=f"{run_id}.{os.getpid()}", config=config,
        )  # fmt: skip

    def put(self, record: TelemetryEvent) -> None:
        """Hand ``record`` to the emitter (never blocks; drops past its bound are counted)."""
        self.emitter.put(record)

    def start(self) -> None:
        self.emitter.start()

    def flush(self, timeout: float | None = None) -> bool:
        return self.emitter.flush(timeout)

    def stop(self, timeout: float | None = None) -> bool:
        """Close the emitter, waiting at most ``EMITTER_CLOSE_TIMEOUT_S`` even when the
        recorder allows more: what is not acknowledged by then is safe in the disk spool."""
        most = self.emitter.config.close_timeout_s
        return self.emitter.close(most if timeout is None else min(timeout, most))

    def stats(self) -> EmitterStats:
        return self.emitter.stats()
