"""Lists (selectors, pagination) and watches (resume, 410, bookmarks, timeouts, no gaps)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from kubernetes import client, watch

from .conftest import OWN, RawHttp, own


def _make(core: client.CoreV1Api, namespace: str, name: str, **labels: str) -> client.V1ConfigMap:
    return core.create_namespaced_config_map(
        namespace,
        client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels), data={}),
    )


def _names(items: list[Any]) -> list[str]:
    """The names of the test's own ConfigMaps (not the namespace's root CA)."""
    return own([i.metadata.name for i in items])


def test_label_selectors(core: client.CoreV1Api, namespace: str) -> None:
    _make(core, namespace, "a", tier="web", env="prod")
    _make(core, namespace, "b", tier="db", env="prod")
    _make(core, namespace, "c", tier="web")
    _make(core, namespace, "d", release="5")
    cases = {
        "tier=web": ["a", "c"],
        "tier==web": ["a", "c"],
        "tier!=web": ["b", "d"],
        "tier in (web,db)": ["a", "b", "c"],
        "tier notin (web)": ["b", "d"],
        "env": ["a", "b"],
        "!env": ["c", "d"],
        "tier=web,env=prod": ["a"],
        "release>4": ["d"],
        "release<4": [],
    }
    for selector, expected in cases.items():
        got = _names(core.list_namespaced_config_map(namespace, label_selector=selector).items)
        assert got == expected, selector
    with pytest.raises(client.ApiException) as err:
        core.list_namespaced_config_map(namespace, label_selector="tier in web")
    assert err.value.status == 400


def test_field_selectors(core: client.CoreV1Api, namespace: str, raw: RawHttp) -> None:
    _make(core, namespace, "f1")
    _make(core, namespace, "f2")
    got = core.list_namespaced_config_map(namespace, field_selector="metadata.name=f2")
    assert _names(got.items) == ["f2"]
    got = core.list_namespaced_config_map(namespace, field_selector="metadata.name!=f2")
    assert _names(got.items) == ["f1"]
    everywhere = core.list_config_map_for_all_namespaces(
        field_selector=f"metadata.namespace={namespace}"
    )
    assert _names(everywhere.items) == ["f1", "f2"]
    status, body = raw.json(
        "GET", f"/api/v1/namespaces/{namespace}/configmaps?fieldSelector=data.x%3Dy"
    )
    assert status == 400 and "data.x" in body["message"]


def test_pod_phase_field_selector(core: client.CoreV1Api, namespace: str) -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}
    core.create_namespaced_pod(namespace, pod)
    pending = core.list_namespaced_pod(namespace, field_selector="status.phase=Pending")
    running = core.list_namespaced_pod(namespace, field_selector="status.phase=Running")
    assert _names(pending.items) == ["p"] and running.items == []


def test_cluster_wide_list(core: client.CoreV1Api, namespace: str) -> None:
    _make(core, namespace, "cw")
    names = {
        (i.metadata.namespace, i.metadata.name)
        for i in core.list_config_map_for_all_namespaces().items
    }
    assert (namespace, "cw") in names


def test_pagination_is_a_consistent_snapshot(core: client.CoreV1Api, namespace: str) -> None:
    # Secrets: a namespace starts without any (it has a ConfigMap, the root CA), and a
    # selector would leave remainingItemCount out
    def make(name: str) -> None:
        body = client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data={"k": "v"})
        core.create_namespaced_secret(namespace, body)

    for i in range(7):
        make(f"p{i}")
    first = core.list_namespaced_secret(namespace, limit=3)
    assert _names(first.items) == ["p0", "p1", "p2"]
    assert first.metadata._continue and first.metadata.remaining_item_count == 4
    # Changes after the first page must not show up in later pages of the same list.
    core.delete_namespaced_secret("p4", namespace)
    make("p9")
    core.patch_namespaced_secret("p5", namespace, {"stringData": {"changed": "yes"}})
    second = core.list_namespaced_secret(namespace, limit=3, _continue=first.metadata._continue)
    assert _names(second.items) == ["p3", "p4", "p5"]
    assert "changed" not in (second.items[2].data or {})
    assert second.metadata.resource_version == first.metadata.resource_version
    third = core.list_namespaced_secret(namespace, limit=3, _continue=second.metadata._continue)
    assert _names(third.items) == ["p6"] and not third.metadata._continue


def test_watch_resumes_from_resource_version(core: client.CoreV1Api, namespace: str) -> None:
    first = _make(core, namespace, "w1")
    _make(core, namespace, "w2")
    core.patch_namespaced_config_map("w1", namespace, {"data": {"a": "b"}})
    core.delete_namespaced_config_map("w2", namespace)
    stream = watch.Watch().stream(
        core.list_namespaced_config_map,
        namespace,
        resource_version=first.metadata.resource_version,
        field_selector=OWN,
        timeout_seconds=1,
    )
    events = [(e["type"], e["object"].metadata.name) for e in stream]
    assert events == [("ADDED", "w2"), ("MODIFIED", "w1"), ("DELETED", "w2")]


def test_watch_without_version_starts_with_current_state(
    core: client.CoreV1Api, namespace: str, raw: RawHttp
) -> None:
    _make(core, namespace, "s1")
    status, _, body = raw.request(
        "GET",
        f"/api/v1/namespaces/{namespace}/configmaps?watch=true&timeoutSeconds=1&fieldSelector={OWN}",
    )
    assert status == 200
    lines = body.decode().strip().splitlines()
    assert len(lines) == 1 and '"ADDED"' in lines[0] and '"s1"' in lines[0]


def test_list_then_watch_loses_and_duplicates_nothing(
    core: client.CoreV1Api, namespace: str
) -> None:
    for i in range(20):
        _make(core, namespace, f"pre{i}")
    listed = core.list_namespaced_config_map(namespace)
    seen: dict[str, list[str]] = {}
    stop = threading.Event()

    def writer() -> None:
        for i in range(40):
            _make(core, namespace, f"new{i}")
            core.patch_namespaced_config_map(f"pre{i % 20}", namespace, {"data": {"n": str(i)}})

    thread = threading.Thread(target=writer)
    thread.start()
    stream = watch.Watch()
    for event in stream.stream(
        core.list_namespaced_config_map,
        namespace,
        resource_version=listed.metadata.resource_version,
        timeout_seconds=10,
    ):
        seen.setdefault(event["object"].metadata.name, []).append(event["type"])
        if sum(len(v) for v in seen.values()) == 80:
            stream.stop()
    thread.join()
    stop.set()
    assert all(seen[f"new{i}"] == ["ADDED"] for i in range(40))
    assert all(seen[f"pre{i}"] == ["MODIFIED", "MODIFIED"] for i in range(20))


def test_watch_label_selector_transitions(core: client.CoreV1Api, namespace: str) -> None:
    start = _make(core, namespace, "sel", team="a")
    core.patch_namespaced_config_map("sel", namespace, {"metadata": {"labels": {"team": "b"}}})
    core.patch_namespaced_config_map("sel", namespace, {"metadata": {"labels": {"team": "a"}}})
    events = [
        e["type"]
        for e in watch.Watch().stream(
            core.list_namespaced_config_map,
            namespace,
            label_selector="team=a",
            resource_version=start.metadata.resource_version,
            timeout_seconds=1,
        )
    ]
    assert events == ["DELETED", "ADDED"]


def test_watch_from_compacted_version_is_410(
    core: client.CoreV1Api, namespace: str, raw: RawHttp, devserver: Any
) -> None:
    if devserver is None:
        pytest.skip("compaction is forced through the embedded server")
    _make(core, namespace, "old")
    store = devserver.server.registry.store
    devserver.call(_async(lambda: store.compact(store.rv)))
    status, _, body = raw.request(
        "GET", f"/api/v1/namespaces/{namespace}/configmaps?watch=1&resourceVersion=1"
    )
    assert status == 200
    assert b'"type":"ERROR"' in body and b'"code":410' in body and b'"reason":"Expired"' in body
    status, body_json = raw.json(
        "GET",
        f"/api/v1/namespaces/{namespace}/configmaps?resourceVersion=1&resourceVersionMatch=Exact",
    )
    assert status == 410 and body_json["reason"] == "Expired"


async def _async(fn: Any) -> Any:
    return fn()


def test_bookmarks_and_timeout(
    core: client.CoreV1Api, namespace: str, raw: RawHttp, devserver: Any
) -> None:
    if devserver is None:
        pytest.skip("needs the test server's short bookmark interval")
    listed = core.list_namespaced_config_map(namespace)
    status, _, body = raw.request(
        "GET",
        f"/api/v1/namespaces/{namespace}/configmaps?watch=1&allowWatchBookmarks=true"
        f"&resourceVersion={listed.metadata.resource_version}&timeoutSeconds=1",
        timeout=5,
    )
    assert status == 200
    assert b'"type":"BOOKMARK"' in body
    assert b'"kind":"ConfigMap"' in body
