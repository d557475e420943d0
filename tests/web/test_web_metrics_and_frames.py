"""The browser view's data routes against a real bridge and a real worker publishing frames:
/metrics (parsed by prometheus_client), frame.jpg, the MJPEG stream as a remote viewer,
curves.json with its cursor, the run list, and the stream limit."""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from waits import wait_until
from web_helpers import WebBridge, get, metric, scrape, web_bridge, web_worker
from web_worker import HEIGHT, WIDTH

EPISODES = 12  # per slot; the worker has two slots and one scalar per episode
SLOTS = 2


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WebBridge, str, int]]:
    tmp = tmp_path_factory.mktemp("web")
    config = tmp / "bridge.toml"
    config.write_text("[web]\nWEB_FRAME_WAIT_S = 0.5\nWEB_MAX_STREAMS = 1\n")
    run_id = f"web-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    with (
        web_bridge(tmp, "--config", str(config)) as bridge,
        web_worker(bridge, run_id, EPISODES) as put,
    ):
        yield bridge, run_id, put


@pytest.mark.slow
def test_metrics_count_every_record_stored_per_kind(served: tuple[WebBridge, str, int]) -> None:
    bridge, _run_id, put = served
    samples = scrape(bridge)
    stored = {
        kind: samples[("gym_gui_bridge_records_stored_total", (("kind", kind),))]
        for kind in ("episode", "scalar")
    }
    assert stored == {"episode": EPISODES * SLOTS, "scalar": EPISODES}
    assert sum(stored.values()) == put
    for kind in ("episode", "scalar"):
        key = (("kind", kind),)
        assert samples[("gym_gui_bridge_records_received_total", key)] == stored[kind]
        assert samples[("gym_gui_bridge_records_rejected_total", key)] == 0
        assert samples[("gym_gui_bridge_records_dropped_total", key)] == 0
    assert samples[("gym_gui_bridge_sink_written_total", ())] >= put
    sink_queue = (("policy", "durable"), ("subscriber", "telemetry-db-sink"))
    assert ("gym_gui_bridge_bus_queue_depth", sink_queue) in samples
    assert ("gym_gui_bridge_publishing_streams", ()) in samples
    assert ("gym_gui_bridge_live_subscribers", ()) in samples


@pytest.mark.slow
def test_frame_jpg_decodes_to_the_ring_geometry(served: tuple[WebBridge, str, int]) -> None:
    bridge, run_id, _ = served
    status, headers, body = get(bridge, f"/runs/{run_id}/frame.jpg")
    assert status == 200, body
    assert headers["Content-Type"] == "image/jpeg"
    image = Image.open(io.BytesIO(body))
    assert (image.size, image.mode) == ((WIDTH, HEIGHT), "RGB")
    red, green, _blue = image.getpixel((WIDTH // 2, 5))  # outside the moving square
    assert red > 150 and green < 60
    hud = json.loads(headers["X-Frame-Hud"])
    assert hud["global_step"] == int(headers["X-Frame-Seq"]) >= 1


@pytest.mark.slow
def test_unknown_and_invalid_runs_have_no_frame(served: tuple[WebBridge, str, int]) -> None:
    bridge, _, _ = served
    status, _, body = get(bridge, "/runs/no-such-run-here/frame.jpg")
    assert status == 404 and body.decode().count("\n") == 1
    assert b"no frame of run no-such-run-here within 0.5 s" in body
    assert get(bridge, "/runs/bad%20name/frame.jpg")[0] == 400


def _open_mjpeg(bridge: WebBridge, run_id: str) -> tuple[http.client.HTTPConnection, bytes]:
    host, port = bridge.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", f"/runs/{run_id}/stream.mjpg")
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("multipart/x-mixed-replace")
    return conn, response.read(2000)


@pytest.mark.slow
def test_an_open_mjpeg_stream_is_a_remote_viewer_until_it_closes(
    served: tuple[WebBridge, str, int],
) -> None:
    bridge, run_id, _ = served
    viewers = lambda: metric(bridge, "gym_gui_bridge_remote_viewers", run_id=run_id)  # noqa: E731
    watched = lambda: metric(  # noqa: E731
        bridge, "gym_gui_bridge_fastlane_watched", run_id=run_id, env_slot="-1"
    )
    wait_until(lambda: viewers() == 0, what="no viewer before the stream")
    conn, start = _open_mjpeg(bridge, run_id)
    try:
        assert b"Content-Type: image/jpeg" in start and b"\xff\xd8" in start  # a JPEG part
        assert viewers() == 1
        wait_until(lambda: watched() == 1, what="the ring watched while streaming")
        sent = metric(bridge, "gym_gui_bridge_http_frames_sent_total", run_id=run_id)
        assert sent >= 1
        # WEB_MAX_STREAMS = 1: one more frame stream is refused while this one is open
        status, _, body = get(bridge, f"/runs/{run_id}/frame.jpg")
        assert status == 503 and b"WEB_MAX_STREAMS" in body
    finally:
        conn.close()
    wait_until(lambda: viewers() == 0, what="the relay watch released when the client left")
    wait_until(lambda: watched() == 0, what="the ring unwatched after the stream closed")


@pytest.mark.slow
def test_curves_json_gives_each_row_once_after_its_cursor(
    served: tuple[WebBridge, str, int],
) -> None:
    bridge, run_id, _ = served
    status, _, body = get(bridge, f"/runs/{run_id}/curves.json")
    assert status == 200
    first = json.loads(body)
    assert len(first["episodes"]) == EPISODES * SLOTS and len(first["scalars"]) == EPISODES
    assert {tuple(e[:3]) for e in first["episodes"]} == {
        (slot, episode, float(episode + slot))
        for slot in range(SLOTS)
        for episode in range(EPISODES)
    }
    assert first["more"] is False
    status, _, body = get(bridge, f"/runs/{run_id}/curves.json?after={first['cursor']}")
    again = json.loads(body)
    assert (again["episodes"], again["scalars"], again["cursor"]) == ([], [], first["cursor"])
    status, _, body = get(bridge, f"/runs/{run_id}/curves.json?after=nope")
    assert status == 400 and b"after=E.S" in body


@pytest.mark.slow
def test_the_run_list_shows_recorded_and_live_runs(served: tuple[WebBridge, str, int]) -> None:
    bridge, run_id, _ = served
    status, headers, body = get(bridge, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert f'href="/runs/{run_id}"'.encode() in body
    rows = {row["run_id"]: row for row in json.loads(get(bridge, "/runs.json")[2])}
    row = rows[run_id]
    assert row["episodes"] == EPISODES * SLOTS
    assert (row["fastlane"]["width"], row["fastlane"]["height"]) == (WIDTH, HEIGHT)


def test_static_assets_name_no_other_host() -> None:
    static = Path(__file__).parents[2] / "gym_gui_bridge" / "web" / "static"
    files = sorted(static.iterdir())
    assert {f.name for f in files} >= {"watch.html", "watch.js", "style.css", "runs.html"}
    for path in files:
        text = path.read_text()
        assert not re.search(r"\b(https?|wss?|ftp):/", text), path
        assert "url(" not in text and "@import" not in text, path
        for attribute in ("src=", "href="):
            for value in text.split(attribute)[1:]:
                target = value[1:].split(value[0])[0]
                assert target.startswith("/") and not target.startswith("//"), (path, target)
