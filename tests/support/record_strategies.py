"""Hypothesis strategies for valid records of every type (shared by the JSONL and store tests).

Each field gets values of its domain (gym_gui_bridge.protocol.fields), so a new field is covered
without a change here; the table below states, independently of the codecs, what each domain
accepts.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from gym_gui_bridge.protocol.fields import record_fields
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
actions = st.recursive(
    st.none() | st.integers(-(2**53), 2**53) | finite,
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=8,
).filter(lambda a: _depth(a) <= 8)


def _depth(value: object) -> int:
    return 1 + max((_depth(v) for v in value), default=0) if isinstance(value, list) else 0


#: valid values of each field domain
DOMAIN_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "name": names,
    "text": st.text(),
    "status": st.sampled_from(RUN_STATUSES),
    "count": counters,
    "slot": st.integers(min_value=-1, max_value=1024),
    "exit_code": st.integers(-(2**31), 2**31),
    "real": finite,
    "non_negative": st.floats(min_value=0, max_value=4e9),
    "flag": st.booleans(),
    "action": actions,
    "strings": st.lists(st.text()).map(tuple),
}


def records_of(record_type: type) -> st.SearchStrategy[Any]:
    """Valid records of ``record_type``, every field drawn from its domain (or None, where
    the field is optional)."""
    fields = {
        f.name: st.none() | DOMAIN_VALUES[f.domain] if f.optional else DOMAIN_VALUES[f.domain]
        for f in record_fields(record_type)
    }
    return st.builds(record_type, **fields)


steps = records_of(StepRecord)
episodes = records_of(EpisodeRollup)
scalars = records_of(ScalarRecord)
runs = records_of(RunRecord)
records = st.one_of(steps, episodes, scalars, runs)
