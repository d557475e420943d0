"""Credits of live subscribers, per (run id, agent id): a slow viewer is throttled, never the bus.

Each live subscriber stream opens an account with ``INITIAL_CREDITS``. Handing an event to the
subscriber's outgoing queue costs one credit; the credit comes back when gRPC has taken the
event (the client is reading). A client that stops reading stops giving credits back: below
``MIN_CREDITS_THRESHOLD`` the account is *starved*: ``LOG_CREDIT_STARVED`` is logged once for
this episode of starvation (not per event), and the subscriber's pump waits for credit instead
of reading the RunBus. Its RunBus queue then drops its oldest events (drop-oldest, counted):
ingestion and the durable path never wait. When the client reads again the account recovers
(logged once) after its credits stayed at or above half the initial ones for
``CREDIT_RECOVERY_S`` (gRPC takes messages in bursts as its window opens; without that a stuck
client would flap), and the subscriber re-reads what it missed from SQLite.

>>> from gym_gui_bridge.config.bridge import CreditConfig
>>> manager = CreditManager(CreditConfig(initial=3, threshold=2, recovery_s=0.0))
>>> account = manager.open("run", "default", "viewer-1")
>>> [account.acquire(timeout=0) for _ in range(4)], account.starved
([True, True, True, False], True)
>>> account.grant(3); account.grant(0); account.starved, account.credits
(False, 3)
"""

from __future__ import annotations

import logging
import threading
import time

from gym_gui_bridge.config.bridge import CreditConfig
from gym_gui_bridge.logs import LOG_CREDIT_STARVED

__all__ = ["CreditAccount", "CreditManager"]

_log = logging.getLogger(__name__)


class CreditAccount:
    """The credits of one subscriber for one (run id, agent id). Thread-safe."""

    def __init__(
        self,
        run_id: str,
        agent_id: str,
        owner: str,
        initial: int,
        threshold: int,
        recovery_s: float,
    ) -> None:
        self.run_id, self.agent_id, self.owner = run_id, agent_id, owner
        self._initial, self._threshold, self._recovery_s = initial, threshold, recovery_s
        # guards _credits, _starved, _healthy_since; _changed waits on it
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._credits = initial
        self._starved = False
        self._healthy_since: float | None = None  # credits back at half or more since (monotonic)

    @property
    def credits(self) -> int:
        return self._credits

    @property
    def starved(self) -> bool:
        return self._starved

    def acquire(self, timeout: float | None = None) -> bool:
        """Take one credit, waiting up to ``timeout`` s for one; False if none came."""
        with self._changed:
            if self._credits <= 0 and not self._changed.wait_for(
                lambda: self._credits > 0, timeout
            ):
                return False
            self._credits -= 1
            self._maybe_recover()
            if self._credits < self._threshold:
                self._healthy_since = None
            if self._credits < self._threshold and not self._starved:
                self._starved = True
                _log.warning(
                    "%s subscriber %s of run %s agent %s is not reading: %d credits left; "
                    "throttled, it will re-read what it misses from SQLite",
                    LOG_CREDIT_STARVED,
                    self.owner,
                    self.run_id,
                    self.agent_id,
                    self._credits,
                )
            return True

    def grant(self, count: int = 1) -> None:
        """Give back ``count`` credits (the client took that many events)."""
        with self._changed:
            self._credits = min(self._initial, self._credits + count)
            self._maybe_recover()
            self._changed.notify_all()

    def _maybe_recover(self) -> None:  # caller holds _lock
        if not self._starved or self._credits < max(self._threshold, self._initial // 2):
            return
        now = time.monotonic()
        if self._healthy_since is None:
            self._healthy_since = now
        if now - self._healthy_since >= self._recovery_s:
            self._starved = False
            self._healthy_since = None
            _log.info(
                "subscriber %s of run %s agent %s reads again (%d credits)",
                self.owner,
                self.run_id,
                self.agent_id,
                self._credits,
            )


class CreditManager:
    """Opens the credit accounts of a bridge's live subscribers, all with the same rules.

    Args:
        config: initial credits, starvation threshold and recovery time of every account.
    """

    def __init__(self, config: CreditConfig = CreditConfig()) -> None:
        self.config = config

    def open(self, run_id: str, agent_id: str, owner: str) -> CreditAccount:
        """A fresh account of subscriber ``owner`` for (``run_id``, ``agent_id``), full."""
        return CreditAccount(
            run_id,
            agent_id,
            owner,
            self.config.initial,
            self.config.threshold,
            self.config.recovery_s,
        )
