"""Helpers shared by the CleanRL-style test scripts in this folder (what CleanRL inlines).

``finished_episodes`` reads the episode statistics of the sub-envs' ``RecordEpisodeStatistics``
out of a vector step's ``infos`` in all three layouts (gymnasium 0.29's ``final_info`` list,
1.x ``SAME_STEP``'s ``final_info`` dict of arrays, 1.x ``NEXT_STEP``'s masked ``episode``), so
the scripts print CleanRL's ``global_step=..., episodic_return=...`` line on both gymnasium
lines. ``wait_for`` lets a test attach a viewer before training starts.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

WAIT_LIMIT_S = 120.0


def finished_episodes(infos: dict[str, Any]) -> list[tuple[int, Any]]:
    """(sub-env index, the episode's ``r`` exactly as RecordEpisodeStatistics holds it)."""
    found: list[tuple[int, Any]] = []
    final_info = infos.get("final_info")
    if isinstance(final_info, dict):
        episode, mask = final_info.get("episode"), final_info.get("_episode")
        if episode is not None and mask is not None:
            found.extend((int(i), episode["r"][i]) for i in np.flatnonzero(mask))
    elif final_info is not None:
        for index, info in enumerate(final_info):
            if info and "episode" in info:
                found.append((index, info["episode"]["r"]))
    elif "episode" in infos:
        episode, mask = infos["episode"], infos["_episode"]
        found.extend((int(i), episode["r"][i]) for i in np.flatnonzero(mask))
    return found


def wait_for(path: str | None) -> None:
    """Block until ``path`` exists (at most ``WAIT_LIMIT_S``); None: return at once."""
    deadline = time.monotonic() + WAIT_LIMIT_S
    while path and not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)
