"""Transient failures are retried for requests that are safe to repeat, never for others."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from aiohttp import web

from kontinue.kube import KubeClient, KubeSettings, ServerError
from kontinue.kube._transport import connection_from_values


class FlakyServer:
    """Answers 503 to the first ``failures`` requests of each path, then 200."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: dict[str, int] = {}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.port = 0

    async def handle(self, request: web.BaseRequest) -> web.Response:
        key = f"{request.method} {request.path}"
        self.calls[key] = self.calls.get(key, 0) + 1
        if self.calls[key] <= self.failures:
            return web.json_response(
                {"kind": "Status", "code": 503, "reason": "ServiceUnavailable", "message": "busy"},
                status=503,
            )
        return web.json_response(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
            status=201 if request.method == "POST" else 200,
        )

    def __enter__(self) -> FlakyServer:
        self.thread.start()

        async def start() -> None:
            self.runner = web.ServerRunner(web.Server(self.handle))
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

        asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def flaky() -> Iterator[FlakyServer]:
    with FlakyServer(failures=2) as server:
        yield server


def test_gets_are_retried_and_unnamed_creates_are_not(flaky: FlakyServer) -> None:
    client = KubeClient(
        connection_from_values(f"http://127.0.0.1:{flaky.port}"),
        KubeSettings(qps=0, retries=3, backoff=0.001),
    )
    assert client.get("configmaps", "x")["metadata"]["name"] == "x"
    assert flaky.calls["GET /api/v1/namespaces/default/configmaps/x"] == 3
    with pytest.raises(ServerError):
        client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "a-"}})
    assert flaky.calls["POST /api/v1/namespaces/default/configmaps"] == 1
    created = client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "n"}})
    assert created["metadata"]["name"] == "x"
    assert flaky.calls["POST /api/v1/namespaces/default/configmaps"] == 3
