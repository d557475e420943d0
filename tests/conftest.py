"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest


@pytest.fixture
def run_id() -> Iterator[str]:
    """A run id no other test (or other process on this machine) uses."""
    rid = f"test-{os.getpid()}-{uuid.uuid4().hex[:10]}"
    yield rid
    # a test that failed half-way must not leave a segment behind
    path = f"/dev/shm/mosaic.fastlane.{rid}"
    if os.path.exists(path):
        os.unlink(path)
