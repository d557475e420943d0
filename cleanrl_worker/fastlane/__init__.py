"""The worker's fast lane: render the watched slot under a budget and publish it to the ring.

- :mod:`~cleanrl_worker.fastlane.wrapper`: ``FastLaneEnvWrapper``, around the watched slot.
- :mod:`~cleanrl_worker.fastlane.frame_targets`: where frames go (one slot's ring, a grid).
- :mod:`~cleanrl_worker.fastlane.budget`: when a frame is due (fps cap, share of wall time).
- :mod:`~cleanrl_worker.fastlane.render_shims`: rendering envs a library combination breaks.
"""

from __future__ import annotations

__all__: list[str] = []
