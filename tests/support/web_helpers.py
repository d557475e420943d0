"""Shared by the browser-view tests: a real ``serve --http`` bridge, a worker, HTTP requests."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bridge_helpers import HERE, free_port, start_bridge, stop_bridge
from prometheus_client.parser import text_string_to_metric_families
from waits import WAIT_S, wait_until

#: The flags the browser tests give Debian's chromium (no sandbox as root, nothing online).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class WebBridge:
    """A running ``serve --http`` bridge: its process, gRPC address, HTTP base URL, token."""

    proc: subprocess.Popen
    address: str
    url: str
    token: str | None
    db: Path
    spool: Path


@contextmanager
def web_bridge(tmp_path: Path, *extra: str, token: bool = False) -> Iterator[WebBridge]:
    """``gym-gui-bridge serve --http 127.0.0.1:PORT *extra`` (with a fresh token when
    ``token``)."""
    port, http = free_port(), free_port()
    secret = uuid.uuid4().hex if token else None
    env = {**os.environ}
    env.pop("FASTLANE_BRIDGE_TOKEN", None)
    if secret:
        env["FASTLANE_BRIDGE_TOKEN"] = secret
    db, spool = tmp_path / "bridge.sqlite", tmp_path / "spool"
    proc = start_bridge(db, port, spool, "--http", f"127.0.0.1:{http}", *extra, env=env)
    bridge = WebBridge(proc, f"127.0.0.1:{port}", f"http://127.0.0.1:{http}", secret, db, spool)
    try:
        wait_until(lambda: _answers(bridge), what="the HTTP listener")
        yield bridge
    finally:
        stop_bridge(proc)


def _answers(bridge: WebBridge) -> bool:
    try:
        get(bridge, "/metrics")
    except OSError:
        return False
    return True


@contextmanager
def web_worker(bridge: WebBridge, run_id: str, episodes: int) -> Iterator[int]:
    """``web_worker.py`` publishing to ``bridge``; yields the records it put, all acknowledged."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("FASTLANE_BRIDGE_TOKEN", None)
    if bridge.token:
        env["FASTLANE_BRIDGE_TOKEN"] = bridge.token
    proc = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "web_worker.py"),
            run_id,
            bridge.address,
            str(bridge.spool),
            str(episodes),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("ready put="), f"worker said {line!r}, {proc.stderr.read()!r}"
        yield int(line.split("=")[1])
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(WAIT_S)


def get(
    bridge: WebBridge, path: str, headers: dict[str, str] | None = None, *, auth: bool = True
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of ``GET path`` (with the bearer token when ``auth``); no
    redirect is followed."""
    request = urllib.request.Request(bridge.url + path, headers=dict(headers or {}))
    if auth and bridge.token:
        request.add_header("Authorization", f"Bearer {bridge.token}")
    opener = urllib.request.build_opener(NoRedirect())
    try:
        with opener.open(request, timeout=WAIT_S) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def scrape(bridge: WebBridge) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``/metrics`` parsed by prometheus_client's parser: (sample name, labels) -> value."""
    status, _, body = get(bridge, "/metrics")
    assert status == 200, body
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def metric(bridge: WebBridge, name: str, **labels: str) -> float:
    """One sample of ``/metrics`` (0 when absent)."""
    key = (name, tuple(sorted(labels.items())))
    return scrape(bridge).get(key, 0.0)
