"""The inspection commands on a real SQLite file: tables, --json, filters, export, errors."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from record_factory import episode, run, scalar, step

from gym_gui_bridge.protocol.jsonl import JsonlDecoder
from gym_gui_bridge.store.schema import open_writer
from gym_gui_bridge.store.writes import write_batch

pytestmark = pytest.mark.slow  # every test here starts processes

RUN = f"cli-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "runs.sqlite"
    conn = open_writer(path)
    records: list[object] = [
        run(run_id=RUN, wall_time=1.7e9, argv=("ppo.py",), version="0.1.0", pid=42)
    ]
    for slot in range(2):
        for number in range(3):
            length = 3 + slot
            records.append(
                episode(
                    run_id=RUN,
                    slot=slot,
                    seq=number,
                    wall_time=1.7e9,
                    episode=number,
                    ep_return=float(10 * slot + number),
                    length=length,
                    global_step=0,
                )
            )
            if slot == 1:
                records += [
                    step(
                        run_id=RUN,
                        slot=1,
                        seq=number * length + s,
                        wall_time=1.7e9,
                        episode=number,
                        step=s,
                        action=[s, 1],
                        reward=0.5,
                        terminated=s == length - 1,
                        frame_seq=s,
                    )
                    for s in range(length)
                ]
    records += [
        scalar(run_id=RUN, seq=i, wall_time=1.7e9, tag=tag, value=float(i), step=i * 10)
        for i, tag in enumerate(["loss", "sps", "loss"])
    ]
    records.append(
        run(
            run_id=RUN,
            seq=1,
            wall_time=1.7e9 + 60,
            status="finished",
            argv=("ppo.py",),
            version="0.1.0",
            pid=42,
        )
    )
    write_batch(conn, records)  # type: ignore[arg-type]
    conn.close()
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gym_gui_bridge.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_runs_lists_the_run_as_a_table_and_as_json(db: Path) -> None:
    table = cli("runs", "--db", str(db))
    assert table.returncode == 0
    header, row = table.stdout.splitlines()[:2]
    assert header.split()[:2] == ["RUN_ID", "STATUS"] and row.split()[:2] == [RUN, "finished"]
    runs = json.loads(cli("runs", "--db", str(db), "--json").stdout)
    assert [(r["run_id"], r["status"], r["episodes"], r["argv"]) for r in runs] == [
        (RUN, "finished", 6, ["ppo.py"])
    ]


def test_episodes_json_has_slot_episode_return_length_for_every_episode(db: Path) -> None:
    result = cli("episodes", RUN, "--db", str(db), "--json")
    assert result.returncode == 0, result.stderr
    episodes = json.loads(result.stdout)
    assert [(e["slot"], e["episode"], e["return"], e["length"]) for e in episodes] == [
        (slot, ep, float(10 * slot + ep), 3 + slot) for slot in range(2) for ep in range(3)
    ]
    one_slot = json.loads(cli("episodes", RUN, "--db", str(db), "--json", "--slot", "1").stdout)
    assert {e["slot"] for e in one_slot} == {1}
    table = cli("episodes", RUN, "--db", str(db)).stdout.splitlines()
    assert table[0].split()[:4] == ["SLOT", "EPISODE", "RETURN", "LENGTH"] and len(table) == 7


def test_steps_filter_by_episode_and_slot(db: Path) -> None:
    steps = json.loads(cli("steps", RUN, "--db", str(db), "--json", "--episode", "1").stdout)
    assert [(s["slot"], s["episode"], s["step"]) for s in steps] == [(1, 1, i) for i in range(4)]
    assert steps[-1]["terminated"] is True and steps[0]["truncated"] is False
    assert steps[0]["reward"] == 0.5 and steps[0]["action"] == [0, 1] and steps[2]["frame_seq"] == 2
    assert json.loads(cli("steps", RUN, "--db", str(db), "--json", "--slot", "0").stdout) == []
    table = cli("steps", RUN, "--db", str(db), "--episode", "0").stdout.splitlines()
    assert table[0].split()[:3] == ["SLOT", "EPISODE", "STEP"] and len(table) == 5


def test_scalars_filter_by_tag(db: Path) -> None:
    scalars = json.loads(cli("scalars", RUN, "--db", str(db), "--json", "--tag", "loss").stdout)
    assert [(s["tag"], s["value"], s["step"]) for s in scalars] == [
        ("loss", 0.0, 0),
        ("loss", 2.0, 20),
    ]
    assert len(json.loads(cli("scalars", RUN, "--db", str(db), "--json").stdout)) == 3


@pytest.mark.parametrize("command", ["episodes", "steps", "scalars"])
def test_an_unknown_run_is_a_clear_error_with_exit_code_1(db: Path, command: str) -> None:
    result = cli(command, "no-such-run", "--db", str(db), "--json")
    assert result.returncode == 1
    assert "no run 'no-such-run'" in result.stderr and result.stdout == ""


def test_a_missing_database_is_a_clear_error_with_exit_code_1(tmp_path: Path) -> None:
    result = cli("runs", "--db", str(tmp_path / "missing.sqlite"))
    assert result.returncode == 1
    assert "missing.sqlite" in result.stderr and not (tmp_path / "missing.sqlite").exists()


def test_export_jsonl_can_be_decoded_again(db: Path, tmp_path: Path) -> None:
    result = cli("export", RUN, "--db", str(db), "--format", "jsonl", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    decoder = JsonlDecoder()
    kinds: dict[str, int] = {}
    for name in ("run", "episodes", "steps", "scalars"):
        for line in (tmp_path / f"{name}.jsonl").read_bytes().split(b"\n")[:-1]:
            record = decoder.decode(line)
            assert record is not None and record.run_id == RUN
            kinds[record.kind] = kinds.get(record.kind, 0) + 1
    assert decoder.stats.rejected == 0
    assert kinds == {"run": 2, "episode": 6, "step": 12, "scalar": 3}


def test_export_csv_writes_one_table_per_file(db: Path, tmp_path: Path) -> None:
    assert (
        cli("export", RUN, "--db", str(db), "--format", "csv", "--out", str(tmp_path)).returncode
        == 0
    )
    with open(tmp_path / "episodes.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 and {"slot", "episode", "return", "length"} <= set(rows[0])
    assert cli("export", "nope", "--db", str(db), "--out", str(tmp_path)).returncode == 1
