"""Who may use the UI, and which requests may change something.

The UI acts with the credentials of whoever started it, so anyone who can reach its port could
act as them: like ``kontinue dev``'s API server it binds to loopback by default and requires a
token. The URL printed at start carries the token once (``/?token=...``); the server swaps it for
a cookie (``HttpOnly``, ``SameSite=Strict``) and redirects to the same page without it, so the
token leaves the address bar and the history (``Referer`` headers never leave the UI). Scripts
may send it as ``Authorization: Bearer`` instead.

State-changing requests (every POST) must also carry the CSRF token of the session (a hidden
form field, or the ``X-CSRF-Token`` header), derived from the secret token so nothing is
stored, and come from the UI's own origin when the browser says where they come from.

Access logs name the method, the path without its query and the status: never a token.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Middleware

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "QuietAccessLogger",
    "cookie_name",
    "csrf_token",
    "guard",
    "new_token",
]

CSRF_FIELD = "_csrf"
CSRF_HEADER = "X-CSRF-Token"
TOKEN_PARAM = "token"
_PUBLIC_PREFIXES = ("/static/",)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = logging.getLogger("kontinue.ui")


def new_token() -> str:
    """A fresh secret for one UI server."""
    return secrets.token_urlsafe(32)


def cookie_name(port: int) -> str:
    """The session cookie's name: per port, since cookies are shared by every port of a host
    and two UIs on one machine must not log each other out."""
    return f"kontinue-ui-{port}"


def csrf_token(secret: str) -> str:
    """The CSRF token forms carry, derived from the server's secret."""
    return hmac.new(secret.encode(), b"kontinue-ui-csrf", hashlib.sha256).hexdigest()


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _without_token(request: web.Request) -> str:
    query = [(k, v) for k, v in request.query.items() if k != TOKEN_PARAM]
    return request.path + (f"?{urlencode(query)}" if query else "")


def guard(secret: str, port: int, *, secure_cookie: bool = False) -> Middleware:
    """The middleware checking the token on every request and CSRF on every POST, and adding
    the security headers."""
    name = cookie_name(port)
    expected_csrf = csrf_token(secret)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(_PUBLIC_PREFIXES):
            return _headers(await handler(request))
        given = request.query.get(TOKEN_PARAM)
        if given is not None and request.method == "GET":
            if not _same(given, secret):
                return _headers(_refused("The token in this address is not this UI's token."))
            answer = web.Response(status=303, headers={"Location": _without_token(request)})
            answer.set_cookie(
                name,
                secret,
                httponly=True,
                samesite="Strict",
                secure=secure_cookie,
                path="/",
            )
            return _headers(answer)
        bearer = request.headers.get("Authorization", "")
        presented = (
            bearer[7:].strip()
            if bearer.lower().startswith("bearer ")
            else request.cookies.get(name)
        )
        if not _same(presented, secret):
            return _headers(
                _refused(
                    "Open the address kontinue ui printed when it started: it carries the token "
                    "this UI requires."
                )
            )
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            origin = request.headers.get("Origin")
            if origin is not None and origin != f"{request.scheme}://{request.host}":
                return _headers(_refused("Cross-site request refused.", status=403))
            token = request.headers.get(CSRF_HEADER)
            if token is None and request.content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                form = await request.post()
                field = form.get(CSRF_FIELD)
                token = field if isinstance(field, str) else None
            if not _same(token, expected_csrf):
                return _headers(
                    _refused(
                        "This form has expired or did not come from this UI; reload the "
                        "page and try again.",
                        status=403,
                    )
                )
        return _headers(await handler(request))

    return middleware


def _refused(message: str, status: int = 401) -> web.Response:
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>kontinue</title>"
        '<link rel=stylesheet href="/static/ui.css">'
        f"<main class=narrow><h1>kontinue</h1><p class=error role=alert>{message}</p></main>"
    )
    return web.Response(status=status, text=body, content_type="text/html")


def _headers(response: web.StreamResponse) -> web.StreamResponse:
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cache-Control", "no-store")
    return response


class QuietAccessLogger(AbstractAccessLogger):
    """Access log lines without query strings (a first visit's carries the token)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %.0fms", request.method, request.path, response.status, time * 1000
        )
