"""What kates offers besides CRUD, through our clients: WaitFor, InvalidateCache, List(Query),
ParseManifests, and typed objects of the official client that do not name their kind."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from kubernetes.client import V1ConfigMap, V1Deployment, V1Job, V1ObjectMeta
from pydantic import BaseModel, ConfigDict, Field

from kontinue.kube import AsyncKubeClient, KubeClient, KubeSettings, NotFound, Query
from kontinue.kube.objects import set_owner_references

from .crd_fixtures import GROUP

FAST = KubeSettings(qps=0)


@pytest.fixture
def kube(kubeconfig: str, namespace: str) -> Iterator[KubeClient]:
    with KubeClient.from_kubeconfig(kubeconfig, namespace=namespace, settings=FAST) as client:
        yield client


def _gadget_crd(group: str) -> dict[str, Any]:
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"gadgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def _eventually(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the deadline"
        time.sleep(0.05)


def test_wait_for_a_new_kind_and_invalidate_the_cache(kube: KubeClient) -> None:
    group = f"g{uuid.uuid4().hex[:8]}.example.com"
    kube.create(_gadget_crd(group))
    try:
        info = kube.wait_for(f"gadgets.{group}", timeout=30)
        assert (info.kind, info.api_version) == ("Gadget", f"{group}/v1")
        gadget = {"apiVersion": f"{group}/v1", "kind": "Gadget", "metadata": {"name": "g"}}
        kube.create(gadget)  # served as soon as wait_for returns
        assert kube.wait_for("Gadget", f"{group}/v1").plural == "gadgets"
    finally:
        kube.delete("customresourcedefinitions", f"gadgets.{group}")

    def gone() -> bool:
        try:
            kube.get("customresourcedefinitions", f"gadgets.{group}")
        except NotFound:
            return True
        return False

    _eventually(gone)
    assert kube.resource_info(f"gadgets.{group}").kind == "Gadget"  # still cached

    def forgotten() -> bool:
        kube.invalidate_cache()
        try:
            kube.resource_info(f"gadgets.{group}")
        except NotFound:
            return True
        return False

    _eventually(forgotten)
    assert kube.resource_info("pods").kind == "Pod"


def test_wait_for_gives_up_after_its_timeout(kube: KubeClient) -> None:
    started = time.monotonic()
    with pytest.raises(NotFound):
        kube.wait_for("nothings.nowhere.example.com", timeout=0.3)
    with pytest.raises(NotFound):
        kube.wait_for("Nothing", "v1", timeout=0.3)
    assert time.monotonic() - started < 10


async def test_wait_for_on_the_async_client(kubeconfig: str, namespace: str) -> None:
    group = f"g{uuid.uuid4().hex[:8]}.example.com"
    async with AsyncKubeClient.from_kubeconfig(
        kubeconfig, namespace=namespace, settings=FAST
    ) as kube:
        await kube.create(_gadget_crd(group))
        try:
            info = await kube.wait_for("Gadget", f"{group}/v1", timeout=30)
            assert info.plural == "gadgets"
        finally:
            await kube.delete("customresourcedefinitions", f"gadgets.{group}")


def test_official_models_without_api_version_or_kind(kube: KubeClient, namespace: str) -> None:
    created = kube.create(V1ConfigMap(metadata=V1ObjectMeta(name="bare"), data={"a": "1"}))
    assert isinstance(created, V1ConfigMap) and created.kind == "ConfigMap"
    assert created.api_version == "v1" and created.metadata.namespace == namespace
    bare = V1ConfigMap(metadata=V1ObjectMeta(name="bare"))
    assert kube.get(bare).data == {"a": "1"}
    patched = kube.patch(bare, {"data": {"b": "2"}})
    assert isinstance(patched, V1ConfigMap) and patched.data == {"a": "1", "b": "2"}
    upserted = kube.upsert(V1ConfigMap(metadata=V1ObjectMeta(name="bare"), data={"c": "3"}))
    assert isinstance(upserted, V1ConfigMap) and upserted.data == {"c": "3"}
    applied = kube.apply(V1ConfigMap(metadata=V1ObjectMeta(name="applied"), data={"d": "4"}))
    assert applied.api_version == "v1" and applied.data == {"d": "4"}
    job = kube.create(
        V1Job(
            metadata=V1ObjectMeta(name="bare-job"),
            spec={
                "suspend": True,
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}
                },
            },
        ),
        dry_run=True,
    )
    assert job.api_version == "batch/v1"
    listed = kube.list("configmaps", as_type=V1ConfigMap, label_selector="")
    assert {c.metadata.name for c in listed} >= {"bare", "applied"}
    kube.delete(V1ConfigMap(metadata=V1ObjectMeta(name="bare")))
    with pytest.raises(NotFound):
        kube.get("configmaps", "bare")


def test_owned_objects_are_collected_with_their_owner(kube: KubeClient) -> None:
    owner = kube.create(V1ConfigMap(metadata=V1ObjectMeta(name="owner")))
    [owned] = set_owner_references(owner, V1ConfigMap(metadata=V1ObjectMeta(name="owned")))
    created = kube.create(owned)
    assert created.metadata.owner_references[0].uid == owner.metadata.uid


def test_list_takes_a_query(kube: KubeClient, namespace: str) -> None:
    for name, app in (("a", "web"), ("b", "db")):
        kube.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "labels": {"app": app}},
            }
        )
    web = kube.list(Query("web", "configmaps", label_selector="app=web"))
    assert [c["metadata"]["name"] for c in web] == ["a"]
    by_field = kube.list(Query("x", "cm", namespace=namespace, field_selector="metadata.name=b"))
    assert [c["metadata"]["name"] for c in by_field] == ["b"]
    everywhere = kube.list(Query("all", "cm", namespace="*", label_selector="app"))
    assert {c["metadata"]["name"] for c in everywhere} >= {"a", "b"}
    with pytest.raises(ValueError, match="put them in the Query"):
        kube.list(Query("web", "configmaps"), label_selector="app=web")


class Widget(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")
    api_version: Literal["tests.kontinue.cloud/v1"] = Field(
        default="tests.kontinue.cloud/v1", alias="apiVersion"
    )
    kind: Literal["Widget"] = "Widget"
    spec: dict[str, Any] = Field(default_factory=dict)


MANIFEST = f"""
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings}}
data: {{level: debug}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: web, image: nginx}}]}}
---
apiVersion: {GROUP}/v1
kind: Widget
metadata: {{name: w}}
spec: {{size: 3}}
---
apiVersion: v1
kind: Secret
metadata: {{name: s}}
"""


def test_parse_manifests_into_typed_or_plain_objects(kube: KubeClient, widget_crd: str) -> None:
    settings, web, widget, secret = kube.parse_manifests(
        MANIFEST, V1ConfigMap, V1Deployment, Widget
    )
    assert isinstance(settings, V1ConfigMap) and settings.data == {"level": "debug"}
    assert isinstance(web, V1Deployment) and web.spec.template.spec.containers[0].image == "nginx"
    assert isinstance(widget, Widget) and widget.spec == {"size": 3}
    assert secret == {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
    assert kube.parse_manifests(MANIFEST)[0]["data"] == {"level": "debug"}
    created = kube.create(settings)
    assert isinstance(created, V1ConfigMap) and created.metadata.uid
    unknown = (
        MANIFEST + "---\napiVersion: nowhere.example.com/v1\nkind: Thing\nmetadata: {name: t}\n"
    )
    with pytest.raises(NotFound) as refused:
        kube.parse_manifests(unknown)
    assert "in document 5 of the manifest" in " ".join(refused.value.__notes__)
    with pytest.raises(TypeError, match="does not say which kind"):
        kube.parse_manifests(MANIFEST, BaseModel)


@dataclass
class Snapshot:
    configmaps: list[V1ConfigMap] = field(default_factory=list)


def test_accumulator_snapshots_hold_official_models(kube: KubeClient) -> None:
    kube.create(V1ConfigMap(metadata=V1ObjectMeta(name="watched"), data={"a": "1"}))
    snapshot = Snapshot()
    with kube.watch(Query("configmaps", "configmaps", label_selector="")) as accumulator:
        assert accumulator.changed(timeout=30)
        accumulator.update(snapshot)
    watched = [c for c in snapshot.configmaps if c.metadata.name == "watched"]
    assert all(isinstance(c, V1ConfigMap) for c in snapshot.configmaps)
    assert [c.data for c in watched] == [{"a": "1"}] and watched[0].kind == "ConfigMap"
