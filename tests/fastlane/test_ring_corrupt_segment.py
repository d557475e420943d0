"""Readers refuse segments that are not a valid ring, with a clear error."""

from __future__ import annotations

import os
import time

import pytest

from gym_gui_bridge.errors import FastLaneBusyError, FastLaneCorruptError, FastLaneNotFoundError
from gym_gui_bridge.fastlane import (
    FastLaneConfig,
    FastLaneReader,
    FastLaneWriter,
    cleanup_segments,
    list_segments,
)
from gym_gui_bridge.fastlane.layout import FASTLANE_CREATE_GRACE_S


def _write_raw(run_id: str, data: bytes) -> None:
    fd = os.open(f"/dev/shm/mosaic.fastlane.{run_id}", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _patch(run_id: str, offset: int, data: bytes) -> None:
    with open(f"/dev/shm/mosaic.fastlane.{run_id}", "r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def test_missing_segment_is_not_found(run_id: str) -> None:
    with pytest.raises(FastLaneNotFoundError, match="no fast lane"):
        FastLaneReader.attach(run_id)


def test_foreign_segment_is_refused(run_id: str) -> None:
    _write_raw(run_id, b"definitely not a ring" * 40)
    with pytest.raises(FastLaneCorruptError, match="bad magic"):
        FastLaneReader.attach(run_id)
    entry = next(e for e in list_segments() if e.run_id == run_id)
    assert entry.status is None and "bad magic" in entry.problem


def test_truncated_segment_is_refused(run_id: str) -> None:
    _write_raw(run_id, b"MOSAICFL")
    with pytest.raises(FastLaneCorruptError, match="smaller than"):
        FastLaneReader.attach(run_id)


@pytest.mark.parametrize(
    ("offset", "data", "message"),
    [
        (8, (99).to_bytes(4, "little"), "layout version 99"),
        (32, (0).to_bytes(4, "little"), "impossible geometry"),
        (40, (2).to_bytes(4, "little"), "impossible geometry"),
        (44, (4).to_bytes(4, "little"), "pixel format"),
        (64, (1).to_bytes(8, "little"), "slot sizes"),
        (48, (16).to_bytes(4, "little"), "promises"),
        (128, b"someone-else\0", "header names run"),
    ],
)
def test_corrupt_header_fields_are_refused(
    run_id: str, offset: int, data: bytes, message: str
) -> None:
    writer = FastLaneWriter.create(run_id, FastLaneConfig(width=8, height=4))
    try:
        _patch(run_id, offset, data)
        with pytest.raises(FastLaneCorruptError, match=message):
            FastLaneReader.attach(run_id)
    finally:
        writer.close()


def test_writer_replaces_a_corrupt_segment(run_id: str) -> None:
    _write_raw(run_id, b"garbage" * 100)
    with FastLaneWriter.create(run_id, FastLaneConfig(width=4, height=4)) as writer:
        assert writer.generation == 1
        with FastLaneReader.attach(run_id) as reader:
            assert reader.generation == 1


def test_a_segment_without_header_yet_is_not_found_and_not_cleaned_up(run_id: str) -> None:
    # what a reader sees between the writer's ftruncate and its header write
    _write_raw(run_id, bytes(4096))
    with pytest.raises(FastLaneNotFoundError, match="being created"):
        FastLaneReader.attach(run_id)
    with pytest.raises(FastLaneBusyError, match="being created"):
        FastLaneWriter.create(run_id, FastLaneConfig(width=4, height=4))
    entry = next(e for e in list_segments() if e.run_id == run_id)
    assert entry.status is None and not entry.orphaned  # young: a writer may be creating it
    assert run_id not in {e.run_id for e in cleanup_segments(dry_run=True)}


def test_an_old_headerless_segment_is_an_orphan(run_id: str) -> None:
    _write_raw(run_id, bytes(4096))
    old = time.time() - 2 * FASTLANE_CREATE_GRACE_S
    os.utime(f"/dev/shm/mosaic.fastlane.{run_id}", (old, old))
    assert run_id in {e.run_id for e in cleanup_segments()}
    assert not os.path.exists(f"/dev/shm/mosaic.fastlane.{run_id}")
