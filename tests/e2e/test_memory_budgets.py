"""Memory is bounded by bytes, not only by counts (issue 15, item 5)."""

from __future__ import annotations

from typing import Any

import pytest

from kontinue.devserver.storage import Store, StoreCompacted
from kontinue.devserver.watching import Watcher

pytestmark = pytest.mark.devserver  # tests the dev server itself

MB = 1024 * 1024


def _configmap(name: str, size: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default"},
        "data": {"a": "x" * size},
    }


def test_the_change_history_is_compacted_by_bytes() -> None:
    store = Store(None, history=100_000, history_bytes=8 * MB)
    first = store.put("/configmaps", _configmap("big", MB)).rv
    for _ in range(30):  # each update logs the object after and before it: ~2 MB a change
        store.put("/configmaps", _configmap("big", MB))
    (held,) = store._db.execute(
        "SELECT sum(length(data) + coalesce(length(prev), 0)) FROM events"
    ).fetchone()
    assert held <= 8 * MB
    assert store.compacted_rv > first
    with pytest.raises(StoreCompacted):
        list(store.changes_since("/configmaps", first))
    store.delete("/configmaps", "default", "big")
    assert [c.type for c in store.changes_since("/configmaps", store.rv - 1)] == ["DELETED"]
    store.close()


def _watcher(**limits: int) -> Watcher:
    def encode(kind: str, obj: dict[str, Any], raw: bytes) -> bytes:
        return kind.encode() + b" " + raw + b"\n"

    return Watcher(None, namespace=None, labels=None, fields=None, encode=encode, **limits)  # type: ignore[arg-type]


def test_a_watcher_that_falls_behind_by_bytes_is_closed() -> None:
    watcher = _watcher(byte_budget=4 * MB)
    big = b"x" * MB
    for _ in range(10):  # initial events: bounded by the store, never a reason to close
        watcher.send("ADDED", {}, big)
    watcher.go_live()
    for _ in range(3):
        watcher.send("MODIFIED", {}, big)
    assert not watcher.overflowed
    for _ in range(3):
        watcher.send("MODIFIED", {}, big)
    assert watcher.overflowed
    lines = [watcher.queue.get_nowait() for _ in range(watcher.queue.qsize())]
    assert lines[-1] is None  # the stream ends; the client relists
    assert len(lines) == 14


def test_a_watcher_whose_reader_keeps_up_stays_open() -> None:
    watcher = _watcher(byte_budget=4 * MB)
    watcher.go_live()
    big = b"x" * MB
    for _ in range(50):
        watcher.send("MODIFIED", {}, big)
        watcher.taken(watcher.queue.get_nowait())
    assert not watcher.overflowed
    assert watcher.queued_bytes == 0
