"""Lists and watches: selectors, pagination, event sequences, bookmarks, resourceVersion rules."""

from __future__ import annotations

from typing import Any

from .crds import GROUP, PLURAL, VERSION, gadget
from .harness import ROOT_CA, Both, assert_equal, assert_same, normalise

MERGE = "application/merge-patch+json"


def _secret(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "labels": labels or {}},
        "type": "Opaque",
    }


def test_label_and_field_selectors(both: Both, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/secrets"
    for name, labels in (("s1", {"app": "a", "tier": "web"}), ("s2", {"app": "b"}), ("s3", {})):
        assert_same(both.request("POST", path, _secret(name, labels)))
    for selector in (
        "app=a",
        "app!=a",
        "app in (a,b)",
        "app notin (a)",
        "tier",
        "!tier",
        "app=a,tier=web",
    ):
        assert_same(both.request("GET", path, query={"labelSelector": selector}))
    for selector in ("app in (a", "a b", "x==", "app=a,,", "=", "app in ()"):
        assert_same(both.request("GET", path, query={"labelSelector": selector}))
    for selector in ("type=Opaque", "metadata.name=s2", "metadata.name!=s2,type=Opaque"):
        assert_same(both.request("GET", path, query={"fieldSelector": selector}))
    for selector in ("spec.nope=1", "metadata.name", "metadata.name=a=b"):
        assert_same(both.request("GET", path, query={"fieldSelector": selector}))
    cms = f"/api/v1/namespaces/{ns}/configmaps"
    assert_same(both.request("GET", cms, query={"fieldSelector": f"metadata.name={ROOT_CA}"}))


def test_pagination(both: Both, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/secrets"
    for i in range(5):
        assert_same(both.request("POST", path, _secret(f"p{i}")))
    token = {"dev": "", "kube": ""}
    pages: list[Any] = []
    while True:
        answers = []
        for side in both.dev, both.kube:
            query = {"limit": "2", **({"continue": token[side.name]} if token[side.name] else {})}
            answers.append(side.request("GET", path, query=query))
        from .harness import Pair

        pages.append(assert_same(Pair(*answers)))
        token = {
            side.name: reply.json["metadata"].get("continue", "")
            for side, reply in zip((both.dev, both.kube), answers, strict=True)
        }
        if not token["kube"]:
            assert not token["dev"]
            break
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert_same(both.request("GET", path, query={"limit": "x"}))
    assert_same(both.request("GET", path, query={"limit": "-1"}))
    assert_same(both.request("GET", path, query={"continue": "garbage"}))


def test_resource_version_rules(both: Both, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    cases = [
        {"resourceVersion": "abc"},
        {"resourceVersionMatch": "Exact"},
        {"resourceVersion": "0", "resourceVersionMatch": "Sometimes"},
        {"resourceVersion": "0", "resourceVersionMatch": "Exact"},
        {"resourceVersion": "0", "resourceVersionMatch": "NotOlderThan"},
        {"resourceVersion": "0"},
        {"sendInitialEvents": "true"},
    ]
    for query in cases:
        assert_same(both.request("GET", path, query=query))
    assert_same(both.request("GET", path, query={"watch": "true", "resourceVersion": "abc"}))
    assert_same(
        both.request(
            "GET", path, query={"watch": "true", "sendInitialEvents": "true", "timeoutSeconds": "1"}
        )
    )


def _events(events: list[dict[str, Any]]) -> list[Any]:
    return [(e["type"], normalise(e["object"])) for e in events]


def test_watch_sequence_from_resource_version(both: Both, ns: str) -> None:
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/{PLURAL}"
    start = {
        s.name: s.request("GET", path).json["metadata"]["resourceVersion"]
        for s in (both.dev, both.kube)
    }
    assert_same(both.request("POST", path, gadget("w1")))
    assert_same(both.request("POST", path, gadget("w2", color="blue")))
    assert_same(both.request("PATCH", f"{path}/w1", {"spec": {"size": 5}}, content_type=MERGE))
    assert_same(
        both.request("PATCH", f"{path}/w2", {"spec": {"color": "green"}}, content_type=MERGE)
    )
    assert_same(both.request("DELETE", f"{path}/w1"))
    results = {}
    for side in both.dev, both.kube:
        results[side.name] = side.watch(
            path, {"resourceVersion": start[side.name]}, stop=lambda e: len(e) >= 5, timeout=5
        )
    assert_equal(_events(results["dev"]), _events(results["kube"]))
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in results["dev"]]
    assert versions == sorted(versions)
    # a label/field-filtered watch sees objects enter and leave the selection
    results = {}
    for side in both.dev, both.kube:
        results[side.name] = side.watch(
            path,
            {"resourceVersion": start[side.name], "fieldSelector": "spec.color=blue"},
            stop=lambda e: len(e) >= 2,
            timeout=5,
        )
    assert_equal(_events(results["dev"]), _events(results["kube"]))


def test_watch_initial_events_and_bookmarks(both: Both, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/secrets"
    assert_same(both.request("POST", path, _secret("b1")))
    query = {
        "sendInitialEvents": "true",
        "resourceVersionMatch": "NotOlderThan",
        "allowWatchBookmarks": "true",
        "timeoutSeconds": "5",
    }
    dev, kube = both.watch(path, query, stop=lambda e: any(x["type"] == "BOOKMARK" for x in e))
    assert_equal(_events(dev), _events(kube))
    # a plain watch with bookmarks gets a BOOKMARK before its timeout
    query = {"allowWatchBookmarks": "true", "timeoutSeconds": "4", "resourceVersion": "0"}
    dev, kube = both.watch(path, query, stop=lambda e: any(x["type"] == "BOOKMARK" for x in e))
    assert [e["type"] for e in dev][:2] == [e["type"] for e in kube][:2] == ["ADDED", "BOOKMARK"]
    assert_equal(_events(dev)[1:2], _events(kube)[1:2])
