"""The worker's HTTP endpoint: Prometheus metrics and the probes of a Deployment.

One server on ``settings.metrics_address`` answers

* ``/metrics``: the worker's registry in the Prometheus text format;
* ``/healthz`` (liveness): 200 once the worker's event loop runs a callback handed to it from the
  server's thread within :data:`LIVE_TIMEOUT` seconds, 503 when it does not (a workflow blocking
  the loop, a deadlock): the kubelet restarts a worker that stays that way;
* ``/readyz`` (readiness): 200 once the worker's caches are filled (``Engine.ready``), 503 before.

It runs on its own thread (``http.server``), so it answers while the event loop is busy: that is
what lets ``/healthz`` tell a blocked loop from a slow answer.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

__all__ = ["LIVE_TIMEOUT", "HealthServer"]

LIVE_TIMEOUT = 2.0
"""Seconds the event loop has to run a callback before ``/healthz`` says it is stuck (2: a
healthy loop answers in microseconds; the probe's own timeout is longer)."""


class HealthServer:
    """Serves ``/metrics``, ``/healthz`` and ``/readyz`` of one worker on ``host:port``.

    ``loop`` is the worker's event loop, ``ready`` says whether its caches are filled. Raises
    ``OSError`` from the constructor when the address cannot be bound.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        registry: CollectorRegistry,
        loop: asyncio.AbstractEventLoop,
        ready: Callable[[], bool],
        live_timeout: float = LIVE_TIMEOUT,
    ) -> None:
        self.registry = registry
        self.loop = loop
        self.ready = ready
        self.live_timeout = live_timeout
        server = _Server6 if ":" in host else _Server
        self._server = server((host, port), _Handler)
        self._server.health = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="kontinue-health", daemon=True
        )

    @property
    def port(self) -> int:
        """The port it listens on (the bound one when 0 was asked)."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def live(self) -> bool:
        """Whether the event loop runs a callback within ``live_timeout`` (call off the loop)."""
        answered = threading.Event()
        try:
            self.loop.call_soon_threadsafe(answered.set)
        except RuntimeError:  # the loop is closed
            return False
        return answered.wait(self.live_timeout)

    def answer(self, path: str) -> tuple[int, str, bytes]:
        """The status, content type and body for a GET of ``path``."""
        route = path.partition("?")[0]
        if route == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest(self.registry)
        if route == "/healthz":
            ok = self.live()
            return _text(ok, "ok" if ok else f"event loop not answering in {self.live_timeout} s")
        if route == "/readyz":
            ok = self.ready()
            return _text(ok, "ok" if ok else "caches not synced yet")
        return 404, "text/plain; charset=utf-8", b"not found: /metrics, /healthz, /readyz\n"


def _text(ok: bool, message: str) -> tuple[int, str, bytes]:
    return (200 if ok else 503), "text/plain; charset=utf-8", f"{message}\n".encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    health: HealthServer


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        status, content_type, body = self.server.health.answer(self.path)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: probes every few seconds would flood the worker's log."""
