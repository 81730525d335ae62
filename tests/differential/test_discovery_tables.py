"""Table output, discovery (plain and aggregated) and the OpenAPI v3 index."""

from __future__ import annotations

import re
from typing import Any

from .conftest import wait_for_default_account
from .crds import GROUP, PLURAL, VERSION, gadget
from .harness import Both, assert_equal, assert_same, normalise

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
_AGE = re.compile(r"^\d+(s|m|h|d|y)(\d+(s|m|h|d))?$")


def _table(doc: Any) -> Any:
    """Ages become ``<age>``; column descriptions go (the dev server's are shorter: kubectl
    never shows them, see docs/devserver-differences.md)."""
    doc = normalise(doc)
    for column in doc.get("columnDefinitions", []) if isinstance(doc, dict) else []:
        column.pop("description", None)
    for row in doc.get("rows", []) if isinstance(doc, dict) else []:
        row["cells"] = [
            "<age>" if isinstance(c, str) and _AGE.match(c) else c for c in row["cells"]
        ]
    return doc


def test_custom_resource_table(both: Both, ns: str) -> None:
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/{PLURAL}"
    assert_same(both.request("POST", path, gadget("t1", size=4, replicas=3, tags=["a", "b"])))
    assert_same(both.request("POST", path, gadget("t2", replicas="25%")))
    assert_same(both.request("GET", path, accept=TABLE), _table)
    assert_same(both.request("GET", f"{path}/t1", accept=TABLE), _table)
    assert_same(both.request("GET", path, accept=TABLE, query={"includeObject": "Object"}), _table)
    assert_same(both.request("GET", path, accept=TABLE, query={"includeObject": "None"}), _table)


def test_builtin_tables(both: Both, ns: str) -> None:
    wait_for_default_account(both, ns)
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"a": "YQ=="}}
    assert_same(both.request("POST", f"/api/v1/namespaces/{ns}/secrets", body))
    for path in (
        f"/api/v1/namespaces/{ns}/configmaps",
        f"/api/v1/namespaces/{ns}/secrets",
        f"/api/v1/namespaces/{ns}/serviceaccounts",
        f"/apis/batch/v1/namespaces/{ns}/jobs",
        f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases",
        f"/api/v1/namespaces/{ns}/events",
        f"/api/v1/namespaces/{ns}",
    ):
        assert_same(both.request("GET", path, accept=TABLE), _table)


def test_discovery_documents(both: Both) -> None:
    api = assert_same(both.request("GET", "/api"), _no_address)
    assert api["versions"] == ["v1"]
    for path in (f"/apis/{GROUP}", "/apis/kontinue.cloud", "/apis/batch"):
        assert_same(both.request("GET", path))
    # upstream serves more kinds: compare the ones the dev server serves
    for path in (
        "/api/v1",
        "/apis/batch/v1",
        "/apis/coordination.k8s.io/v1",
        "/apis/events.k8s.io/v1",
        f"/apis/{GROUP}/{VERSION}",
    ):
        dev, kube = both.request("GET", path)
        served = {r["name"] for r in dev.json["resources"]}
        upstream = [r for r in kube.json["resources"] if r["name"] in served]
        assert_equal(dev.json["resources"], upstream)
    # the order of groups differs (upstream: built-in priorities, then CRDs; here: by name)
    dev, kube = both.request("GET", "/apis")
    groups = {g["name"] for g in dev.json["groups"]}
    upstream = [g for g in kube.json["groups"] if g["name"] in groups]
    assert_equal(*(sorted(doc, key=lambda g: g["name"]) for doc in (dev.json["groups"], upstream)))


def _no_address(doc: Any) -> Any:
    doc = normalise(doc)
    doc.pop("serverAddressByClientCIDRs", None)
    return doc


def test_aggregated_discovery(both: Both) -> None:
    dev, kube = both.request("GET", "/apis", accept=AGGREGATED)
    assert dev.status == kube.status == 200
    assert dev.content_type == kube.content_type
    groups = {g["metadata"]["name"]: g for g in kube.json["items"]}
    for group in dev.json["items"]:
        name = group["metadata"]["name"]
        if name in ("batch", "coordination.k8s.io", "events.k8s.io", GROUP, "kontinue.cloud"):
            upstream = groups[name]
            served = {r["resource"] for v in group["versions"] for r in v["resources"]}
            for version in upstream["versions"]:
                version["resources"] = [r for r in version["resources"] if r["resource"] in served]
            assert_equal(group, upstream, _aggregated)


def _aggregated(doc: Any) -> Any:
    doc = normalise(doc)
    for version in doc.get("versions", []):
        version["resources"] = sorted(version["resources"], key=lambda r: r["resource"])
    return doc


def test_openapi_v3_index(both: Both) -> None:
    dev, kube = both.request("GET", "/openapi/v3")
    assert dev.status == kube.status == 200
    dev_paths, kube_paths = set(dev.json["paths"]), set(kube.json["paths"])
    for path in (
        "api/v1",
        "apis/batch/v1",
        f"apis/{GROUP}/{VERSION}",
        "apis/kontinue.cloud/v1alpha1",
    ):
        assert path in dev_paths and path in kube_paths
    for path in sorted(dev_paths):
        assert path in kube_paths, path
    for doc in (dev.json, kube.json):
        assert all(
            re.match(r"^/openapi/v3/.+\?hash=[0-9A-F]+$", v["serverRelativeURL"])
            for v in doc["paths"].values()
        )
