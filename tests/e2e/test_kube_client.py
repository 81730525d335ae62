"""kontinue.kube clients against the dev server through real HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import V1ConfigMap, V1ObjectMeta

from kontinue.kube import (
    AlreadyExists,
    AsyncKubeClient,
    BadRequest,
    Conflict,
    Gone,
    Invalid,
    KubeClient,
    KubeSettings,
    MockTransport,
    NotFound,
    Request,
    Response,
)

from .conftest import OWN
from .crd_fixtures import GROUP, PLURAL, widget

FAST = KubeSettings(qps=0)


@pytest.fixture
def kube(kubeconfig: str, namespace: str) -> Iterator[KubeClient]:
    with KubeClient.from_kubeconfig(kubeconfig, namespace=namespace, settings=FAST) as client:
        yield client


def _cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def test_crud_with_dicts(kube: KubeClient, namespace: str) -> None:
    created = kube.create(_cm("a", x="1"))
    assert created["metadata"]["namespace"] == namespace and created["metadata"]["uid"]
    with pytest.raises(AlreadyExists):
        kube.create(_cm("a"))
    fetched = kube.get("configmaps", "a")
    assert fetched == created
    assert kube.get(created)["data"] == {"x": "1"}  # refetch by object
    fetched["data"]["x"] = "2"
    updated = kube.update(fetched)
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    with pytest.raises(Conflict) as err:
        kube.update(fetched)  # stale resourceVersion
    assert err.value.reason == "Conflict" and err.value.status_code == 409
    patched = kube.patch("cm", {"data": {"y": "3"}}, name="a")
    assert patched["data"] == {"x": "2", "y": "3"}
    json_patched = kube.patch("cm", [{"op": "remove", "path": "/data/y"}], name="a", type="json")
    assert json_patched["data"] == {"x": "2"}
    kube.delete("cm", "a")
    with pytest.raises(NotFound) as missing:
        kube.get("cm", "a")
    assert missing.value.details == {"name": "a", "kind": "configmaps"}


def test_typed_objects_come_back_typed(kube: KubeClient) -> None:
    body = V1ConfigMap(
        api_version="v1", kind="ConfigMap", metadata=V1ObjectMeta(name="typed"), data={"a": "b"}
    )
    created = kube.create(body)
    assert isinstance(created, V1ConfigMap)
    assert created.metadata.uid and created.data == {"a": "b"}
    created.data = {"a": "c"}
    assert kube.update(created).data == {"a": "c"}
    assert isinstance(kube.get(created), V1ConfigMap)
    assert isinstance(kube.get("configmaps", "typed", as_type=V1ConfigMap), V1ConfigMap)
    listed = kube.list("configmaps", as_type=V1ConfigMap, field_selector=OWN)
    assert [c.metadata.name for c in listed] == ["typed"]


def test_custom_resources_status_and_apply(kube: KubeClient, widget_crd: str) -> None:
    created = kube.create(widget("w", size=2))
    assert created["spec"]["color"] == "red"  # discovered through the CRD, defaulted
    created["status"] = {"phase": "Ready"}
    with_status = kube.update_status(created)
    assert with_status["status"] == {"phase": "Ready"}
    assert kube.get(f"{PLURAL}.{GROUP}", "w")["status"]["phase"] == "Ready"
    assert kube.get("wd", "w")["metadata"]["name"] == "w"  # short name via discovery
    applied = kube.apply(widget("applied", size=4), field_manager="tests")
    assert applied["spec"]["size"] == 4
    with pytest.raises(Invalid) as err:
        kube.create(widget("bad", size=-5))
    assert err.value.causes[0]["field"] == "spec.size"


def test_upsert_creates_then_merges(kube: KubeClient) -> None:
    first = kube.upsert(_cm("up", a="1"))
    desired = _cm("up", b="2")
    desired["metadata"]["labels"] = {"team": "x"}
    second = kube.upsert(desired)
    assert second["metadata"]["uid"] == first["metadata"]["uid"]
    assert second["data"] == {"b": "2"} and second["metadata"]["labels"] == {"team": "x"}


def test_list_pages_transparently(kube: KubeClient) -> None:
    for i in range(7):
        kube.create(_cm(f"p{i}"))
    items, version = kube.list_with_version("configmaps", page_size=2, field_selector=OWN)
    assert [i["metadata"]["name"] for i in items] == [f"p{i}" for i in range(7)]
    assert all(i["kind"] == "ConfigMap" for i in items) and int(version) > 0
    assert len(kube.list("configmaps", label_selector="missing=label")) == 0
    with pytest.raises(BadRequest):
        kube.list("configmaps", label_selector="a in")


def test_with_namespace_and_cluster_scope(kube: KubeClient, namespace: str) -> None:
    other = kube.with_namespace("default")
    assert other.namespace == "default" and kube.namespace == namespace
    names = [n["metadata"]["name"] for n in kube.list("namespaces")]
    assert namespace in names and "kube-system" in names
    deadline = time.monotonic() + 30  # a cluster's controller adds the account a moment later
    while True:
        everywhere = kube.list("serviceaccounts", all_namespaces=True)
        found = {sa["metadata"]["namespace"] for sa in everywhere}
        if {"default", namespace} <= found or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert {"default", namespace} <= found


def test_watch_events_and_expired_versions(kube: KubeClient, devserver: Any) -> None:
    start = kube.create(_cm("w1"))
    kube.create(_cm("w2"))
    events = list(
        kube.watch_events(
            "configmaps",
            resource_version=start["metadata"]["resourceVersion"],
            timeout_seconds=1,
            bookmarks=False,
        )
    )
    assert [(e.type, e.object["metadata"]["name"]) for e in events] == [("ADDED", "w2")]
    if devserver is None:
        return
    store = devserver.server.registry.store

    async def compact() -> None:
        store.compact(store.rv)

    devserver.call(compact())
    with pytest.raises(Gone):
        list(kube.watch_events("configmaps", resource_version="1", timeout_seconds=1))


def test_discovery(kube: KubeClient) -> None:
    version = kube.server_version()
    assert version["major"] == "1"
    resources = kube.server_resources()
    assert any(r.kind == "Lease" and r.group == "coordination.k8s.io" for r in resources)
    preferred = kube.server_preferred_resources()
    assert len({(r.group, r.plural) for r in preferred}) == len(preferred)


def test_discovery_takes_two_requests_and_agrees_with_the_per_group_documents(
    kube: KubeClient,
) -> None:
    """Discovery asked every group version in turn (about 35 requests on kube-apiserver 1.37,
    3 s for each new client at its default rate): aggregated discovery answers in two."""
    sent: list[str] = []

    def counting(request: Request, send: Callable[[Request], Response]) -> Response:
        sent.append(request.path)
        return send(request)

    counted = KubeClient(kube.connection, FAST, transport=MockTransport(counting, kube.transport))
    aggregated = {
        (r.group, r.version, r.plural, r.kind, r.namespaced) for r in counted.server_resources()
    }
    assert sent == ["/api", "/apis"]
    legacy = set()
    groups = json.loads(kube.raw("GET", "/apis").body)
    paths = ["/api/v1"] + [
        f"/apis/{v['groupVersion']}" for g in groups["groups"] for v in g["versions"]
    ]
    for path in paths:
        group_version = path.removeprefix("/api/").removeprefix("/apis/")
        group, _, version = group_version.rpartition("/")
        for r in json.loads(kube.raw("GET", path).body)["resources"]:
            if "/" not in r["name"]:
                legacy.add((group, version, r["name"], r["kind"], r["namespaced"]))
    assert aggregated == legacy


def test_async_client(kubeconfig: str, namespace: str, widget_crd: str) -> None:
    async def scenario() -> None:
        async with AsyncKubeClient.from_kubeconfig(
            kubeconfig, namespace=namespace, settings=FAST
        ) as kube:
            created = await kube.create(_cm("async", a="1"))
            got = await kube.get("configmaps", "async")
            assert got["metadata"]["uid"] == created["metadata"]["uid"]
            await kube.patch(got, {"data": {"b": "2"}})
            assert (await kube.list("configmaps", field_selector=OWN))[0]["data"] == {
                "a": "1",
                "b": "2",
            }
            w = await kube.create(widget("aw", size=1))
            assert w["spec"]["color"] == "red"
            seen = [
                (e.type, e.object["metadata"]["name"])
                async for e in kube.watch_events(
                    "configmaps", timeout_seconds=1, bookmarks=False, field_selector=OWN
                )
            ]
            assert seen == [("ADDED", "async")]
            with pytest.raises(NotFound):
                await kube.delete("configmaps", "nope")
            other = kube.with_namespace("default")
            assert other.namespace == "default"

    asyncio.run(scenario())


def test_writes_are_observed(kube: KubeClient) -> None:
    seen: list[tuple[str, str, bool]] = []
    stop = kube.observe_writes(
        lambda info, ns, name, obj: seen.append((info.kind, name, obj is None))
    )
    kube.create(_cm("o"))
    kube.patch("cm", {"data": {"a": "1"}}, name="o")
    kube.create(_cm("dry"), dry_run=True)
    held = _cm("held")
    held["metadata"]["finalizers"] = ["example.com/x"]
    kube.create(held)
    kube.delete("cm", "held")  # still there, waiting on its finalizer
    kube.with_namespace(kube.namespace).delete("cm", "o")
    stop()
    kube.patch("cm", {"metadata": {"finalizers": None}}, name="held")
    assert seen == [
        ("ConfigMap", "o", False),
        ("ConfigMap", "o", False),
        ("ConfigMap", "held", False),
        ("ConfigMap", "held", False),
        ("ConfigMap", "o", True),
    ]


def test_exec_credential_plugins_authenticate(kubeconfig: str, tmp_path: Any) -> None:
    """A kubeconfig user with an ``exec`` plugin (as cloud providers ship) is honoured."""
    import sys

    import yaml

    document = yaml.safe_load(Path(kubeconfig).read_text())
    token = document["users"][0]["user"].get("token")
    if not token:
        pytest.skip("the target cluster does not use a static token")
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        "import json\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1',"
        f" 'kind': 'ExecCredential', 'status': {{'token': {token!r}}}}}))\n"
    )
    document["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": [str(plugin)],
            "interactiveMode": "Never",
        }
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(document))
    with KubeClient.from_kubeconfig(path, settings=FAST) as client:
        assert "default" in [n["metadata"]["name"] for n in client.list("namespaces")]
