"""Custom resources: establishment, structural schema validation, pruning, defaulting, tables."""

from __future__ import annotations

import copy
import uuid

import pytest
from kubernetes import client

from kontinue.testing import eventually

from .conftest import RawHttp
from .crd_fixtures import GROUP, PLURAL, VERSION, WIDGET_CRD, widget

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def test_crd_is_established(extensions: client.ApiextensionsV1Api, widget_crd: str) -> None:
    crd = extensions.read_custom_resource_definition(widget_crd)
    conditions = {c.type: c.status for c in crd.status.conditions}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert crd.status.accepted_names.kind == "Widget"
    assert crd.status.stored_versions == ["v1"]


def test_schema_violation_is_422_naming_the_field(
    custom: client.CustomObjectsApi, widget_crd: str, namespace: str
) -> None:
    args = (GROUP, VERSION, namespace, PLURAL)
    with pytest.raises(client.ApiException) as err:
        custom.create_namespaced_custom_object(*args, widget("bad", size="big"))
    assert err.value.status == 422
    assert "spec.size" in err.value.body and "Invalid" in err.value.body
    with pytest.raises(client.ApiException) as err:
        custom.create_namespaced_custom_object(*args, widget("bad", size=500))
    assert err.value.status == 422 and "less than or equal to 100" in err.value.body
    with pytest.raises(client.ApiException) as err:
        custom.create_namespaced_custom_object(*args, widget("bad", color="purple"))
    assert err.value.status == 422 and "spec.color" in err.value.body
    missing = widget("bad")
    del missing["spec"]["size"]
    with pytest.raises(client.ApiException) as err:
        custom.create_namespaced_custom_object(*args, missing)
    assert err.value.status == 422 and "spec.size: Required value" in err.value.body
    with pytest.raises(client.ApiException):
        custom.get_namespaced_custom_object(*args, "bad")


def test_pruning_and_defaulting(
    custom: client.CustomObjectsApi, widget_crd: str, namespace: str
) -> None:
    body = widget("prune", size=2, unknown="dropped", extra={"anything": {"goes": True}})
    body["topLevelJunk"] = 1
    created = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    assert "unknown" not in created["spec"] and "topLevelJunk" not in created
    assert created["spec"]["extra"] == {"anything": {"goes": True}}  # preserve-unknown-fields
    assert created["spec"]["color"] == "red"  # default
    # kube-apiserver serves custom resources with every object's keys sorted (Go maps): a
    # client may not depend on the order it wrote them in
    ordered = widget("ordered", size=1, extra={"b": 1, "a": {"z": 1, "y": 2}})
    ordered = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, ordered)
    assert list(ordered) == sorted(ordered)
    assert list(ordered["spec"]["extra"]) == ["a", "b"]
    assert list(ordered["spec"]["extra"]["a"]) == ["y", "z"]


def test_strict_field_validation_rejects_unknown_fields(
    raw: RawHttp, widget_crd: str, namespace: str
) -> None:
    status, body = raw.json(
        "POST",
        f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}?fieldValidation=Strict",
        widget("strict", size=1, nope=1),
    )
    assert status == 400 and 'unknown field "spec.nope"' in body["message"]
    status, headers, _ = raw.request(
        "POST",
        f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}",
        widget("warned", size=1, nope=1),
    )
    assert status == 201 and "spec.nope" in headers.get("Warning", "")


def test_table_shows_printer_columns(
    raw: RawHttp, custom: client.CustomObjectsApi, widget_crd: str, namespace: str
) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("t", size=7))
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, "t", {"status": {"phase": "Ready"}}
    )
    status, table = raw.json(
        "GET",
        f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}",
        headers={"Accept": TABLE},
    )
    assert status == 200 and table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Size", "Phase", "Age"]
    assert table["rows"][0]["cells"][:3] == ["t", 7, "Ready"]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_deleting_a_crd_deletes_its_objects(
    extensions: client.ApiextensionsV1Api,
    custom: client.CustomObjectsApi,
    namespace: str,
    raw: RawHttp,
) -> None:
    crd = copy.deepcopy(WIDGET_CRD)
    group = f"doomed{uuid.uuid4().hex[:8]}.kontinue.cloud"
    crd["metadata"]["name"] = f"things.{group}"
    crd["spec"]["group"] = group
    crd["spec"]["names"] = {"plural": "things", "kind": "Thing"}
    extensions.create_custom_resource_definition(crd)
    eventually(lambda: raw.request("GET", f"/apis/{group}/v1/things")[0] == 200)
    for i in range(3):
        body = widget(f"t{i}")
        body["apiVersion"], body["kind"] = f"{group}/v1", "Thing"
        custom.create_namespaced_custom_object(group, "v1", namespace, "things", body)
    extensions.delete_custom_resource_definition(crd["metadata"]["name"])
    eventually(lambda: raw.request("GET", f"/apis/{group}/v1/things")[0] == 404)
    with pytest.raises(client.ApiException) as err:
        extensions.read_custom_resource_definition(crd["metadata"]["name"])
    assert err.value.status == 404
    # Re-created, the resource starts empty: the objects were deleted, not hidden.
    extensions.create_custom_resource_definition(crd)
    eventually(lambda: raw.request("GET", f"/apis/{group}/v1/things")[0] == 200)
    assert custom.list_namespaced_custom_object(group, "v1", namespace, "things")["items"] == []
    extensions.delete_custom_resource_definition(crd["metadata"]["name"])


def test_invalid_crd_is_rejected(extensions: client.ApiextensionsV1Api) -> None:
    crd = copy.deepcopy(WIDGET_CRD)
    crd["metadata"]["name"] = "wrong.name.example.com"
    with pytest.raises(client.ApiException) as err:
        extensions.create_custom_resource_definition(crd)
    assert err.value.status == 422 and "metadata.name" in err.value.body
    crd = copy.deepcopy(WIDGET_CRD)
    crd["metadata"]["name"] = "blobs.tests.kontinue.cloud"
    crd["spec"]["names"] = {"plural": "blobs", "kind": "Blob"}
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"][
        "size"
    ] = {"minimum": 1}
    with pytest.raises(client.ApiException) as err:
        extensions.create_custom_resource_definition(crd)
    assert err.value.status == 422 and "type" in err.value.body
