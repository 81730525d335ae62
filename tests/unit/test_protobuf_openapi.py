"""OpenAPI documents built from the protobuf descriptors and CRDs, and aggregated discovery."""

from __future__ import annotations

from typing import Any

from kontinue.devserver.descriptors import descriptors
from kontinue.devserver.discovery import aggregated_content_type, negotiate_discovery
from kontinue.devserver.openapi import (
    crd_schema,
    description,
    openapi_v2_document,
    openapi_v3_document,
)
from kontinue.devserver.openapi_protobuf import encode_openapi_v2
from kontinue.devserver.resources import BUILTIN_TYPES, ResourceType

CORE = [rt for rt in BUILTIN_TYPES if rt.group == ""]
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size", "note"],
            "properties": {
                "size": {"type": "integer", "anyOf": [{"minimum": 1}]},
                "note": {"type": "string", "nullable": True},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        }
    },
}
GIZMO = ResourceType(
    group="tests.kontinue.cloud",
    version="v1",
    plural="gizmos",
    singular="gizmo",
    kind="Gizmo",
    namespaced=True,
    subresources=("status",),
    schemas={"v1": SCHEMA},
    is_custom=True,
)


def test_description_drops_markers_and_joins_lines() -> None:
    comment = "Name of the thing.\n More info: here.\n\n Second paragraph.\n +optional\n"
    assert description(comment) == "Name of the thing. More info: here.\n\nSecond paragraph."


def test_builtin_schemas_follow_the_json_form() -> None:
    doc = openapi_v3_document(CORE, "", "v1", descriptors(), "v1.30.0")
    schemas = doc["components"]["schemas"]
    pod = schemas["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod", "version": "v1"}]
    assert pod["properties"]["spec"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}
    ]
    container = schemas["io.k8s.api.core.v1.Container"]
    assert "name" in container["required"] and "image" not in container.get("required", [])
    volume = schemas["io.k8s.api.core.v1.Volume"]["properties"]
    assert "emptyDir" in volume and "volumeSource" not in volume  # an inlined struct
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-list-type"] == "map"
    assert "oneOf" in schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    patch = doc["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"]
    assert {"fieldValidation", "fieldManager", "dryRun"} <= {p["name"] for p in patch["parameters"]}
    assert patch["x-kubernetes-group-version-kind"]["kind"] == "ConfigMap"


def test_custom_kinds_in_v3_and_v2() -> None:
    v3 = crd_schema(GIZMO, "v1", v3=True)
    assert v3["properties"]["spec"]["properties"]["note"]["nullable"] is True
    assert v3["properties"]["metadata"]["allOf"][0]["$ref"].endswith("meta.v1.ObjectMeta")
    assert v3["x-kubernetes-group-version-kind"] == [
        {"group": "tests.kontinue.cloud", "kind": "Gizmo", "version": "v1"}
    ]
    v2 = crd_schema(GIZMO, "v1", v3=False)
    spec = v2["properties"]["spec"]
    assert spec["required"] == ["size"]  # a nullable field cannot be required in v2
    assert spec["properties"]["note"] == {}
    assert "anyOf" not in spec["properties"]["size"]
    assert spec["properties"]["free"] == {"x-kubernetes-preserve-unknown-fields": True}
    assert SCHEMA["properties"]["spec"]["properties"]["note"]["nullable"]  # source untouched
    doc = openapi_v3_document([GIZMO], GIZMO.group, "v1", descriptors(), "v1.30.0")
    assert "cloud.kontinue.tests.v1.Gizmo" in doc["components"]["schemas"]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in doc["components"]["schemas"]


def test_openapi_v2_in_protobuf_decodes_back() -> None:
    doc = openapi_v2_document([*CORE, GIZMO], descriptors(), "v1.30.0")
    data = encode_openapi_v2(doc, descriptors())
    decoded: Any = descriptors().message_class("openapi.v2.Document").FromString(data)
    assert decoded.swagger == "2.0"
    by_name = {d.name: d.value for d in decoded.definitions.additional_properties}
    gizmo = by_name["cloud.kontinue.tests.v1.Gizmo"]
    (extension,) = [e for e in gizmo.vendor_extension if e.name.endswith("version-kind")]
    assert '"kind":"Gizmo"' in extension.value.yaml
    pod = by_name["io.k8s.api.core.v1.Pod"]
    properties = {p.name: p.value for p in pod.properties.additional_properties}
    assert properties["spec"]._ref == "#/definitions/io.k8s.api.core.v1.PodSpec"
    assert list(pod.type.value) == ["object"]


def test_aggregated_discovery_negotiation() -> None:
    v2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    v2beta1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
    assert negotiate_discovery(f"{v2},{v2beta1},application/json") == "v2"
    assert negotiate_discovery(f"{v2beta1},application/json") is None  # gone in 1.37, as upstream
    assert negotiate_discovery("application/json, */*") is None
    assert negotiate_discovery("") is None
    protobuf = (
        "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    )
    assert negotiate_discovery(f"{protobuf},{v2}") == "v2"
    assert aggregated_content_type("v2") == v2
