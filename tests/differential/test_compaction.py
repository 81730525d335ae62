"""Compacted history and filtered watches: a watch or an exact list from a revision that is no
longer kept answers 410 Expired alike (etcd compacts every five minutes and kube-apiserver's watch
cache begins when it starts; the dev server compacts by its byte budget, forced here), and an
object that leaves a watch's selection is reported DELETED in its last matching state at the
revision that made it leave."""

from __future__ import annotations

from typing import Any

import pytest

from .harness import Both, assert_equal, assert_same, cut_messages, rv

MERGE = "application/merge-patch+json"
#: Older than kube-apiserver's watch cache and long compacted by etcd.
COMPACTED = "2"


def _compact_dev(dev_thread: Any) -> None:
    """Compact the dev server's history up to now, as its byte budget does when full."""
    store = dev_thread.server.registry.store

    async def compact() -> None:
        store.compact(store.rv)

    dev_thread.call(compact())


def test_a_watch_from_a_compacted_revision_is_expired(both: Both, ns: str, dev_thread: Any) -> None:
    _compact_dev(dev_thread)
    path = f"/api/v1/namespaces/{ns}/configmaps"
    dev, kube = both.watch(
        path, {"resourceVersion": COMPACTED}, stop=lambda events: len(events) >= 1, timeout=5
    )
    assert [e["type"] for e in kube] == ["ERROR"], kube
    assert_equal(dev, kube, cut_messages(f"too old resource version: {COMPACTED}"))


def test_an_exact_list_at_a_compacted_revision_is_expired(
    both: Both, ns: str, dev_thread: Any
) -> None:
    _compact_dev(dev_thread)
    path = f"/api/v1/namespaces/{ns}/configmaps"
    query = {"resourceVersion": COMPACTED, "resourceVersionMatch": "Exact"}
    pair = both.request("GET", path, query=query)
    if pair.kube.status == 200:
        pytest.skip("etcd has not compacted its first revisions yet (every five minutes)")
    assert pair.kube.status == 410
    assert_same(pair)


def test_an_object_leaving_a_selection_is_deleted_at_its_new_revision(both: Both, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    body = {"metadata": {"name": "leaving", "labels": {"stage": "one"}}, "data": {"a": "b"}}
    created = both.request("POST", path, body)
    assert_same(created)
    relabel = {"metadata": {"labels": {"stage": "two"}}}
    patched = both.request("PATCH", f"{path}/leaving", relabel, content_type=MERGE)
    assert_same(patched)
    seen = {}
    for side, start, moved in (
        (both.dev, created.dev, patched.dev),
        (both.kube, created.kube, patched.kube),
    ):
        events = side.watch(
            path,
            {"resourceVersion": str(rv(start.json)), "labelSelector": "stage=one"},
            stop=lambda events: len(events) >= 1,
            timeout=5,
        )
        assert [e["type"] for e in events] == ["DELETED"], (side.name, events)
        assert rv(events[0]["object"]) == rv(moved.json), side.name
        seen[side.name] = events
    assert_equal(seen["dev"], seen["kube"])
