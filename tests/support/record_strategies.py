"""Hypothesis strategies for valid records of every type (shared by the JSONL tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from gym_gui_bridge.protocol.records import (
    RUN_STATUSES,
    EpisodeRollup,
    RunRecord,
    ScalarRecord,
    StepRecord,
)

INT64 = 2**63 - 1
names = st.text(min_size=1, max_size=40)
counters = st.integers(min_value=0, max_value=INT64)
finite = st.floats(allow_nan=False, allow_infinity=False)
times = st.floats(min_value=0, max_value=4e9, allow_nan=False)
slots = st.integers(min_value=-1, max_value=1024)
actions = st.recursive(
    st.none() | st.integers(-(2**53), 2**53) | finite,
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=8,
).filter(lambda a: _depth(a) <= 8)


def _depth(value: object) -> int:
    return 1 + max((_depth(v) for v in value), default=0) if isinstance(value, list) else 0


common = (names, slots, names, counters, times)
steps = st.builds(
    StepRecord, *common, counters, counters, counters, actions, finite, st.booleans(),
    st.booleans(), st.none() | counters,
)  # fmt: skip
episodes = st.builds(
    EpisodeRollup, *common, counters, finite, counters, st.booleans(), st.booleans(), counters,
    st.floats(min_value=0, max_value=1e9),
)  # fmt: skip
scalars = st.builds(ScalarRecord, *common, names, finite, counters)
runs = st.builds(
    RunRecord, *common, st.sampled_from(RUN_STATUSES), st.lists(st.text()).map(tuple),
    st.text(), counters, st.none() | st.text(), st.none() | st.integers(-(2**31), 2**31),
)  # fmt: skip
records = st.one_of(steps, episodes, scalars, runs)
