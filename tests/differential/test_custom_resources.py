"""Custom resources: pruning, defaulting, schema errors, selectable fields, kontinue's own kinds."""

from __future__ import annotations

from typing import Any

from .crds import GROUP, PLURAL, VERSION, gadget
from .harness import Both, assert_same, normalise

MERGE = "application/merge-patch+json"


def _path(ns: str) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/{PLURAL}"


def test_pruning_and_defaulting(both: Both, ns: str) -> None:
    path = _path(ns)
    body = gadget(
        "g1",
        size=3,
        unknown="dropped",
        replicas="50%",
        ports=[{"name": "http"}, {"name": "https", "port": 443, "junk": 1}],
        extra={"anything": {"goes": [1, 2]}},
        labels={"a": "b"},
    )
    body["status"] = {"phase": "ignored on create"}
    body["toplevel"] = "dropped too"
    created = assert_same(both.request("POST", path, body))
    assert "unknown" not in created["spec"] and created["spec"]["color"] == "red"
    assert_same(both.request("GET", f"{path}/g1"))
    # the same unknown fields under fieldValidation=Strict are refused, under Warn reported
    pair = both.request("POST", path, gadget("g2", unknown=1), query={"fieldValidation": "Warn"})
    assert_same(pair)
    assert pair.dev.warnings() == pair.kube.warnings(), (pair.dev.warnings(), pair.kube.warnings())
    assert_same(
        both.request("POST", path, gadget("g3", unknown=1), query={"fieldValidation": "Strict"})
    )
    assert_same(
        both.request("POST", path, gadget("g4", unknown=1), query={"fieldValidation": "Nope"})
    )


def test_schema_errors(both: Both, ns: str) -> None:
    path = _path(ns)
    assert_same(both.request("POST", path, gadget("bad1", size=-1)))
    assert_same(both.request("POST", path, gadget("bad2", size="big")))
    assert_same(both.request("POST", path, gadget("bad3", color="purple")))
    assert_same(both.request("POST", path, gadget("bad4", tags=["a", "b", "a"])))
    assert_same(both.request("POST", path, gadget("bad5", ports=[{"name": "x"}, {"name": "x"}])))
    assert_same(both.request("POST", path, gadget("bad6", replicas=[1])))
    missing = gadget("bad7")
    del missing["spec"]["size"]
    assert_same(both.request("POST", path, missing))
    assert_same(both.request("POST", path, {"metadata": {"name": "nokind"}, "spec": {}}))
    # a wrong kind is a validation error for custom resources (a Gadget would also run CEL)
    execs = f"/apis/kontinue.cloud/v1alpha1/namespaces/{ns}/executions"
    other = {"apiVersion": "kontinue.cloud/v1alpha1", "kind": "Other", "metadata": {"name": "x"}}
    assert_same(both.request("POST", execs, other))
    assert_same(both.request("POST", execs, {**other, "apiVersion": "kontinue.cloud/v2"}))
    assert_same(both.request("POST", path, gadget("Bad_Name")))


def test_cel_rules_are_not_evaluated(both: Both, ns: str) -> None:
    """Deliberate difference (docs/devserver-differences.md): the dev server does not run
    ``x-kubernetes-validations``; kube-apiserver refuses with the rule's message."""
    pair = both.request("POST", _path(ns), gadget("cel", size=50))
    assert pair.kube.status == 422
    assert pair.kube.json["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: size must not exceed maxSize",
            "field": "spec",
        }
    ]
    assert pair.dev.status == 201


def test_status_subresource(both: Both, ns: str) -> None:
    path = _path(ns)
    assert_same(both.request("POST", path, gadget("s1")))
    # spec writes ignore status, status writes ignore spec
    assert_same(
        both.request("PATCH", f"{path}/s1", {"status": {"phase": "Ignored"}}, content_type=MERGE)
    )
    assert_same(
        both.request(
            "PATCH",
            f"{path}/s1/status",
            {"spec": {"size": 9}, "status": {"phase": "Ready", "observedGeneration": 1}},
            content_type=MERGE,
        )
    )
    assert_same(both.request("GET", f"{path}/s1/status"))
    assert_same(both.request("GET", f"{path}/s1/scale"))


def test_status_subresource_validation(both: Both, ns: str) -> None:
    path = _path(ns)
    assert_same(both.request("POST", path, gadget("s2")))
    assert_same(
        both.request("PATCH", f"{path}/s2/status", {"status": {"phase": 5}}, content_type=MERGE)
    )


def test_field_selectors(both: Both, ns: str) -> None:
    path = _path(ns)
    for name, color in (("f1", "red"), ("f2", "blue"), ("f3", "blue")):
        assert_same(both.request("POST", path, gadget(name, color=color)))
    for selector in (
        "spec.color=blue",
        "spec.color!=blue",
        "metadata.name=f1",
        f"metadata.namespace={ns}",
        "spec.size=1",
        "status.phase=Ready",
        "spec.color==red,metadata.name!=f9",
    ):
        assert_same(both.request("GET", path, query={"fieldSelector": selector}))
    # on a kind without selectableFields, only name and namespace
    execs = f"/apis/kontinue.cloud/v1alpha1/namespaces/{ns}/executions"
    assert_same(both.request("GET", execs, query={"fieldSelector": "spec.function=x"}))
    assert_same(both.request("GET", execs, query={"fieldSelector": "metadata.name=x"}))


def _kontinue_kinds(both: Both) -> list[dict[str, Any]]:
    listed = both.kube.request("GET", "/apis/kontinue.cloud/v1alpha1").json
    return [r for r in listed["resources"] if "/" not in r["name"]]


def _by_name(doc: Any) -> Any:
    """Resources in name order (upstream lists a group's CRDs in no particular order)."""
    doc = normalise(doc)
    doc["resources"] = sorted(doc["resources"], key=lambda r: r["name"])
    return doc


def test_kontinue_crds_served_alike(both: Both, ns: str) -> None:
    assert_same(both.request("GET", "/apis/kontinue.cloud/v1alpha1"), _by_name)
    for resource in _kontinue_kinds(both):
        plural, kind = resource["name"], resource["kind"]
        path = f"/apis/kontinue.cloud/v1alpha1/namespaces/{ns}/{plural}"
        assert_same(both.request("GET", path))
        body = {"apiVersion": "kontinue.cloud/v1alpha1", "kind": kind, "metadata": {"name": "x"}}
        # an empty object: accepted with defaults, or refused for its required fields, alike
        assert_same(both.request("POST", path, body))
        assert_same(both.request("POST", path, {**body, "spec": {"nonsense": True}}))


def test_crd_validation(both: Both) -> None:
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    bad = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.diff.kontinue.cloud"},
        "spec": {
            "group": "diff.kontinue.cloud",
            "scope": "Namespaced",
            "names": {"plural": "things", "kind": "Thing"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {"spec": {"properties": {"a": {"type": "string"}}}},
                        }
                    },
                }
            ],
        },
    }
    assert_same(both.request("POST", crds, bad, query={"dryRun": "All"}))
