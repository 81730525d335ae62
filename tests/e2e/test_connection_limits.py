"""Connections cannot be held for ever, nor opened without bound (issue 15, item 4).

Each server here has short limits so the tests are quick; the assertions only say that a
connection ends, with generous deadlines, never how fast.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import urllib3

from kontinue.devserver import DevServerSettings, DevServerThread
from kontinue.devserver.routes import RouteSettings

pytestmark = [
    pytest.mark.devserver,  # tests the dev server itself
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]


def _server(**limits: float) -> DevServerThread:
    settings = DevServerSettings.ephemeral(
        run_pods=False,
        run_jobs=False,
        limits=RouteSettings(token="", server_address="", **limits),
    )
    return DevServerThread(settings)


def _connect(thread: DevServerThread) -> ssl.SSLSocket:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", thread.server.port), timeout=15)
    return context.wrap_socket(raw)


def _closed_by_server(sock: ssl.SSLSocket) -> bool:
    """Read until the server closes (True) or 15 quiet seconds pass (False)."""
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except (ConnectionError, ssl.SSLError):
        return True
    return True


@pytest.fixture(scope="module")
def quick() -> Iterator[DevServerThread]:
    with _server(header_timeout=0.5, keepalive_timeout=0.5) as thread:
        yield thread


def test_unfinished_headers_are_cut_off(quick: DevServerThread) -> None:
    with contextlib.closing(_connect(quick)) as sock:
        sock.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        assert _closed_by_server(sock)


def test_a_connection_that_sends_nothing_is_closed(quick: DevServerThread) -> None:
    with contextlib.closing(_connect(quick)) as sock:
        assert _closed_by_server(sock)


def test_idle_keep_alive_connections_are_closed(quick: DevServerThread) -> None:
    with contextlib.closing(_connect(quick)) as sock:
        request = (
            "GET /version HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {quick.server.token}\r\n\r\n"
        )
        sock.sendall(request.encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        assert _closed_by_server(sock)


def test_connections_beyond_the_cap_are_refused() -> None:
    with _server(max_connections=3) as thread:
        held = [_connect(thread) for _ in range(3)]
        try:
            with contextlib.closing(_connect(thread)) as extra:
                with contextlib.suppress(ConnectionError, ssl.SSLError):
                    extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                assert _closed_by_server(extra)
        finally:
            for sock in held:
                sock.close()


def test_watches_beyond_the_cap_are_a_429() -> None:
    with _server(max_watches=2) as thread:
        pool = urllib3.PoolManager(cert_reqs="CERT_NONE", maxsize=4)
        headers = {"Authorization": f"Bearer {thread.server.token}"}
        url = f"{thread.server.url}/api/v1/namespaces/default/configmaps?watch=1"
        assert urlsplit(url).hostname == "127.0.0.1"
        open_watches = [
            pool.request("GET", url, headers=headers, preload_content=False) for _ in range(2)
        ]
        try:
            assert [w.status for w in open_watches] == [200, 200]
            refused = pool.request("GET", url, headers=headers)
            assert refused.status == 429
            assert refused.headers["Retry-After"] == "1"
            assert b'"reason":"TooManyRequests"' in refused.data
        finally:
            for watch in open_watches:
                watch.release_conn()
                watch.close()
