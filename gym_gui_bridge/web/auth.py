"""Who may use the browser view: the bridge's token, as a header, a query parameter or a cookie.

With a token configured, every request must carry it, one of three ways:

- ``Authorization: Bearer <token>`` (scripts, Prometheus' ``authorization`` setting);
- ``?token=<token>`` on any GET (a link to paste into a browser or click): the answer sets
  the cookie below and moves on to the same URL without the token (a same-origin refresh, so
  the cookie goes with it even when the link was on another site), so the token leaves the
  address bar;
- the cookie ``fastlane_session``, HttpOnly and SameSite=Strict (Secure over HTTPS). It holds
  an HMAC of the token, not the token: a cookie read off a disk does not give gRPC access.

Anything else gets 401 with a one-line plain-text body. Every comparison is constant time
(``hmac.compare_digest``). Without a token the listener is loopback-only and open to this
machine's users (the server refuses a non-loopback address without one).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from gym_gui_bridge.logs import LOG_BRIDGE_AUTH_FAILED, LogThrottle

__all__ = ["COOKIE_NAME", "TOKEN_QUERY", "auth_middleware", "session_value"]

_log = logging.getLogger(__name__)

#: The cookie a ``?token=`` visit sets.
COOKIE_NAME = "fastlane_session"
#: The query parameter that carries the token on a first visit.
TOKEN_QUERY = "token"
_COOKIE_CONTEXT = b"gym-gui-bridge web session v1"  # what the cookie's HMAC is of


def session_value(token: str) -> str:
    """The cookie value for ``token``: HMAC-SHA256 of a fixed context, keyed by the token."""
    return hmac.new(token.encode(), _COOKIE_CONTEXT, hashlib.sha256).hexdigest()


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _unauthorized() -> web.Response:
    return web.Response(
        status=401,
        text="401 Unauthorized: Expected the bridge token (Authorization: Bearer TOKEN, "
        "or ?token=TOKEN once)\n",
        headers={"WWW-Authenticate": 'Bearer realm="gym-gui-bridge"'},
    )


def _onward(target: str) -> web.Response:
    """The answer to a good ``?token=``: a page that moves on to ``target`` (the same URL
    without the token) from this origin. Not a 303: a navigation that began on another site
    (a link in a chat) would still be cross-site after a redirect, and the browser would not
    send the SameSite=Strict cookie with it; a refresh from this page is same-site."""
    href = html.escape(target, quote=True)
    return web.Response(
        text=(
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="0; url={href}">'
            f'<title>gym-gui-bridge</title></head><body><a href="{href}">Continue</a></body>'
            "</html>\n"
        ),
        content_type="text/html",
        headers={"Cache-Control": "no-store"},
    )


def auth_middleware(token: str | None, *, secure: bool, log_interval_s: float) -> Middleware:
    """An aiohttp middleware checking ``token`` on every request (a no-op without a token).

    Args:
        token: the bridge's shared token, or None (loopback only, no check).
        secure: the listener is HTTPS; the cookie is then marked Secure.
        log_interval_s: least interval between two refusal log lines.
    """
    throttle = LogThrottle(log_interval_s)
    bearer = f"Bearer {token}" if token else ""
    cookie = session_value(token) if token else ""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not token:
            return await handler(request)
        header = request.headers.get("Authorization")
        if header is not None:
            if _equal(header, bearer):
                return await handler(request)
            return _refuse(request, "wrong token in the Authorization header")
        given = request.query.get(TOKEN_QUERY)
        if given is not None:
            if request.method != "GET" or not _equal(given, token):
                return _refuse(request, "wrong token in ?token=")
            query = request.rel_url.query.copy()
            query.popall(TOKEN_QUERY)
            response = _onward(str(request.rel_url.with_query(query)))
            response.set_cookie(
                COOKIE_NAME, cookie, httponly=True, samesite="Strict", secure=secure, path="/"
            )
            return response
        session = request.cookies.get(COOKIE_NAME)
        if session is not None and _equal(session, cookie):
            return await handler(request)
        return _refuse(request, "no token" if session is None else "stale session cookie")

    def _refuse(request: web.Request, why: str) -> web.Response:
        if throttle.ready("web-auth"):
            _log.warning(
                "%s HTTP %s %s from %s refused: %s",
                LOG_BRIDGE_AUTH_FAILED,
                request.method,
                request.path,
                request.remote,
                why,
            )
        return _unauthorized()

    return check
