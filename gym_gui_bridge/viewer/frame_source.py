"""``FrameSource``: what the window needs from whatever brings it frames.

Two consumers implement it: :class:`~gym_gui_bridge.viewer.consumer.FastLaneConsumer` reads a
ring on this machine; :class:`~gym_gui_bridge.viewer.remote.consumer.RemoteFrameConsumer`
receives the frames a bridge relays. The window, the live panel and ``--snapshot`` do not care
which one they are given.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import SignalInstance

from gym_gui_bridge.config.viewer import ViewerConfig
from gym_gui_bridge.viewer.hud import HudState

__all__ = ["FrameSource"]


class FrameSource(Protocol):
    """A run's frames and HUD for the window.

    Signals:
        frame_ready(ShownFrame): a newer frame, converted for painting.
        hud_changed(HudState): the HUD's numbers changed.
        status_changed(str): the status (``connected``, ``fastlane-unavailable``, ...).
        run_changed(str): the run shown changed ("" while waiting for one).
    """

    @property
    def frame_ready(self) -> SignalInstance: ...
    @property
    def hud_changed(self) -> SignalInstance: ...
    @property
    def status_changed(self) -> SignalInstance: ...
    @property
    def run_changed(self) -> SignalInstance: ...

    @property
    def config(self) -> ViewerConfig: ...
    @property
    def run_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def detail(self) -> str:
        """Why the status is what it is ("" when connected)."""
        ...

    @property
    def hud(self) -> HudState: ...
    @property
    def paused(self) -> bool: ...
    @property
    def follows_newest(self) -> bool: ...
    @property
    def gave_up(self) -> bool:
        """It stopped trying for a reason waiting cannot fix (a refused token)."""
        ...

    @property
    def waiting_hint(self) -> str:
        """What to check when no frame comes, for people."""
        ...

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def set_run(self, run_id: str | None) -> None: ...
    def set_paused(self, paused: bool) -> None: ...
