"""The watch page in Debian's chromium (headless, through Playwright), opened from a link with
the token on another site: it shows the run's frame with its HUD and draws the return curves,
loads nothing from another host, and releases its relay watch when the page closes."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Route, sync_playwright
from waits import wait_until
from web_helpers import CHROMIUM, CHROMIUM_ARGS, metric, web_bridge, web_worker
from web_worker import HEIGHT, WIDTH

pytestmark = pytest.mark.slow

EPISODES = 8
SLOT_COLORS = [(0x1F, 0x77, 0xB4), (0xD6, 0x27, 0x28)]  # watch.js' first two curve colors


def test_watch_page_shows_frame_hud_and_curves_offline(tmp_path: Path) -> None:
    run_id = f"page-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    with web_bridge(tmp_path, token=True) as bridge, web_worker(bridge, run_id, EPISODES):
        # the same server under another name: another site, for the browser
        other_site = bridge.url.replace("127.0.0.1", "localhost")
        requested: list[str] = []
        elsewhere: list[str] = []

        def only_the_bridge(route: Route) -> None:
            url = route.request.url
            requested.append(url)
            if url.startswith((bridge.url + "/", other_site + "/")):
                route.continue_()
            else:
                elsewhere.append(url)
                route.abort()

        with sync_playwright() as play:
            browser = play.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1200, "height": 800})
                page.route("**/*", only_the_bridge)
                # follow a link with the token from a page of another site (as from a chat):
                # the SameSite=Strict cookie must still reach the page and its requests
                page.goto(f"{other_site}/static/style.css")
                link = f"{bridge.url}/runs/{run_id}?token={bridge.token}"
                page.set_content(f'<a id="go" href="{link}">watch</a>')
                page.click("#go")
                page.wait_for_url(f"{bridge.url}/runs/{run_id}")  # the token left the URL
                body = page.locator("body")
                # read with get_attribute: the page's CSP forbids evaluating test JavaScript
                wait_until(
                    lambda: (
                        int(body.get_attribute("data-frames") or 0) >= 3
                        and body.get_attribute("data-curves-drawn") == "1"
                        and int(body.get_attribute("data-curve-points") or 0) >= EPISODES * 3
                    ),
                    what="the page to paint frames and curves",
                    poll=0.1,
                )
                assert metric(bridge, "gym_gui_bridge_remote_viewers", run_id=run_id) == 1
                page.screenshot(path=str(tmp_path / "watch.png"))
                frame = Image.open(io.BytesIO(page.locator("#frame").screenshot())).convert("RGB")
                curves = Image.open(io.BytesIO(page.locator("#returns").screenshot()))
                hud = page.locator("#hud").inner_text().split("\n")  # one read: one frame's
                size = [page.locator("#frame").get_attribute(a) for a in ("width", "height")]
                scalar_tag = page.locator("#scalars tbody td").first.inner_text()
            finally:
                browser.close()
        # the frame: the worker's red field with its green square, at the ring's size
        assert size == [str(WIDTH), str(HEIGHT)]
        pixels = np.asarray(frame, dtype=np.int32)
        r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
        red = int(((r > 150) & (g < 80) & (b < 80)).sum())
        green = int(((g > 150) & (r < 80)).sum())
        assert red > 0.6 * r.size and green > 100
        # the HUD is the frame's: the worker sets global_step to the seq
        values = dict(zip(hud[0::2], hud[1::2], strict=True))
        assert int(values["seq"]) >= 1 and values["global step"] == values["seq"]
        assert values["frame age"].endswith(" ms")
        # the curves: a line of each slot's color
        curve_pixels = np.asarray(curves.convert("RGB"), dtype=np.int32)
        for color in SLOT_COLORS:
            near = (np.abs(curve_pixels - np.array(color)) <= 40).all(axis=-1)
            assert int(near.sum()) > 50, color
        assert scalar_tag == "loss"
        assert requested and not elsewhere
        wait_until(
            lambda: metric(bridge, "gym_gui_bridge_remote_viewers", run_id=run_id) == 0,
            what="the relay watch released when the page closed",
        )
