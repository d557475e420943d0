"""Slow-lane store rate: records per second through the recording wrapper -> embedded recorder
-> SQLite, against SQLite's own batched ``executemany`` insert rate measured in the same run;
plus JSONL encode/decode rates and the recording cost on the training thread.

    python bench/bench_store_rate.py [--steps 200000]

Every rate is measured in this process, on this machine, now: compare the ratios, not the
absolute numbers (the machine is shared).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from cleanrl_worker.slowlane import recorder as slowlane
from cleanrl_worker.slowlane.episodes import VectorStepCounter
from cleanrl_worker.slowlane.global_step import VectorStepCount
from gym_gui_bridge.config import DB_SINK_BATCH_SIZE
from gym_gui_bridge.protocol.jsonl import decode_record, encode_record
from gym_gui_bridge.protocol.records import StepRecord
from gym_gui_bridge.store.columns import sanitised_row
from gym_gui_bridge.store.schema import open_writer
from gym_gui_bridge.store.writes import STEP_INSERT_SQL

EPISODE_LENGTH = 200


class _CheapEnv(gym.Env):  # type: ignore[type-arg]
    """A near-free env, so the benchmark measures recording, not simulation."""

    observation_space = gym.spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self) -> None:
        self._obs = np.zeros(1, np.float32)
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        self._t = 0
        return self._obs, {}

    def step(self, action: Any) -> Any:
        self._t += 1
        return self._obs, 1.0, self._t >= EPISODE_LENGTH, False, {}


def _steps(run_id: str, n: int) -> list[StepRecord]:
    return [
        StepRecord(
            run_id,
            0,
            "default",
            i,
            time.time(),
            i // EPISODE_LENGTH,
            i % EPISODE_LENGTH,
            i,
            1,
            1.0,
            False,
            False,
        )
        for i in range(n)
    ]


def sqlite_ceiling(folder: Path, n: int) -> tuple[float, float]:
    """Rows/s of a bare batched executemany: into a keyless table, and into the steps table."""
    rows = [sanitised_row(r) for r in _steps("ceiling", n)]
    rates = []
    for name, sql in (
        ("plain", "INSERT INTO plain VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        ("steps", STEP_INSERT_SQL),
    ):
        conn = open_writer(folder / f"ceiling-{name}.sqlite")
        conn.execute("CREATE TABLE plain (a, b, c, d, e, f, g, h, i, j, k, l, m)")
        start = time.perf_counter()
        for i in range(0, n, DB_SINK_BATCH_SIZE):
            conn.execute("BEGIN")
            conn.executemany(sql, rows[i : i + DB_SINK_BATCH_SIZE])
            conn.execute("COMMIT")
        rates.append(n / (time.perf_counter() - start))
        conn.close()
    return rates[0], rates[1]


def _hooked(recorder: slowlane.Recorder) -> gym.Env:  # type: ignore[type-arg]
    """One slot as the vector-env hook builds it: the recorder right above the env, the
    vector-step counter on top, the run's global_step clock decided (``after_step``)."""
    count = VectorStepCount()
    env = VectorStepCounter(
        recorder.wrap(_CheapEnv(), 0, vector_steps=count), count, next_step_autoreset=False
    )
    recorder.clock.watch(1, lambda: count.value)
    count.value = 1
    recorder.clock.observe("charts/episodic_return", 1)
    count.value = 0
    return env


def pipeline(folder: Path, n: int) -> tuple[float, float, float]:
    """(records/s stored end to end, training-thread us per step recorded, bare us per step)."""
    env = _CheapEnv()
    env.reset()
    start = time.perf_counter()
    for _ in range(n):
        _, _, terminated, _, _ = env.step(0)
        if terminated:
            env.reset()
    bare_us = (time.perf_counter() - start) / n * 1e6

    db = folder / "pipeline.sqlite"
    run_id = f"bench-{uuid.uuid4().hex[:8]}"
    recorder = slowlane.start(
        run_id, db_path=str(db), steps="all", mirror_scalars=False, install_handlers=False
    )
    env2 = _hooked(recorder)
    env2.reset()
    start = time.perf_counter()
    for _ in range(n):
        _, _, terminated, _, _ = env2.step(0)
        if terminated:
            env2.reset()
    loop_s = time.perf_counter() - start
    assert recorder.flush(timeout=600), "recorder did not flush"
    total_s = time.perf_counter() - start
    assert recorder.close(timeout=600)
    conn = sqlite3.connect(db)
    stored = sum(
        conn.execute(f"SELECT COUNT(*) FROM {t} WHERE run_id = ?", (run_id,)).fetchone()[0]
        for t in ("steps", "episodes")
    )
    conn.close()
    expected = n + n // EPISODE_LENGTH  # the clock's own scalar is not counted
    assert stored == expected, f"stored {stored} of {expected} records"
    return stored / total_s, loop_s / n * 1e6, bare_us


def episodes_only_cost(folder: Path, n: int) -> float:
    """Training-thread us per env step of a slot that records episodes only (the default for
    every unwatched slot)."""
    run_id = f"bench-ep-{uuid.uuid4().hex[:8]}"
    recorder = slowlane.start(
        run_id,
        db_path=str(folder / "episodes.sqlite"),
        steps="none",
        mirror_scalars=False,
        install_handlers=False,
    )
    env = _hooked(recorder)
    env.reset()
    start = time.perf_counter()
    for _ in range(n):
        _, _, terminated, _, _ = env.step(0)
        if terminated:
            env.reset()
    cost = (time.perf_counter() - start) / n * 1e6
    assert recorder.close(timeout=600)
    return cost


def codec(n: int) -> tuple[float, float]:
    records = _steps("codec-run", n)
    start = time.perf_counter()
    lines = [encode_record(r) for r in records]
    encode = n / (time.perf_counter() - start)
    start = time.perf_counter()
    for line in lines:
        decode_record(line)
    return encode, n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int, default=200_000, help="steps (records) per measurement"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="rounds; the best round of each is shown"
    )
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # queue-pressure warnings are expected while flooding
    folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
    plain = keyed = stored = encode = decode = 0.0
    loop_us = bare_us = episode_us = float("inf")
    try:
        for _ in range(args.repeats):  # interleaved: every ratio compares neighbouring runs
            p, k = sqlite_ceiling(folder, args.steps)
            s, lu, bu = pipeline(folder, args.steps)
            e, d = codec(args.steps)
            episode_us = min(episode_us, episodes_only_cost(folder, args.steps))
            plain, keyed, stored = max(plain, p), max(keyed, k), max(stored, s)
            loop_us, bare_us = min(loop_us, lu), min(bare_us, bu)
            encode, decode = max(encode, e), max(decode, d)
            for leftover in folder.iterdir():
                leftover.unlink()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"records per measurement            {args.steps} (best of {args.repeats} rounds)")
    print(f"SQLite executemany, keyless table   {plain:>10,.0f} rows/s")
    print(f"SQLite executemany, steps table     {keyed:>10,.0f} rows/s")
    print(
        f"wrapper -> recorder -> SQLite       {stored:>10,.0f} records/s "
        f"({stored / keyed:.2f}x steps-table ceiling, {stored / plain:.2f}x keyless)"
    )
    print(
        f"training thread per recorded step   {loop_us:>10.2f} us (bare env step {bare_us:.2f} us, "
        f"recording adds {loop_us - bare_us:.2f} us)"
    )
    print(
        f"training thread per unwatched step  {episode_us:>10.2f} us (episodes only; "
        f"recording adds {episode_us - bare_us:.2f} us)"
    )
    print(f"JSONL encode                        {encode:>10,.0f} records/s")
    print(f"JSONL decode (strict)               {decode:>10,.0f} records/s")


if __name__ == "__main__":
    main()
