"""The transport seam: a client sends through any transport, and the mock transports answer
requests themselves or pass them on to the transport they wrap."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import orjson
import pytest

from kontinue.kube import (
    AsyncKubeClient,
    AsyncMockTransport,
    ConnectionFailed,
    Forbidden,
    KubeClient,
    KubeSettings,
    MockTransport,
    Request,
    Response,
)
from kontinue.kube._transport import Connection

Send = Callable[[Request], Response]
AsyncSend = Callable[[Request], Awaitable[Response]]
CONNECTION = Connection("https://mock.invalid", namespace="ns")
FAST = KubeSettings(qps=0)
CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "a", "namespace": "ns", "resourceVersion": "7"},
    "data": {"k": "v"},
}
DISCOVERY = {
    "kind": "APIResourceList",
    "groupVersion": "v1",
    "resources": [
        {"name": "configmaps", "kind": "ConfigMap", "namespaced": True, "verbs": ["get"]}
    ],
}


def _json(status: int, body: object) -> Response:
    return Response(status, {"Content-Type": "application/json"}, orjson.dumps(body))


def _server(request: Request, send: object) -> Response:
    """A tiny API server: discovery of v1, one ConfigMap, a watch of one event."""
    if request.path == "/api/v1":
        return _json(200, DISCOVERY)
    if request.path == "/api/v1/namespaces/ns/configmaps/a":
        return _json(200, CONFIGMAP)
    if dict(request.query).get("watch") == "true":
        return _json(200, {"type": "ADDED", "object": CONFIGMAP})
    return _json(404, {"kind": "Status", "code": 404, "reason": "NotFound", "message": "no"})


def test_a_client_sends_through_its_transport_and_decodes_the_answers() -> None:
    seen: list[tuple[str, str]] = []

    def handler(request: Request, send: Send) -> Response:
        seen.append((request.method, request.path))
        return _server(request, send)

    transport = MockTransport(handler)
    with KubeClient(CONNECTION, FAST, transport=transport) as client:
        assert client.transport is transport
        assert client.get("configmaps", "a")["data"] == {"k": "v"}
        assert client.with_namespace("other").transport is transport
        [event] = list(client.watch_events("configmaps", timeout_seconds=1))
    assert event.type == "ADDED" and event.object["metadata"]["name"] == "a"
    assert ("GET", "/api/v1/namespaces/ns/configmaps/a") in seen


def test_a_mock_passes_requests_on_to_the_transport_it_wraps() -> None:
    """The outer mock looks at each request and its answer, and fails some on the way."""
    seen: list[tuple[str, int]] = []

    def refusing(request: Request, send: Send) -> Response:
        if request.path.endswith("/forbidden"):
            return _json(403, {"kind": "Status", "code": 403, "reason": "Forbidden"})
        answer = send(request)
        seen.append((request.path, answer.status))
        return answer

    inner = MockTransport(_server)
    with KubeClient(CONNECTION, FAST, transport=MockTransport(refusing, inner)) as client:
        assert client.get("configmaps", "a")["metadata"]["resourceVersion"] == "7"
        with pytest.raises(Forbidden):
            client.get("configmaps", "forbidden")
        [event] = list(client.watch_events("configmaps", timeout_seconds=1))  # streams: inner
    assert event.object["data"] == {"k": "v"}
    assert ("/api/v1/namespaces/ns/configmaps/a", 200) in seen
    assert not any(path.endswith("/forbidden") for path, _ in seen)


def test_a_mock_with_nothing_behind_it_fails_what_it_passes_on() -> None:
    transport = MockTransport(lambda request, send: send(request))
    with (
        KubeClient(CONNECTION, FAST, transport=transport) as client,
        pytest.raises(ConnectionFailed, match="no transport behind this mock"),
    ):
        client.raw("GET", "/version")


async def test_the_async_mock_holds_back_and_passes_on() -> None:
    """A request held by the outer mock waits; released, it reaches the inner transport."""
    order: list[str] = []
    reached, released = asyncio.Event(), asyncio.Event()

    async def inner_handler(request: Request, send: AsyncSend) -> Response:
        order.append(f"server {request.path}")
        return _server(request, send)

    async def holding(request: Request, send: AsyncSend) -> Response:
        order.append("held")
        reached.set()
        await released.wait()
        answer = await send(request)
        order.append(f"answered {answer.status}")
        return answer

    transport = AsyncMockTransport(holding, AsyncMockTransport(inner_handler))
    async with AsyncKubeClient(CONNECTION, FAST, transport=transport) as client:
        reading = asyncio.ensure_future(client.get("configmaps", "a"))
        await asyncio.wait_for(reached.wait(), 1)
        assert order[-1] == "held" and not reading.done()
        released.set()
        assert (await reading)["data"] == {"k": "v"}
        assert order[-2:] == ["server /api/v1/namespaces/ns/configmaps/a", "answered 200"]
        events = [e async for e in client.watch_events("configmaps", timeout_seconds=1)]
    assert [e.type for e in events] == ["ADDED"]
    assert order[-1] == "server /api/v1/namespaces/ns/configmaps"  # streams go to the inner


async def test_an_async_mock_answers_a_refused_stream_with_its_error() -> None:
    async def refusing(request: Request, send: AsyncSend) -> Response:
        if request.path == "/api/v1":
            return _json(200, DISCOVERY)
        return _json(403, {"kind": "Status", "code": 403, "reason": "Forbidden"})

    async with AsyncKubeClient(CONNECTION, FAST, transport=AsyncMockTransport(refusing)) as client:
        with pytest.raises(Forbidden):
            [e async for e in client.watch_events("configmaps", timeout_seconds=1)]
