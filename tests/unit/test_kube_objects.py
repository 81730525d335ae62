"""Objects as data (kates' ByName, owner references, MergeUpdate), manifests and official models.

No server: the pure helpers of kontinue.kube.objects and kontinue.kube.manifests, and how the
core reads the official client's models (both of its generations) and resolves their kinds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import pytest
from kubernetes.client import (
    CoreV1Event,
    EventsV1Event,
    V1ConfigMap,
    V1Job,
    V1ObjectMeta,
    V1Pod,
    V1PodList,
)
from pydantic import BaseModel, ConfigDict, Field

from kontinue.kube import Query
from kontinue.kube._accumulator_core import fill_snapshot, query_scope, snapshot_shape
from kontinue.kube._core import KubeCore, NeedDiscovery, from_dict, to_dict
from kontinue.kube._openapi import ModelKind, model_kind, read_openapi
from kontinue.kube.errors import NotFound
from kontinue.kube.manifests import declared_kind, load_manifests
from kontinue.kube.objects import (
    by_name,
    has_owner_reference,
    merge_update,
    owner_reference,
    set_owner_references,
)
from kontinue.kube.resources import ResourceInfo, ResourceMap

OWNER = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "ns", "uid": "u-1"},
}


def _cm(name: str, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta}}


# Owner references --------------------------------------------------------------------------


def test_owner_reference_names_the_owner_as_controller() -> None:
    assert owner_reference(OWNER) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "web",
        "uid": "u-1",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    assert owner_reference(OWNER, controller=False)["controller"] is False
    with pytest.raises(ValueError, match=r"no metadata\.uid: pass the object as the server"):
        owner_reference(_cm("not-stored"))


def test_set_owner_references_returns_owned_copies_of_each_type() -> None:
    plain = _cm("a", ownerReferences=[{"uid": "other", "name": "x"}])
    typed = V1ConfigMap(metadata=V1ObjectMeta(name="b"))
    already = _cm("c", ownerReferences=[owner_reference(OWNER)])
    owned_plain, owned_typed, owned_already = set_owner_references(OWNER, plain, typed, already)
    assert [r["uid"] for r in owned_plain["metadata"]["ownerReferences"]] == ["other", "u-1"]
    assert plain["metadata"]["ownerReferences"] == [{"uid": "other", "name": "x"}]  # untouched
    assert isinstance(owned_typed, V1ConfigMap) and typed.metadata.owner_references is None
    assert owned_typed.metadata.owner_references[0].uid == "u-1"
    assert owned_typed.metadata.owner_references[0].controller is True
    assert len(owned_already["metadata"]["ownerReferences"]) == 1  # not twice
    assert all(has_owner_reference(OWNER, obj) for obj in (owned_plain, owned_typed))
    assert not has_owner_reference(OWNER, plain) and not has_owner_reference(OWNER, typed)
    recreated = {**OWNER, "metadata": {**OWNER["metadata"], "uid": "u-2"}}
    assert not has_owner_reference(recreated, owned_plain)  # same name, another incarnation


def test_by_name_indexes_objects_of_any_type() -> None:
    first, second = _cm("a"), V1ConfigMap(metadata=V1ObjectMeta(name="b"))
    assert by_name([first, second]) == {"a": first, "b": second}
    assert by_name([]) == {}
    with pytest.raises(ValueError, match=r"without metadata\.name"):
        by_name([{"metadata": {}}])


def test_merge_update_keeps_the_stored_state_and_merges_labels() -> None:
    current = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "resourceVersion": "7", "labels": {"a": "1", "b": "1"}},
        "data": {"old": "x"},
        "status": {"kept": True},
    }
    desired = {**_cm("a", labels={"b": "2", "c": "3"}), "data": {"new": "y"}, "status": {}}
    merged = merge_update(current, desired)
    assert merged["metadata"] == {
        "name": "a",
        "resourceVersion": "7",
        "labels": {"a": "1", "b": "2", "c": "3"},
    }
    assert merged["data"] == {"new": "y"} and merged["status"] == {"kept": True}
    assert current["metadata"]["labels"] == {"a": "1", "b": "1"}  # not modified


# Manifests ---------------------------------------------------------------------------------


def test_load_manifests_reads_yaml_documents_and_unpacks_lists() -> None:
    text = """
apiVersion: v1
kind: ConfigMap
metadata: {name: a, creationTimestamp: 2024-01-02T03:04:05Z}
data: {when: 2024-01-02}
---
# an empty document
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Secret, metadata: {name: s}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}
---
apiVersion: v1
kind: ConfigMapList
items:
- metadata: {name: c}
"""
    found = load_manifests(text)
    assert [(n, o["kind"], o["metadata"]["name"]) for n, o in found] == [
        (1, "ConfigMap", "a"),
        (3, "Secret", "s"),
        (3, "ConfigMap", "b"),
        (4, "ConfigMap", "c"),
    ]
    first = found[0][1]
    assert first["metadata"]["creationTimestamp"] == "2024-01-02T03:04:05Z"  # not a datetime
    assert first["data"] == {"when": "2024-01-02"}
    assert found[3][1]["apiVersion"] == "v1"


def test_load_manifests_reads_json_streams() -> None:
    text = '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}\n' * 2
    assert [n for n, _ in load_manifests(text.encode())] == [1, 2]
    assert load_manifests("") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "document 1 of the manifest is a list, not an object"),
        ("kind: ConfigMap\n", "document 1 of the manifest has no apiVersion"),
        ("apiVersion: v1\nkind: X\n---\napiVersion: v1\n", "document 2 .* has no kind"),
        ("a: [b\n", "not valid YAML"),
        ("apiVersion: v1\nkind: List\nitems: [1]\n", "an item of the List in document 1"),
    ],
)
def test_load_manifests_names_the_bad_document(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_manifests(text)


class Widget(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    api_version: Literal["example.com/v1"] = Field(default="example.com/v1", alias="apiVersion")
    kind: Literal["Widget"] = "Widget"


def test_declared_kind_reads_the_defaults_of_a_model() -> None:
    assert declared_kind(Widget) == ("example.com/v1", "Widget")
    assert declared_kind(dict) is None
    assert declared_kind(V1Pod) is None  # no defaults: its class name says it (model_kind)


# Official client models --------------------------------------------------------------------


def test_model_kind_reads_the_class_name() -> None:
    assert model_kind(V1Job) == ModelKind("Job", "v1")
    assert model_kind(EventsV1Event) == ModelKind("Event", "v1", "Events")
    assert model_kind(CoreV1Event) == ModelKind("Event", "v1", "Core")
    assert model_kind(V1PodList) is None and model_kind(V1ObjectMeta) is None
    assert model_kind(dict) is None
    assert ModelKind("Event", "v1", "Events").matches_group("events.k8s.io")
    assert not ModelKind("Event", "v1", "Core").matches_group("events.k8s.io")


def test_resolve_model_asks_discovery_and_prefers_kubernetes_groups() -> None:
    core = KubeCore("ns", resources=ResourceMap())
    assert core.resolve_model(ModelKind("Job", "v1"), discovered=False).api_version == "batch/v1"
    event = core.resolve_model(ModelKind("Event", "v1", "Events"), discovered=False)
    assert event.api_version == "events.k8s.io/v1"
    with pytest.raises(NeedDiscovery):
        core.resolve_model(ModelKind("Widget", "v1"), discovered=False)
    with pytest.raises(NotFound, match='no kind "Widget" at version "v1"'):
        core.resolve_model(ModelKind("Widget", "v1"), discovered=True)
    core.resources.add(ResourceInfo("example.com", "v1", "Job", "jobs", True))
    assert core.resolve_model(ModelKind("Job", "v1"), discovered=True).group == "batch"
    core.resources.add(ResourceInfo("other.io", "v1", "Widget", "widgets", True))
    core.resources.add(ResourceInfo("example.com", "v1", "Widget", "widgets", True))
    with pytest.raises(ValueError, match=r"in example\.com/v1, other\.io/v1; set api_version"):
        core.resolve_model(ModelKind("Widget", "v1"), discovered=True)


def test_forgetting_discovery() -> None:
    resources = ResourceMap()
    resources.learn("example.com/v1", {"resources": [{"name": "widgets", "kind": "Widget"}]})
    assert resources.by_name("widgets") is not None and resources.knows("example.com/v1")
    resources.forget("example.com/v1")
    assert not resources.knows("example.com/v1") and resources.by_name("widgets") is not None
    resources.forget()
    assert resources.by_name("widgets") is None and resources.by_name("pods") is not None


SERVED_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p", "creationTimestamp": "2024-01-02T03:04:05Z", "newer": 1},
    "spec": {"containers": [{"name": "c", "image": "i", "fieldOfTomorrow": True}]},
    "status": {"phase": "Running"},
}


def test_official_models_are_read_leniently() -> None:
    pod = from_dict(SERVED_POD, V1Pod)
    assert isinstance(pod, V1Pod) and pod.spec.containers[0].name == "c"
    assert pod.metadata.creation_timestamp == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert to_dict(pod)["metadata"]["creationTimestamp"] == "2024-01-02T03:04:05Z"


# The library's older generation: plain classes described by the same two tables.


class V1Thing:
    openapi_types: ClassVar[dict[str, str]] = {
        "api_version": "str",
        "kind": "str",
        "metadata": "V1ThingMeta",
        "parts": "list[V1ThingMeta]",
        "labels": "dict(str, str)",
    }
    attribute_map: ClassVar[dict[str, str]] = {
        "api_version": "apiVersion",
        "kind": "kind",
        "metadata": "metadata",
        "parts": "parts",
        "labels": "labels",
    }

    def __init__(self, **values: Any) -> None:
        for name in self.openapi_types:
            setattr(self, name, values.get(name))


class V1ThingMeta:
    openapi_types: ClassVar[dict[str, str]] = {"name": "str", "created": "datetime"}
    attribute_map: ClassVar[dict[str, str]] = {"name": "name", "created": "creationTimestamp"}

    def __init__(self, name: str | None = None, created: datetime | None = None) -> None:
        self.name, self.created = name, created


def test_plain_official_models_are_built_from_their_tables() -> None:
    data = {
        "apiVersion": "example.com/v1",
        "kind": "Thing",
        "metadata": {"name": "t", "creationTimestamp": "2024-01-02T03:04:05Z", "extra": 1},
        "parts": [{"name": "a"}],
        "labels": {"x": "y"},
        "unknown": {"field": 1},
    }
    thing = read_openapi(V1Thing, data)
    assert isinstance(thing, V1Thing) and isinstance(thing.metadata, V1ThingMeta)
    assert thing.metadata.created == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert [p.name for p in thing.parts] == ["a"] and thing.labels == {"x": "y"}
    assert from_dict(data, V1Thing).metadata.name == "t"
    assert to_dict(thing) == {k: v for k, v in data.items() if k != "unknown"} | {
        "metadata": {"name": "t", "creationTimestamp": "2024-01-02T03:04:05Z"}
    }
    assert model_kind(V1Thing) == ModelKind("Thing", "v1")


# Queries -----------------------------------------------------------------------------------


def test_query_scope() -> None:
    assert query_scope(Query("q", "pods", label_selector="a=b")) == ("pods", None, False, "a=b", "")
    assert query_scope(Query("q", "pods", namespace="*")) == ("pods", None, True, "", "")
    assert query_scope(Query("q", "cm", namespace="x", field_selector="f=1")) == (
        "cm",
        "x",
        False,
        "",
        "f=1",
    )
    with pytest.raises(ValueError, match="put them in the Query"):
        query_scope(Query("q", "pods"), namespace="other")


# Accumulator snapshots ---------------------------------------------------------------------


@dataclass
class Snapshot:
    pods: list[V1Pod] = field(default_factory=list)
    things: list[V1Thing] | None = None


def test_snapshots_hold_official_models_read_leniently() -> None:
    snapshot = Snapshot()
    shape = snapshot_shape(snapshot, ["pods", "things"])
    assert shape == {"pods": V1Pod, "things": V1Thing}
    thing = {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"}}
    fill_snapshot(snapshot, shape, {"pods": [SERVED_POD], "things": [thing]})
    [pod] = snapshot.pods
    assert isinstance(pod, V1Pod) and pod.metadata.name == "p"  # despite fields V1Pod lacks
    assert snapshot.things is not None and isinstance(snapshot.things[0], V1Thing)
