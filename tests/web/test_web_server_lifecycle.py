"""The browser view's listener in the bridge process: stopping it ends its open frame streams
and releases their relay watches (no ring needed: a stream waits for one); what it refuses at
start (an in-process bridge and listener on 127.0.0.1)."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import pytest
from waits import WAIT_S, wait_until

from gym_gui_bridge.config.spec import ConfigError
from gym_gui_bridge.config.web import WebConfig
from gym_gui_bridge.errors import BridgeError
from gym_gui_bridge.server.app import Bridge
from gym_gui_bridge.web.server import WebServer


@pytest.fixture
def bridge(tmp_path: Path) -> Iterator[Bridge]:
    served = Bridge(tmp_path / "db.sqlite", "127.0.0.1:0", spool_root=None)
    served.start()
    try:
        yield served
    finally:
        served.stop(grace=0.5)


def test_stop_ends_open_streams_and_their_relay_watches(bridge: Bridge) -> None:
    web = WebServer(bridge, "127.0.0.1:0", relay=bridge.relay)
    web.start()
    conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=WAIT_S)
    try:
        conn.request("GET", "/runs/not-started-yet/stream.mjpg")
        response = conn.getresponse()
        assert response.status == 200
        wait_until(lambda: bridge.relay.viewers() == {"not-started-yet": 1}, what="a watch")
        web.stop()
        assert not web.running
        assert bridge.relay.viewers() == {}
        assert response.read() == b""  # the stream ended: no frame ever came
    finally:
        conn.close()


def test_a_port_in_use_is_refused_naming_the_flag(bridge: Bridge) -> None:
    first = WebServer(bridge, "127.0.0.1:0")
    first.start()
    try:
        second = WebServer(bridge, f"127.0.0.1:{first.port}")
        with pytest.raises(BridgeError, match=f"--http 127.0.0.1:{first.port}"):
            second.start()
        assert not second.running
    finally:
        first.stop()


def test_a_stream_rate_above_what_the_relay_allows_is_refused_naming_both_keys(
    bridge: Bridge,
) -> None:
    too_fast = bridge.relay.config.max_fps + 1
    with pytest.raises(ConfigError, match="WEB_STREAM_FPS: expected <= RELAY_MAX_FPS"):
        WebServer(bridge, "127.0.0.1:0", relay=bridge.relay, config=WebConfig(stream_fps=too_fast))
