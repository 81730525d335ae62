"""Bad input: every rejection is a Status with the right code and reason, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from .conftest import OWN, RawHttp
from .crd_fixtures import GROUP, PLURAL, VERSION, widget


def _assert_status(status: int, body: Any, code: int, reason: str) -> None:
    assert status == code, body
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["reason"] == reason and body["code"] == code
    assert body["message"]


def _count(core: client.CoreV1Api, namespace: str) -> int:
    return len(core.list_namespaced_config_map(namespace, field_selector=OWN).items)


def test_malformed_json_and_yaml(raw: RawHttp, core: client.CoreV1Api, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    status, body = raw.json("POST", path, b'{"metadata": {"name": "x"')
    _assert_status(status, body, 400, "BadRequest")
    assert "JSON" in body["message"]
    status, body = raw.json("POST", path, b"metadata: [unclosed", content_type="application/yaml")
    _assert_status(status, body, 400, "BadRequest")
    status, body = raw.json("POST", path, b"[1, 2]")
    _assert_status(status, body, 400, "BadRequest")
    assert _count(core, namespace) == 0


def test_wrong_api_version_or_kind(
    raw: RawHttp, core: client.CoreV1Api, namespace: str, widget_crd: str
) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    status, body = raw.json(
        "POST", path, {"apiVersion": "v2", "kind": "ConfigMap", "metadata": {"name": "x"}}
    )
    _assert_status(status, body, 400, "BadRequest")
    assert "v2" in body["message"]
    status, body = raw.json(
        "POST", path, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}
    )
    _assert_status(status, body, 400, "BadRequest")
    assert "Secret" in body["message"]
    crs = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}"
    status, body = raw.json("POST", crs, {"metadata": {"name": "x"}, "spec": {"size": 1}})
    _assert_status(status, body, 400, "BadRequest")
    assert "Kind" in body["message"]
    assert _count(core, namespace) == 0


def test_schema_violation_names_the_field(raw: RawHttp, widget_crd: str, namespace: str) -> None:
    crs = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}"
    status, body = raw.json("POST", crs, widget("bad", size=-1))
    _assert_status(status, body, 422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "spec.size"
    assert body["details"]["kind"] == "Widget" and body["details"]["name"] == "bad"
    assert raw.json("GET", f"{crs}/bad")[0] == 404


@pytest.mark.parametrize("name", ["Upper", "under_score", "-dash", "a" * 254, "dot..dot"])
def test_invalid_names(raw: RawHttp, namespace: str, name: str) -> None:
    status, body = raw.json(
        "POST",
        f"/api/v1/namespaces/{namespace}/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}},
    )
    _assert_status(status, body, 422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    assert "RFC 1123" in body["message"] or "253" in body["message"]


def test_invalid_labels(raw: RawHttp, namespace: str) -> None:
    status, body = raw.json(
        "POST",
        f"/api/v1/namespaces/{namespace}/configmaps",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "ok", "labels": {"bad key!": "v", "k": "x" * 64}},
        },
    )
    _assert_status(status, body, 422, "Invalid")
    fields = {c["field"] for c in body["details"]["causes"]}
    assert fields == {"metadata.labels"}  # upstream names the map for keys and values alike
    assert len(body["details"]["causes"]) == 2


def test_oversized_bodies_and_objects_are_refused(
    raw: RawHttp, core: client.CoreV1Api, namespace: str, widget_crd: str
) -> None:
    big = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "big"},
        "data": {"blob": "x" * (3 * 1024 * 1024 + 10)},
    }
    status, body = raw.json("POST", f"/api/v1/namespaces/{namespace}/configmaps", big)
    _assert_status(status, body, 413, "RequestEntityTooLarge")
    # Under the request limit, but over a ConfigMap's 1 MiB of data (values only count).
    big["data"]["blob"] = "x" * (1024 * 1024 + 1)
    status, body = raw.json("POST", f"/api/v1/namespaces/{namespace}/configmaps", big)
    _assert_status(status, body, 422, "Invalid")
    assert body["details"]["causes"][0]["message"] == (
        "Too long: may not be more than 1048576 bytes"
    )
    assert _count(core, namespace) == 0
    # A custom resource over etcd's object limit: kube-apiserver passes etcd's refusal on as a
    # 500 without a reason.
    crs = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}"
    huge = widget("huge", size=1, extra={"padding": "x" * (1600 * 1024)})
    status, body = raw.json("POST", crs, huge)
    assert status == 500 and "reason" not in body, body
    assert body["message"].startswith("etcdserver: request is too large")
    assert raw.json("GET", f"{crs}/huge")[0] == 404


def test_unknown_resource_and_method(raw: RawHttp, namespace: str) -> None:
    status, body = raw.json("GET", f"/api/v1/namespaces/{namespace}/widgets")
    _assert_status(status, body, 404, "NotFound")
    status, body = raw.json("GET", f"/api/v1/namespaces/{namespace}/configmaps/missing")
    _assert_status(status, body, 404, "NotFound")
    assert body["details"] == {"name": "missing", "kind": "configmaps"}
    status, body = raw.json("POST", "/api/v1/configmaps", {"metadata": {"name": "x"}})
    _assert_status(status, body, 405, "MethodNotAllowed")


def test_name_mismatch_and_namespace_mismatch(raw: RawHttp, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    raw.json("POST", path, {"metadata": {"name": "real"}})
    status, body = raw.json("PUT", f"{path}/real", {"metadata": {"name": "other"}})
    _assert_status(status, body, 400, "BadRequest")
    status, body = raw.json("POST", path, {"metadata": {"name": "x", "namespace": "elsewhere"}})
    _assert_status(status, body, 400, "BadRequest")


def test_bad_selectors_and_versions(raw: RawHttp, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    for query in (
        "labelSelector=a%20in",
        "resourceVersion=abc",
        "resourceVersion=99999999999999999999999",
        "continue=abc",
        "limit=abc",
    ):
        status, body = raw.json("GET", f"{path}?{query}")
        _assert_status(status, body, 400, "BadRequest")
    # a watch from an unparsable version: kube-apiserver answers 500 without a reason
    status, body = raw.json("GET", f"{path}?watch=1&resourceVersion=abc")
    assert status == 500 and "reason" not in body, body
    assert body["message"].startswith('resourceVersion: Invalid value: "abc"')
    status, body = raw.json("GET", f"{path}?resourceVersionMatch=bogus")
    _assert_status(status, body, 422, "Invalid")
    assert {c["reason"] for c in body["details"]["causes"]} == {
        "FieldValueForbidden",
        "FieldValueNotSupported",
    }
