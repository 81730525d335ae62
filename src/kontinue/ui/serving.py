"""The UI's HTTP server: settings, the aiohttp application, start and stop.

:class:`UiServer` serves the pages, actions, streams and static files of this package on one
port, behind :func:`~kontinue.ui.guarding.guard` (token and CSRF), over a
:class:`~kontinue.ui.cluster.Cluster` made from a kubeconfig (or given, to share a client).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware

from kontinue.errors import KontinueError
from kontinue.kube import (
    ApiError,
    BadRequest,
    ConnectionFailed,
    Forbidden,
    Invalid,
    NotFound,
    Unauthorized,
)

from .actions import Actions
from .cluster import Cluster, cluster_from_kubeconfig, readable_error
from .guarding import QuietAccessLogger, guard, new_token
from .pages import Pages
from .rendering import Renderer
from .streaming import Streams

__all__ = ["UiError", "UiServer", "UiSettings"]

DEFAULT_PORT = 8080
log = logging.getLogger("kontinue.ui")


@dataclass(frozen=True)
class UiSettings:
    """How ``kontinue ui`` serves.

    Attributes:
        host: Address to bind. Loopback by default: the UI acts with your credentials, so
            anyone reaching it (with the token) acts as you.
        port: TCP port; 0 picks a free one.
        token: The secret the address carries; a new random one per start when None.
        kubeconfig: The kubeconfig whose current context the UI uses (``$KUBECONFIG`` or
            ``~/.kube/config`` when None; in-cluster configuration inside a pod).
        context: Another context of that kubeconfig.
        namespace: The namespace pages open in (the context's when None).
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None


_STATUS = (
    (NotFound, 404),
    (Forbidden, 403),
    (Unauthorized, 401),
    (Invalid, 422),
    (BadRequest, 400),
    (ConnectionFailed, 502),
)


def _status_of(error: KontinueError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 502 if isinstance(error, ApiError) else 400


def _errors(renderer: Renderer) -> Middleware:
    """Errors become pages that say what went wrong, never a blank page or a traceback."""

    @web.middleware
    async def middleware(request: web.Request, handler: object) -> web.StreamResponse:
        try:
            return await handler(request)  # type: ignore[operator,no-any-return]
        except web.HTTPException as http:
            if http.status >= 400 and http.content_type != "text/html":
                message = http.text or http.reason
                return renderer.error(request, str(message), status=http.status)
            raise
        except KontinueError as error:
            return renderer.error(request, readable_error(error), status=_status_of(error))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.exception("unexpected error serving %s %s", request.method, request.path)
            return renderer.error(
                request,
                f"Something unexpected went wrong ({type(error).__name__}); the UI's log has "
                "the details.",
                status=500,
            )

    return middleware


class UiError(KontinueError):
    """The UI cannot serve (its address is taken or cannot be bound)."""


def _bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        listening = socket.socket(family, kind, proto)
    except OSError as error:
        raise UiError(f"cannot serve on {host}: {error.strerror or error}") from error
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(address)
        listening.listen(128)
    except OSError as error:
        listening.close()
        taken = error.errno == errno.EADDRINUSE
        why = (
            "the port is taken (pass another --port, or 0 for a free one)"
            if taken
            else (error.strerror or str(error))
        )
        raise UiError(f"cannot serve on {host}:{port}: {why}") from error
    listening.setblocking(False)
    return listening


class UiServer:
    """The web UI on one port; ``async with UiServer(settings):`` serves until the block ends."""

    def __init__(self, settings: UiSettings | None = None, cluster: Cluster | None = None) -> None:
        self.settings = settings or UiSettings()
        self.token = self.settings.token or new_token()
        self._given = cluster
        self._cluster: Cluster | None = cluster
        self._exit: object | None = None
        self._runner: web.AppRunner | None = None
        self.port = self.settings.port

    @property
    def namespace(self) -> str:
        """The namespace pages open in (once started)."""
        return self._cluster.namespace if self._cluster is not None else "default"

    @property
    def base_url(self) -> str:
        """The address without the token."""
        host = self.settings.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"

    @property
    def url(self) -> str:
        """The address to open: it carries the token (once; a cookie then takes over)."""
        return f"{self.base_url}/?token={self.token}"

    def application(self, cluster: Cluster) -> web.Application:
        """The aiohttp application over ``cluster`` (for embedding and tests)."""
        renderer = Renderer(self.token)
        app = web.Application(
            middlewares=[guard(self.token, self.port), _errors(renderer)],
            client_max_size=1024**2,
        )
        for handlers in (Pages, Actions, Streams):
            app.add_routes(handlers(cluster, renderer).routes())
        static = Path(str(files("kontinue.ui") / "static"))
        app.router.add_static("/static/", static, append_version=False)
        return app

    async def start(self) -> None:
        """Bind and serve (the port is known once this returns); :class:`UiError` when the
        address cannot be bound."""
        listening = _bind(self.settings.host, self.settings.port)
        self.port = int(listening.getsockname()[1])
        try:
            if self._cluster is None:
                manager = cluster_from_kubeconfig(
                    self.settings.kubeconfig,
                    context=self.settings.context,
                    namespace=self.settings.namespace,
                )
                self._cluster = await manager.__aenter__()
                self._exit = manager
            runner = web.AppRunner(
                self.application(self._cluster),
                access_log_class=QuietAccessLogger,
                handler_cancellation=True,
                shutdown_timeout=1.0,
            )
            await runner.setup()
            await web.SockSite(runner, listening).start()
        except BaseException:
            listening.close()
            raise
        self._runner = runner

    async def stop(self) -> None:
        """Stop serving (open streams are closed) and close the cluster client."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        exit_ = self._exit
        if exit_ is not None:
            self._exit = None
            self._cluster = self._given
            await exit_.__aexit__(None, None, None)  # type: ignore[attr-defined]

    async def __aenter__(self) -> UiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
