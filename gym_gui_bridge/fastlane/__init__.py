"""The fast lane: a shared-memory ring carrying the newest frames and HUD of a run.

Examples of use are on :class:`FastLaneWriter` and :class:`FastLaneReader`.
"""

from __future__ import annotations

from gym_gui_bridge.fastlane.config import (
    FastLaneConfig,
    FastLaneFrame,
    FastLaneMetrics,
    FastLaneStatus,
)
from gym_gui_bridge.fastlane.layout import SegmentState, create_fastlane_name, validate_run_id
from gym_gui_bridge.fastlane.reader import FastLaneReader
from gym_gui_bridge.fastlane.registry import (
    SegmentEntry,
    SegmentScan,
    SkippedName,
    cleanup_segments,
    list_segments,
    log_skipped,
    scan_segments,
)
from gym_gui_bridge.fastlane.writer import FastLaneWriter

__all__ = [
    "FastLaneConfig",
    "FastLaneFrame",
    "FastLaneMetrics",
    "FastLaneReader",
    "FastLaneStatus",
    "FastLaneWriter",
    "SegmentEntry",
    "SegmentScan",
    "SegmentState",
    "SkippedName",
    "cleanup_segments",
    "create_fastlane_name",
    "list_segments",
    "log_skipped",
    "scan_segments",
    "validate_run_id",
]
