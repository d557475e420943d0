"""Hostile names under the fast-lane prefix: other users' segments, directories, links, FIFOs,
a squatted run id, a segment truncated under a reader, a segment no writer ever set up.

Readers and the listing tools (``fastlanes``, ``cleanup``, the viewer's picker and consumer)
skip, with one line, anything under ``/dev/shm/mosaic.fastlane.`` that is not a regular file of
the current user; they never read, write or remove it. The second user is ``nobody`` (uid
65534), reached with ``setpriv`` (util-linux): those tests need root (as in CI) and start a
process, so they are marked ``slow``. Every name a test creates is removed in a ``finally``.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from pytestqt.qtbot import QtBot
from waits import WAIT_S
from worker_helpers import SUPPORT, attach_when_ready, run_script, watch_until

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from gym_gui_bridge.cli import main as bridge_main
from gym_gui_bridge.errors import FastLaneBusyError, FastLaneNotFoundError
from gym_gui_bridge.fastlane import (
    FastLaneConfig,
    FastLaneMetrics,
    FastLaneReader,
    FastLaneWriter,
    _shm,
    cleanup_segments,
    create_fastlane_name,
    list_segments,
    scan_segments,
)
from gym_gui_bridge.fastlane.layout import FASTLANE_CREATE_GRACE_S, RUN_ID_BYTES, RUN_ID_OFFSET

SHM = "/dev/shm"
OTHER_UID = 65534  # nobody
FAKE_PIXEL = 0xAB  # what a squatter's fake frames are filled with
FAKE_STEP = 424242  # and the global step their HUD claims
PEERS = str(SUPPORT / "ring_peers.py")

needs_second_user = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="acting as a second user (nobody) needs root and setpriv (util-linux)",
)


# --- helpers ------------------------------------------------------------------------------------


def shm_path(run_id: str) -> str:
    return f"{SHM}/{create_fastlane_name(run_id)}"


def as_other_user(script: str, stdin: bytes = b"") -> None:
    """Run ``sh -c script`` as uid/gid 65534 with no supplementary groups."""
    subprocess.run(
        [
            "setpriv",
            f"--reuid={OTHER_UID}",
            f"--regid={OTHER_UID}",
            "--clear-groups",
            "sh",
            "-c",
            script,
        ],
        input=stdin,
        check=True,
        timeout=WAIT_S,
        capture_output=True,
    )


def remove_names(run_id: str) -> None:
    """Remove every name of ``run_id`` (plain and alternates), whoever owns it (root can)."""
    path = shm_path(run_id)
    for name in [path, *glob.glob(glob.escape(path) + "+*")]:
        if os.path.isdir(name) and not os.path.islink(name):
            shutil.rmtree(name)
        elif os.path.lexists(name):
            os.unlink(name)


@pytest.fixture
def names() -> Iterator[Callable[[str], str]]:
    """``names(tag)``: a fresh run id; all its names are removed at the end, even on failure."""
    made: list[str] = []

    def make(tag: str) -> str:
        run = f"hostile-{tag}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        made.append(run)
        return run

    try:
        yield make
    finally:
        for run in made:
            remove_names(run)


def fake_ring(run_id: str) -> bytes:
    """The bytes of a valid ring naming ``run_id`` whose frame is the squatter's (LIVE, with a
    live writer pid: this test process)."""
    template = f"hostile-template-{uuid.uuid4().hex[:8]}"
    writer = FastLaneWriter.create(template, FastLaneConfig(width=8, height=4, env_slot=0))
    try:
        writer.publish(
            np.full((4, 8, 3), FAKE_PIXEL, np.uint8), FastLaneMetrics(global_step=FAKE_STEP)
        )
        with open(shm_path(template), "rb") as handle:
            data = bytearray(handle.read())
    finally:
        writer.close()
    data[RUN_ID_OFFSET : RUN_ID_OFFSET + RUN_ID_BYTES] = run_id.encode().ljust(RUN_ID_BYTES, b"\0")
    return bytes(data)


def squat(run_id: str, mode: str = "0666", data: bytes | None = None) -> str:
    """As nobody, create ``mosaic.fastlane.<run_id>`` holding a fake ring (or ``data``)."""
    path = shm_path(run_id)
    as_other_user(
        f"umask 077; cat > {path}; chmod {mode} {path}", fake_ring(run_id) if data is None else data
    )
    st = os.lstat(path)
    assert st.st_uid == OTHER_UID and stat.S_IMODE(st.st_mode) == int(mode, 8)
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gym_gui_bridge.cli", *args],
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )


def in_process_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[str, str]:
    assert bridge_main(list(args)) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return out, err


def assert_one_skip_note(err: str, path: str, reason: str) -> None:
    lines = [line for line in err.splitlines() if path in line]
    assert len(lines) == 1, err
    assert f"skipped {path}: {reason}" in lines[0], lines[0]


def listed_run_ids() -> set[str]:
    return {entry.run_id for entry in list_segments()}


# --- not a regular file: no second user needed ------------------------------------------------


def test_a_directory_under_the_prefix_is_skipped_by_every_tool(
    names: Callable[[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    run = names("dir")
    path = shm_path(run)
    os.mkdir(path)
    os.mkdir(f"{path}/inside")
    for command in ("fastlanes", "cleanup"):
        _, err = in_process_cli(capsys, command)
        assert_one_skip_note(err, path, "a directory")
    out, _ = in_process_cli(capsys, "fastlanes", "--json")
    assert run not in {row["run_id"] for row in json.loads(out)}
    assert os.path.isdir(f"{path}/inside")  # cleanup removed nothing
    with pytest.raises(FastLaneNotFoundError, match="a directory"):
        FastLaneReader.attach(run)
    # a writer of that run id goes elsewhere instead of failing
    with FastLaneWriter.create(run, FastLaneConfig(width=4, height=4)) as writer:
        assert writer.name.startswith(create_fastlane_name(run) + "+")
        assert "is a directory" in writer.displaced
        with FastLaneReader.attach(run) as reader:
            assert reader.name == writer.name


def test_a_symlink_to_a_file_of_the_user_is_never_followed(
    names: Callable[[str], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = names("link-own")
    target = tmp_path / "precious.bin"
    target.write_bytes(b"keep me" * 100)
    os.symlink(target, shm_path(run))
    _, err = in_process_cli(capsys, "fastlanes")
    assert_one_skip_note(err, shm_path(run), "a symbolic link")
    _, err = in_process_cli(capsys, "cleanup")
    assert_one_skip_note(err, shm_path(run), "a symbolic link")
    with pytest.raises(FastLaneNotFoundError, match="a symbolic link"):
        FastLaneReader.attach(run)
    writer = FastLaneWriter.create(run, FastLaneConfig(width=4, height=4))
    writer.publish(np.zeros((4, 4, 3), np.uint8))
    writer.close()
    assert os.path.islink(shm_path(run))  # neither removed nor replaced
    assert target.read_bytes() == b"keep me" * 100  # never written, truncated or mapped


def test_a_fifo_under_the_prefix_neither_blocks_nor_breaks_a_tool(
    names: Callable[[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    run = names("fifo")
    os.mkfifo(shm_path(run))
    _, err = in_process_cli(capsys, "fastlanes")  # opening a FIFO would block: it is not opened
    assert_one_skip_note(err, shm_path(run), "a FIFO")
    _, err = in_process_cli(capsys, "cleanup", "--dry-run")
    assert_one_skip_note(err, shm_path(run), "a FIFO")
    with pytest.raises(FastLaneNotFoundError, match="a FIFO"):
        FastLaneReader.attach(run)
    assert stat.S_ISFIFO(os.lstat(shm_path(run)).st_mode)


def test_the_picker_lists_only_the_users_rings_and_notes_the_rest_once(
    names: Callable[[str], str], qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    from gym_gui_bridge.viewer.run_picker import RunPicker

    run_dir, run_fifo, run_ok = names("pick-dir"), names("pick-fifo"), names("pick-ok")
    os.mkdir(shm_path(run_dir))
    os.mkfifo(shm_path(run_fifo))
    with FastLaneWriter.create(run_ok, FastLaneConfig(width=4, height=4)):
        picker = RunPicker()
        qtbot.addWidget(picker)
        with caplog.at_level("WARNING"):
            picker.refresh()
            picker.refresh()  # re-listing notes nothing new
        ids = picker.run_ids()
        assert run_ok in ids and run_dir not in ids and run_fifo not in ids
    notes = [
        r.getMessage() for r in caplog.records if "LOG_FASTLANE_SEGMENT_SKIPPED" in r.getMessage()
    ]
    assert sum(shm_path(run_dir) in n for n in notes) == 1
    assert sum(shm_path(run_fifo) in n for n in notes) == 1
    assert all(r.exc_info is None for r in caplog.records)


# --- a segment no writer ever set up ------------------------------------------------------------


def _zero_segment(run_id: str, size: int, age_s: float) -> str:
    path = shm_path(run_id)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        os.ftruncate(fd, size)
    finally:
        os.close(fd)
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


@pytest.mark.parametrize("size", [4096, 0], ids=["all-zero", "empty"])
def test_a_stale_never_set_up_segment_no_longer_blocks_its_run_id(
    names: Callable[[str], str], size: int, capsys: pytest.CaptureFixture[str]
) -> None:
    young, old = names("young"), names("stale")
    _zero_segment(young, size, age_s=0.0)
    _zero_segment(old, size, age_s=2 * FASTLANE_CREATE_GRACE_S)
    # younger than the grace: a writer may be between creating and setting it up
    with pytest.raises(FastLaneBusyError, match="being created"):
        FastLaneWriter.create(young, FastLaneConfig(width=4, height=4))
    # older: reclaimable; a new writer takes the plain name over
    with FastLaneWriter.create(old, FastLaneConfig(width=4, height=4)) as writer:
        assert writer.name == create_fastlane_name(old) and writer.generation == 1
        with FastLaneReader.attach(old) as reader:
            assert reader.status().writer_pid == os.getpid()
    # and cleanup removes such a segment, saying why
    remove_names(old)
    _zero_segment(old, size, age_s=2 * FASTLANE_CREATE_GRACE_S)
    entry = next(e for e in list_segments() if e.run_id == old)
    assert entry.orphaned and entry.status is None
    out, _ = in_process_cli(capsys, "cleanup")
    assert f"removed {create_fastlane_name(old)}" in out
    assert not os.path.lexists(shm_path(old))
    assert os.path.exists(shm_path(young))  # the young one is left alone


# --- other users' segments ----------------------------------------------------------------------


@pytest.mark.slow
@needs_second_user
def test_another_users_0600_segment_is_never_listed_read_or_removed(
    names: Callable[[str], str],
) -> None:
    run = names("other-0600")
    path = squat(run, mode="0600")
    before = Path(path).read_bytes()
    for args in (("fastlanes",), ("fastlanes", "--json"), ("cleanup",)):
        result = cli(*args)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        assert_one_skip_note(result.stderr, path, "owned by uid 65534")
        assert run not in result.stdout
    assert run not in listed_run_ids()
    assert run not in {e.run_id for e in cleanup_segments()}
    assert Path(path).read_bytes() == before and os.lstat(path).st_uid == OTHER_UID


@pytest.mark.slow
@needs_second_user
def test_a_0666_squat_with_fake_frames_is_never_shown(
    names: Callable[[str], str], qtbot: QtBot
) -> None:
    from gym_gui_bridge.viewer.consumer import FastLaneConsumer, newest_live_run

    run = names("squat-0666")
    squat(run, mode="0666")
    with pytest.raises(FastLaneNotFoundError, match="owned by uid 65534"):
        FastLaneReader.attach(run)
    assert run not in listed_run_ids()
    assert newest_live_run() != run  # follow-newest never picks it
    consumer = FastLaneConsumer(run)
    shown: list[object] = []
    consumer.frame_ready.connect(shown.append)
    consumer.start()
    try:
        assert consumer.status == "fastlane-unavailable"
        assert "owned by uid 65534" in consumer.detail
        consumer.set_run(run)  # attach again, as the retry timer does: still nothing
        assert consumer.status == "fastlane-unavailable" and not shown
        assert consumer.frames_shown == 0
    finally:
        consumer.stop()
    # the user's own ring of that run id (under an alternate name) is what readers get
    with FastLaneWriter.create(run, FastLaneConfig(width=8, height=4)) as writer:
        writer.publish(np.full((4, 8, 3), 7, np.uint8), FastLaneMetrics(global_step=1))
        with FastLaneReader.attach(run) as reader:
            frame = reader.latest_frame()
            assert frame is not None and int(frame.data[0, 0, 0]) == 7
            assert frame.metrics.global_step == 1 and reader.name == writer.name


@pytest.mark.slow
@needs_second_user
def test_squatted_alternate_names_and_links_to_other_users_files_are_skipped(
    names: Callable[[str], str],
) -> None:
    run = names("alt-squat")
    plain = squat(run, mode="0600")
    alternate = f"{plain}+deadbeef"  # a squatter guessing the alternate-name pattern
    as_other_user(f"umask 0; cat > {alternate}", fake_ring(run))
    theirs = f"{SHM}/hostile-target-{uuid.uuid4().hex[:8]}"
    linked = names("link-other")
    try:
        as_other_user(f"umask 077; echo secret > {theirs}; ln -s {theirs} {shm_path(linked)}")
        result = cli("fastlanes")
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        assert_one_skip_note(result.stderr, alternate, "owned by uid 65534")
        assert_one_skip_note(result.stderr, shm_path(linked), "a symbolic link")
        with pytest.raises(FastLaneNotFoundError):
            FastLaneReader.attach(run)  # neither the plain nor the alternate squat
        with pytest.raises(FastLaneNotFoundError, match="a symbolic link"):
            FastLaneReader.attach(linked)
        assert cli("cleanup").returncode == 0
        assert os.path.exists(alternate) and os.path.islink(shm_path(linked))
        assert Path(theirs).read_text() == "secret\n"
    finally:
        if os.path.lexists(theirs):
            os.unlink(theirs)


# --- a squatted run id: the worker goes on --------------------------------------------------------


def _episodes_stored(db: Path, run_id: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        query = "SELECT count(*) FROM episodes WHERE run_id = ?"
        return int(conn.execute(query, (run_id,)).fetchone()[0])


@pytest.mark.slow
@needs_second_user
def test_a_squatted_run_id_costs_the_worker_one_line_not_its_run(
    names: Callable[[str], str], tmp_path: Path
) -> None:
    run = names("worker-squat")
    path = squat(run, mode="0666")
    before = Path(path).read_bytes()
    db = tmp_path / "telemetry.sqlite"
    result = run_script(
        "--num-envs",
        "2",
        "--total-timesteps",
        "200",
        FASTLANE="1",
        FASTLANE_RUN_ID=run,
        FASTLANE_DB=str(db),
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    done = re.search(r"done: 200 steps, (\d+) episodes", result.stdout)
    assert done is not None and int(done.group(1)) >= 2, result.stdout  # training completed
    lines = [line for line in result.stderr.splitlines() if path in line]
    assert len(lines) == 1, result.stderr
    assert "owned by uid 65534" in lines[0] and "frames go to" in lines[0]
    assert _episodes_stored(db, run) == int(done.group(1))  # telemetry intact
    assert Path(path).read_bytes() == before and os.lstat(path).st_uid == OTHER_UID
    assert not glob.glob(glob.escape(path) + "+*")  # the run removed its own ring at exit


@pytest.mark.slow
@needs_second_user
def test_a_viewer_finds_a_squatted_runs_frames_by_run_id(
    names: Callable[[str], str], start_script: Callable[..., subprocess.Popen[str]]
) -> None:
    run = names("watch-squat")
    path = squat(run, mode="0666")
    proc = start_script(
        "--num-envs", "2", "--min-seconds", "600", "--step-sleep", "0.001",
        FASTLANE="1", FASTLANE_RUN_ID=run, FASTLANE_ONLY="1",
    )  # fmt: skip
    reader = attach_when_ready(run)
    try:
        assert reader.name.startswith(create_fastlane_name(run) + "+")
        assert reader.status().writer_pid == proc.pid
        frame = watch_until(reader, lambda f: f.seq > 1)
        assert frame is not None and int(frame.data[0, 0, 0]) != FAKE_PIXEL
        assert frame.metrics.global_step != FAKE_STEP
    finally:
        reader.close()
    proc.send_signal(signal.SIGINT)  # the test's way to end the endless run: Ctrl-C
    _, err = proc.communicate(timeout=WAIT_S)
    # the only traceback is the script's own KeyboardInterrupt, nothing from the fast lane
    assert err.count("Traceback") == 1 and err.rstrip().endswith("KeyboardInterrupt"), err
    assert "gym_gui_bridge" not in err and "cleanrl_worker" not in err
    assert len([line for line in err.splitlines() if path in line]) == 1, err


# --- truncation under a live reader -------------------------------------------------------------

_READER_CHILD = """
import sys, time
from gym_gui_bridge.errors import FastLaneNotFoundError
from gym_gui_bridge.fastlane import FastLaneReader
reader = FastLaneReader.attach(sys.argv[1])
assert reader.latest_frame() is not None
print("ready", flush=True)
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        reader.latest_frame(only_new=False)
        reader.status()
    except FastLaneNotFoundError as error:
        print("gone:", error, flush=True)
        break
    time.sleep(0.001)
print("alive", flush=True)
"""


@pytest.mark.slow
def test_a_reader_survives_the_segment_truncated_under_it(
    names: Callable[[str], str], qtbot: QtBot
) -> None:
    from gym_gui_bridge.viewer.consumer import FastLaneConsumer

    run = names("truncate")
    holder = subprocess.Popen(
        [sys.executable, PEERS, "hold", run], stdout=subprocess.PIPE, text=True
    )
    reader: subprocess.Popen[str] | None = None
    consumer = FastLaneConsumer(run)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        reader = subprocess.Popen(
            [sys.executable, "-c", _READER_CHILD, run, str(WAIT_S)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert reader.stdout is not None and reader.stdout.readline().strip() == "ready"
        consumer.start()
        assert consumer.status == "connected"
        os.truncate(shm_path(run), 0)
        out, err = reader.communicate(timeout=WAIT_S)
        assert reader.returncode == 0, err  # not killed by SIGBUS (-7)
        assert "Traceback" not in err
        assert "truncated to 0 bytes" in out and "the segment is gone" in out and "alive" in out
        qtbot.waitUntil(lambda: consumer.status == "reconnecting", timeout=WAIT_S * 1000)
        assert "the segment is gone" in consumer.detail
    finally:
        consumer.stop()
        for proc in (reader, holder):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(WAIT_S)
        if holder.stdout is not None:
            holder.stdout.close()


def _mappings_of(path: str) -> int:
    """How many of this process's memory mappings are of the file at ``path``."""
    lines = Path("/proc/self/maps").read_text().splitlines()
    return sum(
        line.endswith(" " + path) or line.endswith(" " + path + " (deleted)") for line in lines
    )


def test_readers_and_listings_never_map_a_segment(names: Callable[[str], str]) -> None:
    """Nothing mapped, nothing to fault on: a truncation at any moment is a short read."""
    run = names("unmapped")
    with FastLaneWriter.create(run, FastLaneConfig(width=8, height=4)) as writer:
        writer.publish(np.full((4, 8, 3), 9, np.uint8), FastLaneMetrics(global_step=3))
        path = shm_path(run)
        mapped_by_writer = _mappings_of(path)
        assert mapped_by_writer >= 1  # the check can see a mapping of this file
        with FastLaneReader.attach(run) as reader:
            frame = reader.latest_frame()
            status = reader.status()
            entries = [e for e in list_segments() if e.run_id == run]
            assert _mappings_of(path) == mapped_by_writer
        assert frame is not None and int(frame.data[0, 0, 0]) == 9
        assert status.latest_metrics is not None and status.latest_metrics.global_step == 3
        assert [e.status.frames_published for e in entries if e.status] == [1]
        size = os.path.getsize(path)
        with FastLaneReader.attach(run) as reader:
            os.truncate(path, 0)
            with pytest.raises(FastLaneNotFoundError, match="truncated to 0 bytes"):
                reader.latest_frame()
            with pytest.raises(FastLaneNotFoundError, match="the segment is gone"):
                reader.status()  # closed, and it says why from now on
        os.truncate(path, size)  # the writer's mapping is whole again (zeros) for its close()


def test_scan_reports_skipped_names_and_keeps_own_alternates(
    names: Callable[[str], str],
) -> None:
    run = names("scan")
    os.mkdir(shm_path(run))
    with FastLaneWriter.create(run, FastLaneConfig(width=4, height=4)) as writer:
        scan = scan_segments()
        assert [s.reason for s in scan.skipped if s.name == create_fastlane_name(run)] == [
            "a directory"
        ]
        own = [e for e in scan.entries if e.run_id == run]
        assert [e.name for e in own] == [writer.name] and not own[0].orphaned
        assert run not in {e.run_id for e in cleanup_segments(dry_run=True)}


# --- shared memory full at ring creation --------------------------------------------------------


class _BigFrames(gym.Env):  # type: ignore[type-arg]
    """Renders 600x800 RGB frames: a 3-slot ring of them needs 4.3 MB."""

    metadata = {"render_modes": ["rgb_array"]}
    render_mode = "rgb_array"
    observation_space = gym.spaces.Box(0.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, action: int):  # type: ignore[no-untyped-def]
        return np.zeros(1, np.float32), 1.0, False, False, {}

    def render(self) -> np.ndarray:
        return np.zeros((600, 800, 3), np.uint8)


@pytest.fixture
def tiny_shm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A 1 MiB tmpfs standing in for /dev/shm (needs root and the right to mount)."""
    where = tmp_path / "shm"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=1777", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    monkeypatch.setattr(_shm, "SHM_DIR", str(where))
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True, timeout=WAIT_S)


@pytest.mark.slow
def test_full_shared_memory_costs_the_worker_one_line_not_its_run(
    tiny_shm: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cleanrl_worker.fastlane.wrapper import FastLaneEnvWrapper

    run = f"hostile-full-{uuid.uuid4().hex[:8]}"
    env = FastLaneEnvWrapper(_BigFrames(), run_id=run, slot=0)
    try:
        env.reset(seed=0)  # would create the ring: no room for it
        for _ in range(5):
            env.step(0)
        env.reset()
    finally:
        env.close()
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "cleanrl-fastlane" in line]
    assert len(lines) == 1 and "No space left on device" in lines[0], err
    assert "training continues" in lines[0] and "Traceback" not in err
    assert env.writer is None
    assert os.listdir(tiny_shm) == []  # nothing half-made left behind
