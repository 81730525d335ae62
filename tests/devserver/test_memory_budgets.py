"""Memory and disk are bounded by bytes, not by counts of changes (issue 15 item 5, issue 17
item 3): the change history keeps a byte budget and is compacted from its oldest change, a watch
from a compacted revision gets 410 Expired, initial events are read as the stream sends them,
and a watcher whose live events exceed its byte budget is closed while others are served."""

from __future__ import annotations

import itertools
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from kubernetes import client, config

from kontinue.clock import SystemClock
from kontinue.devserver import DevServerSettings, DevServerThread
from kontinue.devserver.registry import REPLAY_PAGE, Registry
from kontinue.devserver.resources import ResourceType
from kontinue.devserver.routes import RouteSettings
from kontinue.devserver.storage import Store, StoreCompacted
from kontinue.devserver.watching import Watcher

pytestmark = pytest.mark.devserver  # tests the dev server itself

MB = 1024 * 1024
BIG = 1_000_000  # a ConfigMap's data holds at most 1 MiB
KEY = "/configmaps"


def _configmap(name: str, size: int, mark: object = "") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default"},
        "data": {"a": f"{mark}" + "x" * size},
    }


def _held(store: Store) -> int:
    (held,) = store._db.execute(
        "SELECT coalesce(sum(length(data) + coalesce(length(prev), 0)), 0) FROM events"
    ).fetchone()
    return int(held)


# The history -------------------------------------------------------------------------------


def test_the_change_history_is_compacted_by_bytes() -> None:
    store = Store(None, history=100_000, history_bytes=8 * MB)
    first = store.put(KEY, _configmap("big", MB)).rv
    for i in range(30):  # each update logs the object after and before it: ~2 MB a change
        store.put(KEY, _configmap("big", MB, i))
    assert _held(store) == store.history_held <= 8 * MB
    assert store.compacted_rv > first
    with pytest.raises(StoreCompacted):
        store.changes_since(KEY, first)
    store.delete(KEY, "default", "big")
    assert [c.type for c in store.changes_since(KEY, store.rv - 1)] == ["DELETED"]
    store.close()


def test_an_in_memory_store_gives_back_what_it_compacts() -> None:
    """An object of 256 KiB rewritten 200 times (100 MiB of logged changes) leaves the
    in-memory database near its 2 MiB budget, and deleting the object gives its pages back."""
    store = Store(None, history_bytes=2 * MB)
    for i in range(200):
        store.put(KEY, _configmap("big", MB // 4, i))
    assert store.stored_bytes() <= 3 * MB
    store.delete(KEY, "default", "big")
    store.compact(store.rv)
    assert store.stored_bytes() <= MB
    store.close()


def test_a_database_file_stays_near_its_budget(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = Store(path, history_bytes=2 * MB)
    for i in range(100):
        store.put(KEY, _configmap("big", MB // 4, i))
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert path.stat().st_size <= 3 * MB
    store.close()


def test_a_smaller_budget_compacts_and_shrinks_the_file_at_start(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = Store(path, history_bytes=16 * MB)
    for i in range(25):
        store.put(KEY, _configmap("big", MB // 4, i))
    rv = store.rv
    store.close()
    assert path.stat().st_size > 10 * MB
    store = Store(path, history_bytes=2 * MB)
    assert store.history_held <= 2 * MB and store.rv == rv
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert path.stat().st_size <= 3 * MB
    assert store.get(KEY, "default", "big") is not None  # the objects stay
    store.close()


def test_a_database_of_an_older_version_is_made_reclaimable(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "state.db"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    old.commit()
    old.close()
    store = Store(path)
    assert store._db.execute("PRAGMA auto_vacuum").fetchone() == (2,)  # incremental
    store.close()


# Watches at the registry ------------------------------------------------------------------


def _registry(history_bytes: int) -> tuple[Registry, ResourceType]:
    registry = Registry(Store(None, history_bytes=history_bytes), SystemClock())
    rt = registry.catalog.by_key(KEY)
    assert rt is not None
    return registry, rt


def _lines(kind: str, raw: bytes) -> bytes:
    return orjson.dumps({"type": kind, "object": orjson.loads(raw)}) + b"\n"


def _events(chunks: Iterator[bytes]) -> list[tuple[str, Any]]:
    lines = b"".join(chunks).splitlines()
    return [(e["type"], e["object"]) for e in map(orjson.loads, lines)]


def test_initial_events_are_read_as_the_stream_sends_them() -> None:
    registry, rt = _registry(64 * MB)
    for i in range(20):
        registry.store.put(KEY, _configmap(f"big{i}", MB))
    watcher = registry.watch(rt, "v1", None, encode=_lines)
    assert watcher.queue.empty() and watcher.queued_bytes == 0  # nothing buffered up front
    chunks = watcher.initial_chunks(limit=1)
    assert [kind for kind, _ in _events(itertools.islice(chunks, 1))] == ["ADDED"]
    registry.store.put(KEY, _configmap("late", 10))  # live: after every initial event
    assert len(_events(chunks)) == 19
    assert watcher.queue.qsize() == 1


def test_a_replay_overtaken_by_compaction_ends_with_410() -> None:
    registry, rt = _registry(8 * MB)
    start = registry.store.put(KEY, _configmap("big", 10)).rv
    for i in range(REPLAY_PAGE * 2):  # the replay reads a page at a time
        registry.store.put(KEY, _configmap("big", 10, i))
    watcher = registry.watch(rt, "v1", None, encode=_lines, resource_version=str(start))
    chunks = watcher.initial_chunks(limit=1)
    first = _events(itertools.islice(chunks, 1))
    assert first[0][0] == "MODIFIED"
    for i in range(20):  # the client reads slowly; meanwhile the history moves on
        registry.store.put(KEY, _configmap("big", MB // 2, -i))
    rest = _events(chunks)
    kind, status = rest[-1]
    assert kind == "ERROR" and status["code"] == 410 and status["reason"] == "Expired"
    assert watcher.closed


def test_a_watch_from_a_compacted_revision_gets_410_at_once() -> None:
    registry, rt = _registry(4 * MB)
    start = registry.store.put(KEY, _configmap("big", MB)).rv
    for i in range(5):
        registry.store.put(KEY, _configmap("big", MB, i))
    watcher = registry.watch(rt, "v1", None, encode=_lines, resource_version=str(start))
    ((kind, status),) = _events(watcher.initial_chunks())
    assert (kind, status["code"], status["reason"]) == ("ERROR", 410, "Expired")
    oldest = registry.store.compacted_rv + 1
    assert status["message"] == f"too old resource version: {start} ({oldest})"


def _watcher(budget: int) -> Watcher:
    return Watcher(None, namespace=None, labels=None, fields=None, byte_budget=budget)  # type: ignore[arg-type]


def test_a_watcher_that_falls_behind_by_bytes_is_closed() -> None:
    watcher = _watcher(4 * MB)
    big = b"x" * MB
    for _ in range(4):
        watcher.send("MODIFIED", big)
    assert not watcher.overflowed
    watcher.send("MODIFIED", big)
    assert watcher.overflowed and watcher.closed
    items = [watcher.queue.get_nowait() for _ in range(watcher.queue.qsize())]
    assert items[-1] is None  # the stream ends after what was queued; the client re-watches
    assert len(items) == 5


def test_a_watcher_whose_reader_keeps_up_stays_open() -> None:
    watcher = _watcher(4 * MB)
    big = b"x" * MB
    for _ in range(50):
        watcher.send("MODIFIED", big)
        watcher.taken(watcher.queue.get_nowait())
    assert not watcher.overflowed
    assert watcher.queued_bytes == 0


# Over HTTP ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_server() -> Iterator[DevServerThread]:
    settings = DevServerSettings.ephemeral(
        history_bytes=8 * MB,
        run_jobs=False,
        run_pods=False,
        limits=RouteSettings(token="", server_address="", watch_bytes=2 * MB),
    )
    with DevServerThread(settings) as thread:
        yield thread


@pytest.fixture(scope="module")
def core(small_server: DevServerThread) -> client.CoreV1Api:
    configuration = client.Configuration()
    config.load_kube_config(
        config_file=str(small_server.server.kubeconfig_path), client_configuration=configuration
    )
    return client.CoreV1Api(client.ApiClient(configuration))


def test_the_budget_is_a_server_setting(small_server: DevServerThread, core: Any) -> None:
    start = core.create_namespaced_config_map("default", _configmap("setting", 10))
    for i in range(12):
        core.replace_namespaced_config_map("setting", "default", _configmap("setting", BIG, i))
    store = small_server.server.registry.store
    assert store.history_held <= 8 * MB
    response = core.list_namespaced_config_map(
        "default",
        watch=True,
        resource_version=start.metadata.resource_version,
        timeout_seconds=5,
        _preload_content=False,
    )
    (event,) = [orjson.loads(line) for line in response.read().splitlines()]
    assert event["type"] == "ERROR" and event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"


def _stalled_watch(server: DevServerThread, path: str) -> ssl.SSLSocket:
    """A watch whose client sends its request and then reads nothing."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", server.server.port))
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock = context.wrap_socket(raw)
    token = server.server.token
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    )
    return sock


def _read_to_end(sock: ssl.SSLSocket) -> bytes:
    """What a stalled watch was sent, once it reads again, up to the end of the stream."""
    sock.settimeout(10)
    data = b""
    while not data.endswith(b"\r\n0\r\n\r\n"):
        more = sock.recv(1 << 20)
        if not more:
            break
        data += more
    return data


def test_a_stalled_watcher_is_cut_off_and_others_are_served(
    small_server: DevServerThread, core: Any
) -> None:
    rv = core.create_namespaced_config_map("default", _configmap("stalled", 10))
    rv = rv.metadata.resource_version
    path = f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}"
    stalled = _stalled_watch(small_server, path)
    received: list[str] = []

    def read() -> None:
        stream = core.list_namespaced_config_map(
            "default", watch=True, resource_version=rv, timeout_seconds=30, _preload_content=False
        )
        for line in stream:
            received.append(orjson.loads(line)["type"])
            if received[-1] == "DELETED":
                break
        stream.release_conn()

    reading = threading.Thread(target=read)
    reading.start()
    try:
        # 40 MB of changes: far beyond the 2 MiB budget and what the sockets buffer
        for i in range(40):
            core.replace_namespaced_config_map("stalled", "default", _configmap("stalled", BIG, i))
        core.delete_namespaced_config_map("stalled", "default")
        reading.join(timeout=30)
        assert received == ["MODIFIED"] * 40 + ["DELETED"]  # the reader saw every change
        sent = _read_to_end(stalled)
    finally:
        stalled.close()
    assert sent.endswith(b"\r\n0\r\n\r\n")  # the server ended the stalled stream
    assert 0 < sent.count(b'{"type":"MODIFIED"') < 40
    assert b'"DELETED"' not in sent
