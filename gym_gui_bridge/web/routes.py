"""The routes of the browser view, as an aiohttp application.

=================================  ===========================================================
``GET /``                          the runs: recorded (the store) and live (rings here)
``GET /runs.json``                 the same rows as JSON
``GET /runs/<run_id>``             the watch page: frame + HUD, return curves, scalars
``GET /runs/<run_id>/frame.jpg``   the newest frame (waits up to ``WEB_FRAME_WAIT_S``)
``GET /runs/<run_id>/stream.mjpg`` the frames as MJPEG (multipart/x-mixed-replace)
``GET /runs/<run_id>/ws``          the frames over a WebSocket (what the watch page uses)
``GET /runs/<run_id>/curves.json`` episodes and scalars after ``?after=CURSOR``
``GET /metrics``                   Prometheus text format
``GET /static/<file>``             the page's script and style sheet
=================================  ===========================================================

The page takes its frames over the WebSocket rather than MJPEG: each message carries the
frame's seq, HUD and publish time next to the JPEG, and the page paints a frame as soon as it
arrives. MJPEG is there for tools that show a URL (``curl``, VLC, an ``<img>`` elsewhere).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from gym_gui_bridge.config.web import WebConfig
from gym_gui_bridge.errors import StoreError
from gym_gui_bridge.fastlane.layout import validate_run_id
from gym_gui_bridge.web.curves import curves_after, parse_cursor
from gym_gui_bridge.web.frames import FrameStreams, TooManyStreams, frame_header, pack_frame
from gym_gui_bridge.web.pages import run_rows, runs_page, watch_page

if TYPE_CHECKING:
    from gym_gui_bridge.relay import RelayWatch

__all__ = ["STATIC_DIR", "WebContext", "build_app"]

_log = logging.getLogger(__name__)

#: The page's static files, shipped inside the package.
STATIC_DIR = Path(__file__).parent / "static"
_BOUNDARY = "fastlane-frame"
#: Every page may load only what this bridge serves (no CDN, no inline script).
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@dataclass
class WebContext:
    """What the handlers read: the database, the frame streams, the metrics, the tunables."""

    db_path: str
    streams: FrameStreams | None
    registry: CollectorRegistry
    config: WebConfig
    stopping: asyncio.Event


_CONTEXT = web.AppKey("context", WebContext)
_SOCKETS = web.AppKey("sockets", set[web.WebSocketResponse])  # open frame sockets


def _text(status: int, line: str) -> web.Response:
    return web.Response(status=status, text=line + "\n")


def _no_relay() -> web.Response:
    return _text(503, "503 Service Unavailable: this bridge relays no frames")


def _run_id(request: web.Request) -> str:
    """The ``<run_id>`` of the URL; 400 when no ring could have that name."""
    run_id = request.match_info["run_id"]
    try:
        validate_run_id(run_id)
    except ValueError as error:
        raise web.HTTPBadRequest(text=f"400 Bad Request: {error}\n") from None
    return run_id


async def _blocking(function: Any, *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


async def index(request: web.Request) -> web.Response:
    rows = await _blocking(run_rows, request.app[_CONTEXT].db_path)
    return web.Response(text=runs_page(rows), content_type="text/html")


async def runs_json(request: web.Request) -> web.Response:
    return web.json_response(await _blocking(run_rows, request.app[_CONTEXT].db_path))


async def watch(request: web.Request) -> web.Response:
    return web.Response(text=watch_page(request.match_info["run_id"]), content_type="text/html")


async def curves(request: web.Request) -> web.Response:
    context = request.app[_CONTEXT]
    try:
        after = parse_cursor(request.query.get("after"))
    except ValueError as error:
        return _text(400, f"400 Bad Request: {error}")
    run_id = request.match_info["run_id"]
    try:
        answer = await _blocking(
            curves_after, context.db_path, run_id, after, context.config.curve_page_rows
        )
    except StoreError as error:
        return _text(503, f"503 Service Unavailable: {error}")
    return web.json_response(answer, headers={"Cache-Control": "no-store"})


async def metrics(request: web.Request) -> web.Response:
    body = await _blocking(generate_latest, request.app[_CONTEXT].registry)
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


async def frame_jpg(request: web.Request) -> web.Response:
    context = request.app[_CONTEXT]
    if context.streams is None:
        return _no_relay()
    run_id = _run_id(request)
    try:
        frame = await context.streams.first(run_id, context.config.frame_wait_s)
    except TooManyStreams as error:
        return _text(503, f"503 Service Unavailable: {error}")
    if frame is None:
        wait = context.config.frame_wait_s
        return _text(404, f"404 Not Found: no frame of run {run_id} within {wait:g} s")
    header = frame_header(frame)
    return web.Response(
        body=bytes(frame.data),
        content_type="image/jpeg",
        headers={
            "Cache-Control": "no-store",
            "X-Frame-Seq": str(frame.seq),
            "X-Published-Ns": str(frame.published_ns),
            "X-Frame-Hud": json.dumps(header["hud"], separators=(",", ":")),
        },
    )


#: A route body streaming one run's frames: (request, context, streams, run_id, watch).
_FrameStreamBody = Callable[
    [web.Request, WebContext, FrameStreams, str, "RelayWatch"], Awaitable[web.StreamResponse]
]


def _frame_stream(body: _FrameStreamBody) -> Handler:
    """A route that streams one run's relayed frames: 503 without a relay or past
    ``WEB_MAX_STREAMS`` open streams, else ``body`` with the run's open relay watch."""

    @functools.wraps(body)
    async def handler(request: web.Request) -> web.StreamResponse:
        context = request.app[_CONTEXT]
        streams = context.streams
        if streams is None:
            return _no_relay()
        run_id = _run_id(request)
        try:
            async with streams.watch(run_id) as relay_watch:
                return await body(request, context, streams, run_id, relay_watch)
        except TooManyStreams as error:
            return _text(503, f"503 Service Unavailable: {error}")

    return handler


@_frame_stream
async def stream_mjpg(
    request: web.Request,
    context: WebContext,
    streams: FrameStreams,
    run_id: str,
    relay_watch: RelayWatch,
) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": f"multipart/x-mixed-replace; boundary={_BOUNDARY}",
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    while not context.stopping.is_set():
        transport = request.transport
        if transport is None or transport.is_closing():
            break
        frame = await streams.next(relay_watch)
        if frame is None:
            continue
        data = bytes(frame.data)
        part = (
            f"--{_BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
            f"Content-Length: {len(data)}\r\nX-Frame-Seq: {frame.seq}\r\n"
            f"X-Published-Ns: {frame.published_ns}\r\n\r\n"
        ).encode()
        try:
            await response.write(part + data + b"\r\n")
        except ConnectionError:
            break
        streams.stats.sent(run_id)
    return response


async def _until_closed(socket: web.WebSocketResponse) -> None:
    """Read (and ignore) what the page sends until it closes the socket."""
    async for message in socket:
        if message.type == WSMsgType.ERROR:
            break


@_frame_stream
async def frames_ws(
    request: web.Request,
    context: WebContext,
    streams: FrameStreams,
    run_id: str,
    relay_watch: RelayWatch,
) -> web.StreamResponse:
    socket = web.WebSocketResponse(heartbeat=10.0, max_msg_size=4096)
    await socket.prepare(request)
    request.app[_SOCKETS].add(socket)
    reader = asyncio.create_task(_until_closed(socket))
    state = ""
    try:
        while not (socket.closed or reader.done() or context.stopping.is_set()):
            frame = await streams.next(relay_watch)
            if frame is None:
                if relay_watch.state != state:  # the page says why nothing moves
                    state = relay_watch.state
                    await socket.send_str(json.dumps({"state": state}))
                continue
            state = "live"
            await socket.send_bytes(pack_frame(frame))
            streams.stats.sent(run_id)
    except ConnectionError:
        pass
    finally:
        request.app[_SOCKETS].discard(socket)
        reader.cancel()
        await socket.close()
    return socket


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    if not response.prepared:
        response.headers.setdefault("Content-Security-Policy", _CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


async def _close_sockets(app: web.Application) -> None:
    app[_CONTEXT].stopping.set()
    sockets = app[_SOCKETS]
    for socket in [*sockets]:
        await socket.close(code=1001, message=b"bridge stopping")


def build_app(context: WebContext, auth: Middleware) -> web.Application:
    """The application: ``auth`` (:func:`~gym_gui_bridge.web.auth.auth_middleware`) first."""
    app = web.Application(middlewares=[auth, _headers])
    app[_CONTEXT] = context
    app[_SOCKETS] = set()
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/", index)
    app.router.add_get("/runs.json", runs_json)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/runs/{run_id}", watch)
    app.router.add_get("/runs/{run_id}/frame.jpg", frame_jpg)
    app.router.add_get("/runs/{run_id}/stream.mjpg", stream_mjpg)
    app.router.add_get("/runs/{run_id}/ws", frames_ws)
    app.router.add_get("/runs/{run_id}/curves.json", curves)
    app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False)
    return app
