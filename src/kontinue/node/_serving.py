"""Container logs over HTTPS, where the API server looks for a kubelet's.

``kubectl logs`` asks the API server, which checks the pod and the container and forwards the
request to ``https://<InternalIP>:<port>/containerLogs/<namespace>/<pod>/<container>`` with the
query options (``follow``, ``previous``, ``timestamps``, ``tailLines``, ``sinceSeconds``,
``sinceTime``, ``limitBytes``). It presents its kubelet-client certificate; the server demands
one signed by the configured client CA (``--client-ca-file``), and refuses to start without one
unless anonymous access was explicitly asked for. Refusals are plain-text bodies with the
kubelet's status codes (400 for a container waiting to start...), which the API server passes
on as a ``Status``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from kontinue.errors import KontinueError
from kontinue.pods import BadLogRequest, PodSupervisor

from ._settings import NodeSettings

__all__ = ["LogServer", "NodeSetupError", "server_context"]

log = logging.getLogger("kontinue.node")
JSON = dict[str, Any]
PodFinder = Callable[[str, str], Awaitable[JSON | None]]


class NodeSetupError(KontinueError):
    """The agent cannot start as configured; the message says why and what to do."""


def server_context(settings: NodeSettings, cert: str, key: str) -> ssl.SSLContext:
    """TLS for the log server: its certificate, and client certificates required from the
    client CA (none asked for only when anonymous access is explicitly allowed)."""
    if settings.client_ca_file is None and not settings.anonymous_logs:
        raise NodeSetupError(
            "no --client-ca-file: the agent serves pods' logs only to clients with a "
            "certificate from the API server's kubelet-client CA (pass --allow-anonymous-logs "
            "to serve them to anyone who can reach the port)"
        )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
        if settings.client_ca_file is not None:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cafile=str(settings.client_ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise NodeSetupError(f"cannot load the log server's certificates: {exc}") from exc
    return context


class LogServer:
    """The HTTPS endpoint of the node: ``/containerLogs/...`` and ``/healthz``."""

    def __init__(self, supervisor: PodSupervisor, find_pod: PodFinder) -> None:
        self.supervisor = supervisor
        self.find_pod = find_pod
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, host: str, port: int, context: ssl.SSLContext) -> int:
        """Listen on ``host:port`` (0: a free port); returns the port."""
        app = web.Application()
        app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", self._logs)
        app.router.add_get("/healthz", self._healthz)
        listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host, port))
        except OSError as exc:
            listener.close()
            raise NodeSetupError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
        self.port = int(listener.getsockname()[1])
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, listener, ssl_context=context).start()
        return self.port

    async def stop(self) -> None:
        """Stop listening and end open streams."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _logs(self, request: web.Request) -> web.StreamResponse:
        namespace = request.match_info["namespace"]
        name = request.match_info["pod"]
        pod = await self.find_pod(namespace, name)
        if pod is None:
            return web.Response(status=404, text=f'pod "{namespace}/{name}" not found on this node')
        query = {**request.query, "container": request.match_info["container"]}
        try:
            answer = await self.supervisor.logs(pod, query)
        except BadLogRequest as exc:
            return web.Response(status=400, text=str(exc))
        if isinstance(answer, bytes):
            return web.Response(body=answer, content_type="text/plain")
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):
            async with contextlib.aclosing(answer) as chunks:
                async for chunk in chunks:
                    await response.write(chunk)
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response
