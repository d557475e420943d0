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
from dataclasses import dataclass

from gym_gui_bridge.config.bridge import CreditConfig
from gym_gui_bridge.logs import LOG_CREDIT_STARVED

__all__ = ["CreditAccount", "CreditManager", "CreditSnapshot"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CreditSnapshot:
    """One account's state: whose it is, credits left, starved now, starvation episodes."""

    run_id: str
    agent_id: str
    owner: str
    credits: int
    starved: bool
    starvations: int


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
        # guards _credits, _starved, _starvations, _healthy_since; _changed waits on it
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._credits = initial
        self._starved = False
        self._starvations = 0
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
                self._starvations += 1
                _log.warning(
                    "%s subscriber %s of run %s agent %s is not reading: %d credits left; "
                    "throttled, it will re-read what it misses from SQLite",
                    LOG_CREDIT_STARVED, self.owner, self.run_id, self.agent_id, self._credits,
                )  # fmt: skip
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

    def snapshot(self) -> CreditSnapshot:
        with self._lock:
            return CreditSnapshot(
                self.run_id,
                self.agent_id,
                self.owner,
                self._credits,
                self._starved,
                self._starvations,
            )


class CreditManager:
    """The credit accounts of a bridge's live subscribers, keyed by (run id, agent id, owner).

    Args:
        config: initial credits, starvation threshold and recovery time of every account.
    """

    def __init__(self, config: CreditConfig = CreditConfig()) -> None:
        self.config = config
        self._initial, self._threshold = config.initial, config.threshold
        self._recovery_s = config.recovery_s
        self._lock = threading.Lock()  # guards _accounts
        self._accounts: dict[tuple[str, str, str], CreditAccount] = {}

    def open(self, run_id: str, agent_id: str, owner: str) -> CreditAccount:
        """A fresh account with the initial credits (replacing one of the same key)."""
        account = CreditAccount(
            run_id, agent_id, owner, self._initial, self._threshold, self._recovery_s
        )
        with self._lock:
            self._accounts[(run_id, agent_id, owner)] = account
        return account

    def close(self, account: CreditAccount) -> None:
        with self._lock:
            key = (account.run_id, account.agent_id, account.owner)
            if self._accounts.get(key) is account:
                del self._accounts[key]

    def snapshot(self) -> list[CreditSnapshot]:
        with self._lock:
            accounts = list(self._accounts.values())
        return [a.snapshot() for a in accounts]
