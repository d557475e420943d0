"""Several processes write one SQLite file at once (AsyncVectorEnv children, parallel runs)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from gym_gui_bridge.store.schema import LATEST_VERSION

pytestmark = pytest.mark.slow  # every test here starts processes

TIMEOUT_S = 120.0

WRITER = textwrap.dedent(
    """
    import sys
    from gym_gui_bridge.protocol.records import EpisodeRollup, StepRecord
    from gym_gui_bridge.bus.run_bus import RunBus
    from gym_gui_bridge.config.store import SinkConfig
    from gym_gui_bridge.store.sink import TelemetryDBSink

    path, run_id, slot, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    bus = RunBus()
    sink = TelemetryDBSink(bus, path, config=SinkConfig(batch_size=64))
    sink.start()
    common = dict(run_id=run_id, slot=slot, agent_id="default", wall_time=1.0, truncated=False)
    for i in range(n):
        bus.publish(StepRecord(
            **common, seq=i, episode=i // 5, step=i % 5, global_step=i, action=0, reward=1.0,
            terminated=False,
        ))
        if i % 5 == 4:
            bus.publish(EpisodeRollup(
                **common, seq=i // 5, episode=i // 5, ep_return=5.0, length=5, terminated=True,
                global_step=i, duration=0.0,
            ))
    ok = sink.stop(60.0)
    stats = sink.stats()
    print(stats.written, stats.failed_batches, stats.lost)
    sys.exit(0 if ok and stats.lost == 0 else 3)
    """
)


def test_four_processes_write_the_same_file_without_losing_records(tmp_path: Path) -> None:
    path, run_id, n = tmp_path / "shared.sqlite", f"mp-{uuid.uuid4().hex[:8]}", 3000
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), run_id, str(slot), str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for slot in range(4)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=TIMEOUT_S)
        assert proc.returncode == 0, err
        assert out.split()[0] == str(n + n // 5)
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT slot, COUNT(*) FROM steps WHERE run_id = ? GROUP BY slot ORDER BY slot", (run_id,)
    ).fetchall()
    assert rows == [(slot, n) for slot in range(4)]
    episodes = conn.execute("SELECT COUNT(*) FROM episodes WHERE run_id = ?", (run_id,)).fetchone()
    assert episodes == (4 * n // 5,)
    # each migration applied once, though four processes opened the new file together
    assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone() == (LATEST_VERSION,)
