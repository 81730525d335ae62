"""Discovery, version and OpenAPI as the official client and kubectl read them."""

from __future__ import annotations

import copy
import uuid

from kubernetes import client
from kubernetes.dynamic import DynamicClient

from kontinue.testing import eventually

from .conftest import RawHttp
from .crd_fixtures import WIDGET_CRD


def test_version(api_client: client.ApiClient) -> None:
    info = client.VersionApi(api_client).get_code()
    assert info.major == "1"
    assert int(info.minor) >= 20
    assert info.git_version.startswith("v1.")


def test_core_and_group_discovery(api_client: client.ApiClient, raw: RawHttp) -> None:
    versions = client.CoreApi(api_client).get_api_versions()
    assert "v1" in versions.versions
    resources = client.CoreV1Api(api_client).get_api_resources()
    by_name = {r.name: r for r in resources.resources}
    for name in ("namespaces", "configmaps", "secrets", "events", "pods", "serviceaccounts"):
        assert name in by_name, name
    assert by_name["namespaces"].namespaced is False
    assert by_name["pods"].namespaced is True
    assert "pods/status" in by_name and "pods/log" in by_name
    assert by_name["configmaps"].short_names == ["cm"]
    groups = {g.name: g for g in client.ApisApi(api_client).get_api_versions().groups}
    for group in ("apiextensions.k8s.io", "coordination.k8s.io", "batch", "events.k8s.io"):
        assert group in groups, group
    status, body = raw.json("GET", "/apis/batch")
    assert status == 200 and body["kind"] == "APIGroup"
    assert body["preferredVersion"]["groupVersion"] == "batch/v1"
    status, body = raw.json("GET", "/apis/coordination.k8s.io/v1")
    assert status == 200 and body["groupVersion"] == "coordination.k8s.io/v1"
    assert [r["name"] for r in body["resources"]] == ["leases"]


def test_discovery_follows_crds(
    api_client: client.ApiClient, extensions: client.ApiextensionsV1Api, raw: RawHttp
) -> None:
    crd = copy.deepcopy(WIDGET_CRD)
    group = f"discovery{uuid.uuid4().hex[:8]}.kontinue.cloud"
    crd["metadata"]["name"] = f"gadgets.{group}"
    crd["spec"]["group"] = group
    crd["spec"]["names"] = {"plural": "gadgets", "kind": "Gadget", "shortNames": ["gg"]}
    assert raw.request("GET", f"/apis/{group}/v1")[0] == 404
    extensions.create_custom_resource_definition(crd)
    eventually(lambda: raw.request("GET", f"/apis/{group}/v1")[0] == 200)
    status, body = raw.json("GET", f"/apis/{group}/v1")
    assert status == 200
    names = {r["name"]: r for r in body["resources"]}
    assert names["gadgets"]["kind"] == "Gadget"
    assert names["gadgets"]["shortNames"] == ["gg"]
    assert "gadgets/status" in names

    def groups() -> list[str]:
        return [g.name for g in client.ApisApi(api_client).get_api_versions().groups]

    # kube-apiserver lists a group in /apis a moment after its version answers, and drops it a
    # moment after its version answers 404
    eventually(lambda: group in groups(), what=f"{group} in /apis")
    extensions.delete_custom_resource_definition(crd["metadata"]["name"])
    eventually(lambda: raw.request("GET", f"/apis/{group}/v1")[0] == 404)
    eventually(lambda: group not in groups(), what=f"{group} to leave /apis")


def test_dynamic_client_round_trip(
    api_client: client.ApiClient, widget_crd: str, namespace: str
) -> None:
    dynamic = DynamicClient(api_client)
    widgets = dynamic.resources.get(api_version="tests.kontinue.cloud/v1", kind="Widget")
    created = widgets.create(
        body={
            "apiVersion": "tests.kontinue.cloud/v1",
            "kind": "Widget",
            "metadata": {"name": "dyn"},
            "spec": {"size": 2},
        },
        namespace=namespace,
    )
    assert created.metadata.uid
    fetched = widgets.get(name="dyn", namespace=namespace)
    assert fetched.spec.size == 2
    assert fetched.spec.color == "red"  # defaulted from the schema
    listed = widgets.get(namespace=namespace)
    assert [i.metadata.name for i in listed.items] == ["dyn"]
    configmaps = dynamic.resources.get(api_version="v1", kind="ConfigMap")
    configmaps.create(
        body={"metadata": {"name": "dyn-cm"}, "data": {"a": "1"}}, namespace=namespace
    )
    assert configmaps.get(name="dyn-cm", namespace=namespace).data.a == "1"


def test_openapi_documents(raw: RawHttp) -> None:
    status, _, body = raw.request(
        "GET",
        "/openapi/v2",
        headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"},
    )
    assert status == 200
    assert body.startswith(b"\x0a\x032.0")
    status, doc = raw.json("GET", "/openapi/v2")
    assert status == 200 and doc["swagger"] == "2.0"


def test_unknown_paths_are_not_found(raw: RawHttp) -> None:
    # in a served group: a Status; anywhere else kube-apiserver's mux answers in plain text
    for path in ("/api/v1/nothings", "/apis/batch/v9/jobs", "/api/v2", "/apis/batch/v9"):
        status, body = raw.json("GET", path)
        assert status == 404, path
        assert body["reason"] == "NotFound"
    for path in ("/apis/nope.example.com/v1", "/apis/nope.example.com", "/nope"):
        status, headers, text = raw.request("GET", path)
        assert status == 404, path
        assert headers["Content-Type"].startswith("text/plain")
        assert text == b"404 page not found\n"
