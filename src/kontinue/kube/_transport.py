"""The one place that talks to the network and reads kubeconfig.

Connection settings (kubeconfig files and contexts, in-cluster service accounts, bearer tokens,
client certificates, exec credential plugins, TLS) come from the official ``kubernetes``
package's loaders: that is the library we rely on for configuration and authentication. The
HTTP itself goes through urllib3 (sync) and aiohttp (async) — the same stacks the official sync
and asyncio clients use — driven directly, because the generated API layers above them cost
about 0.5 ms of CPU per request (see ``bench/accumulator.py``), which the engine's hot path
cannot afford.

Nothing outside this module imports ``kubernetes``, urllib3 or aiohttp's client.

The clients need only what the :class:`Transport` and :class:`AsyncTransport` protocols
describe: send a request, stream one, close. :class:`HTTPTransport` and
:class:`AsyncHTTPTransport` are the real ones; :class:`MockTransport` and
:class:`AsyncMockTransport` let a test answer requests itself, or look at, hold back or fail the
requests a client sends to a real server (``transport=`` of the clients).
"""

from __future__ import annotations

import base64
import os
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import urllib3

from ._requests import Request, Response, StreamRefused
from .errors import ConnectionFailed

__all__ = [
    "AsyncHTTPTransport",
    "AsyncHandler",
    "AsyncMockTransport",
    "AsyncTransport",
    "Connection",
    "HTTPTransport",
    "Handler",
    "MockTransport",
    "Transport",
    "load_connection",
]

_SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
_TOKEN_REUSE_SECONDS = 5.0


@dataclass
class Connection:
    """Where the API server is and how to authenticate to it."""

    server: str
    namespace: str = "default"
    ssl_context: ssl.SSLContext | None = None
    token: Callable[[], str | None] = field(default=lambda: None)
    basic_auth: str | None = None
    context_name: str = ""

    def request_headers(self, request: Request) -> dict[str, str]:
        """Every header of ``request`` as sent: content negotiation, auth, the request's own."""
        headers = {"Accept": request.accept, **self.headers(), **request.headers}
        if request.content_type:
            headers["Content-Type"] = request.content_type
        return headers

    def headers(self) -> dict[str, str]:
        """Authentication headers, fetching a fresh token if the provider refreshes it."""
        token = self.token()
        if token:
            # the official loaders prefix it themselves, in either case ("bearer " in-cluster)
            scheme, _, rest = token.partition(" ")
            value = rest if rest and scheme.lower() == "bearer" else token
            return {"Authorization": f"Bearer {value}"}
        if self.basic_auth:
            return {"Authorization": f"Basic {self.basic_auth}"}
        return {}


def _ssl_context(configuration: Any) -> ssl.SSLContext | None:
    if not str(configuration.host).startswith("https"):
        return None
    context = ssl.create_default_context(cafile=configuration.ssl_ca_cert or None)
    if not configuration.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file or None)
    return context


def _in_cluster_available() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and (_SA_DIR / "token").exists()


def load_connection(
    kubeconfig: str | os.PathLike[str] | None = None,
    context: str | None = None,
    *,
    in_cluster: bool | None = None,
) -> Connection:
    """Settings from a kubeconfig (``$KUBECONFIG`` or ``~/.kube/config`` by default) or, inside
    a pod with no kubeconfig given, from the pod's service account."""
    from kubernetes import client, config

    configuration = client.Configuration()
    use_cluster = in_cluster
    if use_cluster is None:
        use_cluster = (
            kubeconfig is None
            and not os.environ.get("KUBECONFIG")
            and not Path("~/.kube/config").expanduser().exists()
            and _in_cluster_available()
        )
    try:
        if use_cluster:
            config.load_incluster_config(client_configuration=configuration)
            namespace_file = _SA_DIR / "namespace"
            namespace = namespace_file.read_text().strip() if namespace_file.exists() else "default"
            name = "in-cluster"
        else:
            path = str(kubeconfig) if kubeconfig is not None else None
            config.load_kube_config(
                config_file=path,
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
            contexts, active = config.list_kube_config_contexts(config_file=path)
            chosen = (
                next((c for c in contexts if c["name"] == context), active) if context else active
            )
            namespace = (chosen or {}).get("context", {}).get("namespace") or "default"
            name = (chosen or {}).get("name", "")
    except config.ConfigException as exc:
        raise ConnectionFailed(f"cannot load Kubernetes configuration: {exc}") from exc
    basic = None
    if configuration.username and configuration.password:
        basic = base64.b64encode(
            f"{configuration.username}:{configuration.password}".encode()
        ).decode()
    return Connection(
        server=str(configuration.host).rstrip("/"),
        namespace=namespace,
        ssl_context=_ssl_context(configuration),
        token=_token_provider(configuration),
        basic_auth=basic,
        context_name=name,
    )


def _token_provider(configuration: Any) -> Callable[[], str | None]:
    """The bearer token, re-read from the configuration at most every few seconds.

    The loaders install a refresh hook (exec plugins, OIDC, rotating service-account tokens)
    that renews an expiring token when it is read; reading through the official Configuration
    costs about 0.3 ms, because each access looks up the proxy environment, so the value is
    reused briefly instead of being read on every request.
    """
    cached: list[Any] = [None, float("-inf")]

    def current() -> str | None:
        now = time.monotonic()
        if now - cached[1] > _TOKEN_REUSE_SECONDS:
            value = configuration.get_api_key_with_prefix("authorization")
            if not value:
                value = configuration.get_api_key_with_prefix("BearerToken")
            cached[0], cached[1] = (str(value) if value else None), now
        token: str | None = cached[0]
        return token

    return current


def connection_from_values(
    server: str, token: str | None = None, ca_pem: bytes | None = None, namespace: str = "default"
) -> Connection:
    """A connection from explicit values (tests, and servers we started ourselves)."""
    context = None
    if server.startswith("https"):
        context = ssl.create_default_context(cadata=ca_pem.decode() if ca_pem else None)
    return Connection(
        server=server.rstrip("/"), namespace=namespace, ssl_context=context, token=lambda: token
    )


def _chunk_lines(buffer: bytearray, chunk: bytes) -> list[bytes]:
    buffer.extend(chunk)
    lines: list[bytes] = []
    while True:
        end = buffer.find(b"\n")
        if end < 0:
            return lines
        line = bytes(buffer[:end])
        del buffer[: end + 1]
        if line.strip():
            lines.append(line)


class Transport(Protocol):
    """What a :class:`~kontinue.kube.KubeClient` sends its requests through."""

    def send(self, request: Request) -> Response:
        """The answer to ``request``, whatever its status; :class:`ConnectionFailed` when none
        came (the client decides about retries and errors)."""
        ...

    def stream(self, request: Request) -> Iterator[bytes]:
        """The non-empty lines of a streaming answer (watch events, followed logs), as they
        come; an error answer raises ``StreamRefused`` carrying it."""
        ...

    def close(self) -> None:
        """Release connections; the transport is not used afterwards."""
        ...


class AsyncTransport(Protocol):
    """What an :class:`~kontinue.kube.AsyncKubeClient` sends its requests through (see
    :class:`Transport`)."""

    async def send(self, request: Request) -> Response:
        """See :meth:`Transport.send`."""
        ...

    def stream(self, request: Request) -> AsyncIterator[bytes]:
        """See :meth:`Transport.stream`."""
        ...

    async def close(self) -> None:
        """See :meth:`Transport.close`."""
        ...


class HTTPTransport:
    """Blocking HTTP with a connection pool (safe to share between threads)."""

    def __init__(
        self, connection: Connection, *, timeout: float = 30.0, pool_size: int = 10
    ) -> None:
        self.connection = connection
        self.timeout = timeout
        self._pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=pool_size,
            block=False,
            ssl_context=connection.ssl_context,
            retries=False,
        )
        self._lock = threading.Lock()

    def send(self, request: Request) -> Response:
        try:
            response = self._pool.request(
                request.method,
                self.connection.server + request.url(),
                body=request.body,
                headers=self.connection.request_headers(request),
                timeout=request.timeout or self.timeout,
                preload_content=True,
                redirect=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise ConnectionFailed(f"{request.method} {request.path}: {exc}") from exc
        return Response(response.status, dict(response.headers), response.data)

    def stream(self, request: Request) -> Iterator[bytes]:
        """Non-empty lines of a streaming answer (watch events, followed logs)."""
        try:
            response = self._pool.request(
                request.method,
                self.connection.server + request.url(),
                body=request.body,
                headers=self.connection.request_headers(request),
                preload_content=False,
                redirect=False,
                timeout=urllib3.Timeout(connect=self.timeout, read=request.timeout),
            )
        except urllib3.exceptions.HTTPError as exc:
            raise ConnectionFailed(f"{request.method} {request.path}: {exc}") from exc
        try:
            if response.status >= 400:
                yield from ()
                raise StreamRefused(
                    Response(response.status, dict(response.headers), response.read())
                )
            buffer = bytearray()
            for chunk in response.stream(65536, decode_content=True):
                yield from _chunk_lines(buffer, chunk)
            if buffer.strip():
                yield bytes(buffer)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ConnectionFailed(f"stream {request.path} broke: {exc}") from exc
        finally:
            response.release_conn()

    def close(self) -> None:
        self._pool.clear()


class AsyncHTTPTransport:
    """Non-blocking HTTP on the running event loop (one session, created lazily)."""

    def __init__(
        self, connection: Connection, *, timeout: float = 30.0, pool_size: int = 100
    ) -> None:
        self.connection = connection
        self.timeout = timeout
        self.pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                ssl=self.connection.ssl_context if self.connection.ssl_context else False,
                limit=self.pool_size,
            )
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=True)
        return self._session

    async def send(self, request: Request) -> Response:
        session = self._session_for_loop()
        try:
            async with session.request(
                request.method,
                self.connection.server + request.url(),
                data=request.body,
                headers=self.connection.request_headers(request),
                allow_redirects=False,
                # per connection attempt and per read, not in total: a request queued for a
                # pooled connection (a burst of thousands) waits without timing out
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    sock_connect=self.timeout,
                    sock_read=request.timeout or self.timeout,
                ),
            ) as response:
                body = await response.read()
                return Response(response.status, dict(response.headers), body)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ConnectionFailed(f"{request.method} {request.path}: {exc!r}") from exc

    async def stream(self, request: Request) -> AsyncIterator[bytes]:
        """Non-empty lines of a streaming answer (watch events, followed logs)."""
        session = self._session_for_loop()
        try:
            async with session.request(
                request.method,
                self.connection.server + request.url(),
                data=request.body,
                headers=self.connection.request_headers(request),
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self.timeout, sock_read=request.timeout
                ),
            ) as response:
                if response.status >= 400:
                    raise StreamRefused(
                        Response(response.status, dict(response.headers), await response.read())
                    )
                buffer = bytearray()
                async for chunk in response.content.iter_any():
                    for line in _chunk_lines(buffer, chunk):
                        yield line
                if buffer.strip():
                    yield bytes(buffer)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ConnectionFailed(f"stream {request.path} broke: {exc!r}") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


Send = Callable[[Request], Response]
Handler = Callable[[Request, Send], Response]
"""``handler(request, send)``: the answer to ``request``, made up or got from ``send``."""
AsyncSend = Callable[[Request], Awaitable[Response]]
AsyncHandler = Callable[[Request, AsyncSend], Awaitable[Response]]
"""``await handler(request, send)``: the answer to ``request``, made up or from ``send``."""


def _no_server(request: Request) -> ConnectionFailed:
    return ConnectionFailed(f"{request.method} {request.path}: no transport behind this mock")


def _lines(response: Response) -> list[bytes]:
    if response.status >= 400:
        raise StreamRefused(response)
    return [line for line in response.body.split(b"\n") if line.strip()]


class MockTransport:
    """A transport for tests: ``handler(request, send)`` answers every request.

    It makes up a :class:`Response`, or calls ``send`` to pass the request on to ``inner`` (a
    client's real transport, say), and may look at the request and the answer, hold the
    request back or fail it on the way. Without ``inner``, ``send`` raises
    :class:`ConnectionFailed`. A streaming request (a watch, followed logs) goes to ``inner``
    as it is; without ``inner``, its lines are those of the handler's answer. Closing the mock
    closes ``inner``.
    """

    def __init__(self, handler: Handler, inner: Transport | None = None) -> None:
        self.handler = handler
        self.inner = inner

    def send(self, request: Request) -> Response:
        return self.handler(request, self._pass_on)

    def _pass_on(self, request: Request) -> Response:
        if self.inner is None:
            raise _no_server(request)
        return self.inner.send(request)

    def stream(self, request: Request) -> Iterator[bytes]:
        if self.inner is not None:
            yield from self.inner.stream(request)
        else:
            yield from _lines(self.send(request))

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()


class AsyncMockTransport:
    """:class:`MockTransport` for the asyncio client: ``await handler(request, send)``
    answers every request (``send`` passes it on to ``inner``)."""

    def __init__(self, handler: AsyncHandler, inner: AsyncTransport | None = None) -> None:
        self.handler = handler
        self.inner = inner

    async def send(self, request: Request) -> Response:
        return await self.handler(request, self._pass_on)

    async def _pass_on(self, request: Request) -> Response:
        if self.inner is None:
            raise _no_server(request)
        return await self.inner.send(request)

    async def stream(self, request: Request) -> AsyncIterator[bytes]:
        if self.inner is not None:
            async for line in self.inner.stream(request):
                yield line
        else:
            for line in _lines(await self.send(request)):
                yield line

    async def close(self) -> None:
        if self.inner is not None:
            await self.inner.close()
