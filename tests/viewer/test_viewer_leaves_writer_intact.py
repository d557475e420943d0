"""Twenty viewers opened and closed against a live writer leave its segment and frames intact.

Each viewer is a real process that attaches, paints, saves a snapshot and exits, the path on
which Python's resource tracker would unlink a segment attached the ordinary way.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from waits import WAIT_S, wait_until

from gym_gui_bridge.fastlane import FastLaneReader, SegmentState, _shm, create_fastlane_name

pytestmark = pytest.mark.slow  # every test here starts processes

VIEWERS = 20
AT_ONCE = 2
COLOUR = (12, 200, 34)


def test_twenty_viewers_leave_the_writers_segment_and_frames_intact(
    tmp_path: Path,
    run_id: str,
    spawn_writer: Callable[..., subprocess.Popen[str]],
    child_env: Callable[..., dict[str, str]],
) -> None:
    writer = spawn_writer(run_id, "--color", ",".join(map(str, COLOUR)), "--fps", "60")
    env = child_env(QT_QPA_PLATFORM="offscreen")
    for first in range(0, VIEWERS, AT_ONCE):
        viewers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gym_gui_bridge.cli",
                    "view",
                    run_id,
                    "--snapshot",
                    str(tmp_path / f"v{n}.png"),
                    "--snapshot-timeout",
                    str(WAIT_S),
                    "--db",
                    str(tmp_path / "none.sqlite"),
                ],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(first, first + AT_ONCE)
        ]
        for viewer in viewers:
            _out, err = viewer.communicate(timeout=WAIT_S * 2)
            assert viewer.returncode == 0, err
        assert _shm.exists(create_fastlane_name(run_id)), f"segment gone after viewer {first}"
    assert len(list(tmp_path.glob("v*.png"))) == VIEWERS

    assert writer.poll() is None  # the writer never noticed
    with FastLaneReader.attach(run_id, announce=False) as reader:
        status = reader.status()
        assert status.state == SegmentState.LIVE and status.writer_alive
        assert status.writer_pid == writer.pid and status.generation == 1
        before = reader.frames_published()
        wait_until(lambda: reader.frames_published() > before, what="the writer's next frame")
        frame = reader.latest_frame()
        assert frame is not None and frame.seq > before  # still publishing, same segment
        assert np.all(frame.data == np.array(COLOUR, np.uint8))
    assert writer.stdin is not None
    writer.stdin.write("exit\n")
    writer.stdin.flush()
    assert writer.wait(WAIT_S * 2) == 0
    assert not _shm.exists(create_fastlane_name(run_id))  # the writer itself removed it, once
