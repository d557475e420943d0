"""Who may use the browser view of a bridge with a token: the bearer header, the ?token= visit
that becomes a cookie, nothing else; and no HTTP beyond loopback without a token."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from bridge_helpers import free_port, stop_bridge
from tls_files import make_certificate
from waits import WAIT_S, wait_until
from web_helpers import NoRedirect, WebBridge, get, web_bridge

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebBridge]:
    with web_bridge(tmp_path_factory.mktemp("auth"), token=True) as served:
        yield served


@pytest.mark.parametrize("path", ["/", "/metrics", "/runs/some-run", "/runs/r/curves.json"])
def test_no_or_wrong_token_gets_401_with_one_line(bridge: WebBridge, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer not-the-token-at-all"}, {"Cookie": "x=y"}):
        status, answer, body = get(bridge, path, headers, auth=False)
        assert status == 401, (path, headers)
        assert body.decode().count("\n") == 1 and body.startswith(b"401 Unauthorized")
        assert "Bearer" in answer["WWW-Authenticate"]
    assert bridge.token is not None
    assert bridge.token.encode() not in body


def test_the_bearer_header_opens_every_route(bridge: WebBridge) -> None:
    for path in ("/", "/metrics", "/runs/some-run", "/static/watch.js"):
        assert get(bridge, path)[0] == 200, path


def test_a_token_in_the_url_becomes_a_strict_http_only_cookie(bridge: WebBridge) -> None:
    assert bridge.token is not None
    status, headers, body = get(bridge, f"/runs/r1?a=1&token={bridge.token}", auth=False)
    assert status == 200  # a page that moves on from this origin: the cookie goes along
    assert b'http-equiv="refresh" content="0; url=/runs/r1?a=1"' in body  # without the token
    assert bridge.token.encode() not in body
    cookie = headers["Set-Cookie"]
    name_value = cookie.split(";")[0]
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert name_value.startswith("fastlane_session=")
    assert bridge.token not in cookie  # it holds an HMAC of the token, not the token
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    status, _, body = get(bridge, "/runs/r1?a=1", {"Cookie": name_value}, auth=False)
    assert status == 200 and b'data-run-id="r1"' in body
    forged = name_value[:-4] + ("0000" if not name_value.endswith("0000") else "1111")
    assert get(bridge, "/runs/r1", {"Cookie": forged}, auth=False)[0] == 401


def test_a_wrong_token_in_the_url_sets_no_cookie(bridge: WebBridge) -> None:
    status, headers, _ = get(bridge, "/runs/r1?token=wrong-token-0123456789", auth=False)
    assert status == 401 and "Set-Cookie" not in headers


def test_http_beyond_loopback_without_a_token_is_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FASTLANE_BRIDGE_TOKEN"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gym_gui_bridge.cli",
            "serve",
            "--db",
            str(tmp_path / "db.sqlite"),
            "--listen",
            f"127.0.0.1:{free_port()}",
            "--spool-dir",
            str(tmp_path / "spool"),
            "--http",
            f"0.0.0.0:{free_port()}",
        ],
        capture_output=True,
        timeout=WAIT_S,
        env=env,
        text=True,
    )
    assert result.returncode == 2
    assert "Expected a loopback --http address, got 0.0.0.0:" in result.stderr
    assert "--allow-remote and a shared token" in result.stderr


def test_with_tls_files_the_browser_view_is_https_with_a_secure_cookie(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    token = uuid.uuid4().hex
    env = {**os.environ, "FASTLANE_BRIDGE_TOKEN": token}
    http = free_port()
    command = [
        sys.executable,
        "-m",
        "gym_gui_bridge.cli",
        "serve",
        "--db",
        str(tmp_path / "db.sqlite"),
        "--listen",
        f"127.0.0.1:{free_port()}",
        "--spool-dir",
        str(tmp_path / "spool"),
        "--http",
        f"127.0.0.1:{http}",
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
    ]
    trusted = ssl.create_default_context(cafile=str(cert))
    url = f"https://127.0.0.1:{http}"

    def fetch(path: str, context: ssl.SSLContext = trusted) -> tuple[int, dict[str, str]]:
        opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context), NoRedirect()
        )
        try:
            with opener.open(url + path, timeout=WAIT_S) as response:
                return response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers)

    def answers() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode}")
        try:
            return fetch("/metrics")[0] == 401
        except OSError:
            return False

    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(answers, what="the HTTPS listener")
        status, headers = fetch(f"/runs/r?token={token}")
        assert status == 200
        flags = {part.strip().lower() for part in headers["Set-Cookie"].split(";")[1:]}
        assert {"secure", "httponly", "samesite=strict"} <= flags
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            fetch("/metrics", ssl.create_default_context())  # the system CAs do not know it
    finally:
        stop_bridge(proc)
