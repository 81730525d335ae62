"""Patch types, server-side apply, optimistic concurrency, preconditions, finalizers,
generation and no-op writes."""

from __future__ import annotations

from typing import Any

from .crds import GROUP, PLURAL, VERSION, gadget
from .harness import Both, assert_increasing, assert_same, normalise, rv

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


def _gadgets(ns: str) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/{PLURAL}"


def _cm(name: str, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, **extra}


def test_patch_types_on_builtins(both: Both, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    assert_same(both.request("POST", path, _cm("p", data={"a": "1", "b": "2"})))
    assert_same(
        both.request("PATCH", f"{path}/p", {"data": {"a": None, "c": "3"}}, content_type=MERGE)
    )
    ops = [
        {"op": "replace", "path": "/data/b", "value": "20"},
        {"op": "add", "path": "/data/d", "value": "4"},
    ]
    assert_same(both.request("PATCH", f"{path}/p", ops, content_type=JSON_PATCH))
    assert_same(both.request("PATCH", f"{path}/p", {"data": {"e": "5"}}, content_type=STRATEGIC))
    # failing JSON patches
    assert_same(
        both.request(
            "PATCH", f"{path}/p", [{"op": "remove", "path": "/data/zzz"}], content_type=JSON_PATCH
        )
    )
    assert_same(
        both.request(
            "PATCH",
            f"{path}/p",
            [{"op": "test", "path": "/data/b", "value": "x"}],
            content_type=JSON_PATCH,
        )
    )
    assert_same(both.request("PATCH", f"{path}/p", b"{not json", content_type=MERGE))
    assert_same(both.request("PATCH", f"{path}/p", {"data": {}}, content_type="text/plain"))
    assert_same(both.request("PATCH", f"{path}/missing", {"data": {}}, content_type=MERGE))


def test_strategic_merge_on_pod_lists(both: Both, ns: str) -> None:
    from .conftest import wait_for_default_account

    wait_for_default_account(both, ns)
    path = f"/api/v1/namespaces/{ns}/pods"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "sm", "labels": {"a": "1"}},
        "spec": {
            "schedulerName": "nobody",
            "containers": [
                {"name": "one", "image": "busybox:1"},
                {"name": "two", "image": "busybox:1"},
            ],
        },
    }
    norm = _pod_norm
    assert_same(both.request("POST", path, pod), norm)
    patch = {"spec": {"containers": [{"name": "two", "image": "busybox:2"}]}}
    assert_same(both.request("PATCH", f"{path}/sm", patch, content_type=STRATEGIC), norm)
    assert_same(
        both.request(
            "PATCH",
            f"{path}/sm",
            {"metadata": {"labels": {"a": None, "b": "2"}}},
            content_type=STRATEGIC,
        ),
        norm,
    )


def _pod_norm(doc: Any) -> Any:
    from .test_builtins import _pod_normaliser

    return _pod_normaliser(doc)


def test_strategic_merge_is_415_on_custom_resources(both: Both, ns: str) -> None:
    path = _gadgets(ns)
    assert_same(both.request("POST", path, gadget("g")))
    assert_same(both.request("PATCH", f"{path}/g", {"spec": {"size": 2}}, content_type=STRATEGIC))
    assert_same(both.request("PATCH", f"{path}/g", {"spec": {"size": 2}}, content_type=MERGE))
    ops = [{"op": "replace", "path": "/spec/size", "value": 4}]
    assert_same(both.request("PATCH", f"{path}/g", ops, content_type=JSON_PATCH))


def test_server_side_apply_and_conflicts(both: Both, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    norm = _managed
    applied = _cm("ssa", data={"owned": "a", "shared": "1"})
    one = {"fieldManager": "one"}
    assert_same(both.request("PATCH", f"{path}/ssa", applied, content_type=APPLY, query=one), norm)
    two = _cm("ssa", data={"shared": "2", "mine": "b"})
    assert_same(
        both.request(
            "PATCH", f"{path}/ssa", two, content_type=APPLY, query={"fieldManager": "two"}
        ),
        norm,
    )
    assert_same(
        both.request(
            "PATCH",
            f"{path}/ssa",
            two,
            content_type=APPLY,
            query={"fieldManager": "two", "force": "true"},
        ),
        norm,
    )
    # an update by a third manager takes what it changes
    assert_same(
        both.request(
            "PATCH",
            f"{path}/ssa",
            {"data": {"owned": "z"}},
            content_type=MERGE,
            query={"fieldManager": "three"},
        ),
        norm,
    )
    # one re-applies without "owned": conflicts with three, who changed it
    assert_same(both.request("PATCH", f"{path}/ssa", applied, content_type=APPLY, query=one), norm)
    assert_same(both.request("PATCH", f"{path}/ssa", applied, content_type=APPLY), norm)
    assert_same(both.request("GET", f"{path}/ssa"), norm)


def _managed(doc: Any) -> Any:
    """Normalised with managedFields kept; an apply conflict's causes sorted (kube-apiserver
    lists them in the order of a Go map of managers, which varies from call to call)."""
    doc = normalise(doc, managed_fields=True)
    causes = doc.get("details", {}).get("causes") if isinstance(doc, dict) else None
    if isinstance(causes, list):
        causes.sort(key=lambda cause: (cause.get("field", ""), cause.get("message", "")))
    return doc


def test_apply_on_custom_resources(both: Both, ns: str) -> None:
    path = _gadgets(ns)
    body = gadget("ap", size=2, tags=["x"], ports=[{"name": "http", "port": 8080}])
    query = {"fieldManager": "tool"}
    assert_same(
        both.request("PATCH", f"{path}/ap", body, content_type=APPLY, query=query), _managed
    )
    other = gadget("ap", size=3, ports=[{"name": "grpc", "port": 9090}])
    assert_same(
        both.request(
            "PATCH", f"{path}/ap", other, content_type=APPLY, query={"fieldManager": "other"}
        ),
        _managed,
    )
    assert_same(both.request("GET", f"{path}/ap"), _managed)


def test_managed_fields_of_updates(both: Both, ns: str) -> None:
    """Creates, updates and patches own what they change; the names are in the order of the
    writes, so that entries sort alike whichever second each write fell in."""
    path = f"/api/v1/namespaces/{ns}/configmaps"
    norm = _managed
    created = _cm("mf", data={"a": "1", "b": "2"})
    created["metadata"]["labels"] = {"app": "x"}
    assert_same(both.request("POST", path, created, query={"fieldManager": "a-create"}), norm)
    # a PUT by another manager: takes "a", removes "b" from everyone, adds "c"
    put = _cm("mf", data={"a": "10", "c": "3"})
    put["metadata"]["labels"] = {"app": "x"}
    assert_same(both.request("PUT", f"{path}/mf", put, query={"fieldManager": "b-put"}), norm)
    # no fieldManager: the User-Agent's product names the manager
    assert_same(both.request("PATCH", f"{path}/mf", {"data": {"d": "4"}}, content_type=MERGE), norm)
    ops = [{"op": "replace", "path": "/metadata/labels/app", "value": "y"}]
    assert_same(
        both.request(
            "PATCH", f"{path}/mf", ops, content_type=JSON_PATCH, query={"fieldManager": "c-json"}
        ),
        norm,
    )
    # a write that changes nothing keeps managedFields (and the resourceVersion) as they are
    assert_same(
        both.request(
            "PATCH",
            f"{path}/mf",
            {"data": {"a": "10"}},
            content_type=STRATEGIC,
            query={"fieldManager": "d-noop"},
        ),
        norm,
    )
    # managedFields a client sends are honoured; [] resets them
    current = both.kube.request("GET", f"{path}/mf").json
    entries = [e for e in current["metadata"]["managedFields"] if e["manager"] != "b-put"]
    honoured = {"metadata": {"managedFields": entries}, "data": {"e": "5"}}
    assert_same(
        both.request(
            "PATCH", f"{path}/mf", honoured, content_type=MERGE, query={"fieldManager": "e-mf"}
        ),
        norm,
    )
    reset = {"metadata": {"managedFields": []}, "data": {"f": "6"}}
    assert_same(
        both.request(
            "PATCH", f"{path}/mf", reset, content_type=MERGE, query={"fieldManager": "f-reset"}
        ),
        norm,
    )
    assert_same(both.request("GET", f"{path}/mf"), norm)


def test_managed_fields_of_custom_resources(both: Both, ns: str) -> None:
    path = _gadgets(ns)
    norm = _managed
    body = gadget("mf", tags=["x"], ports=[{"name": "http", "port": 80}])
    assert_same(both.request("POST", path, body, query={"fieldManager": "a-create"}), norm)
    patch = {"spec": {"size": 5, "ports": [{"name": "http", "port": 81}]}}
    assert_same(
        both.request(
            "PATCH", f"{path}/mf", patch, content_type=MERGE, query={"fieldManager": "b-merge"}
        ),
        norm,
    )
    # the applier shares what it sets to the same value, and takes the rest with force
    applied = gadget("mf", size=5, ports=[{"name": "grpc", "port": 90}])
    query = {"fieldManager": "c-apply"}
    assert_same(both.request("PATCH", f"{path}/mf", applied, content_type=APPLY, query=query), norm)
    # applying less: what only the applier owned is pruned
    fewer = gadget("mf", size=5)
    assert_same(both.request("PATCH", f"{path}/mf", fewer, content_type=APPLY, query=query), norm)
    assert_same(both.request("GET", f"{path}/mf"), norm)


def test_managed_fields_of_status_and_first_apply(both: Both, ns: str) -> None:
    path = _gadgets(ns)
    norm = _managed
    assert_same(both.request("POST", path, gadget("st"), query={"fieldManager": "a-create"}), norm)
    status = {"status": {"phase": "Running"}}
    assert_same(
        both.request(
            "PATCH",
            f"{path}/st/status",
            status,
            content_type=MERGE,
            query={"fieldManager": "b-status"},
        ),
        norm,
    )
    applied = {**gadget("st", size=1), "status": {"phase": "Done", "observedGeneration": 1}}
    assert_same(
        both.request(
            "PATCH",
            f"{path}/st/status",
            applied,
            content_type=APPLY,
            query={"fieldManager": "c-status-apply"},
        ),
        norm,
    )
    assert_same(
        both.request(
            "PATCH",
            f"{path}/st/status",
            applied,
            content_type=APPLY,
            query={"fieldManager": "c-status-apply", "force": "true"},
        ),
        norm,
    )
    # an apply that changes nothing makes its manager a co-owner
    same = gadget("st", size=1)
    query = {"fieldManager": "d-same"}
    assert_same(both.request("PATCH", f"{path}/st", same, content_type=APPLY, query=query), norm)
    # [] is no reset for a custom resource (its metadata goes through ObjectMeta, which
    # drops it); [{}] is. Once cleared, updates are not tracked until the next apply, which
    # gives what is there to before-first-apply
    reset = {"metadata": {"managedFields": []}}
    assert_same(both.request("PATCH", f"{path}/st", reset, content_type=MERGE), norm)
    reset = {"metadata": {"managedFields": [{}]}}
    assert_same(both.request("PATCH", f"{path}/st", reset, content_type=MERGE), norm)
    assert_same(
        both.request(
            "PATCH",
            f"{path}/st",
            {"spec": {"size": 3}},
            content_type=MERGE,
            query={"fieldManager": "e-untracked"},
        ),
        norm,
    )
    labelled = {**gadget("st", size=3), "metadata": {"name": "st", "labels": {"a": "b"}}}
    query = {"fieldManager": "f-apply"}
    assert_same(
        both.request("PATCH", f"{path}/st", labelled, content_type=APPLY, query=query), norm
    )


def test_optimistic_concurrency(both: Both, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    dev0 = both.dev.request("POST", path, _cm("oc", data={"a": "1"})).json
    kube0 = both.kube.request("POST", path, _cm("oc", data={"a": "1"})).json
    pair = both.request("PUT", f"{path}/oc", {**_cm("oc", data={"a": "2"})})
    assert_same(pair)  # no resourceVersion: unconditional
    stale_dev = {**dev0, "data": {"a": "3"}}
    stale_kube = {**kube0, "data": {"a": "3"}}
    answers = (
        both.dev.request("PUT", f"{path}/oc", stale_dev),
        both.kube.request("PUT", f"{path}/oc", stale_kube),
    )
    from .harness import Pair

    assert_same(Pair(*answers))
    bad = {**_cm("oc"), "metadata": {"name": "oc", "resourceVersion": "abc"}}
    assert_same(both.request("PUT", f"{path}/oc", bad))
    wrong_uid = {
        **_cm("oc"),
        "metadata": {"name": "oc", "uid": "00000000-0000-0000-0000-000000000000"},
    }
    assert_same(both.request("PUT", f"{path}/oc", wrong_uid), _uid_in_message)
    # a merge patch that names a stale resourceVersion
    patch = {
        "metadata": {"resourceVersion": dev0["metadata"]["resourceVersion"]},
        "data": {"b": "1"},
    }
    kpatch = {
        "metadata": {"resourceVersion": kube0["metadata"]["resourceVersion"]},
        "data": {"b": "1"},
    }
    answers = (
        both.dev.request("PATCH", f"{path}/oc", patch, content_type=MERGE),
        both.kube.request("PATCH", f"{path}/oc", kpatch, content_type=MERGE),
    )
    assert_same(Pair(*answers))


def _uid_in_message(doc: Any) -> Any:
    import re

    doc = normalise(doc)
    if isinstance(doc, dict) and "message" in doc:
        doc["message"] = re.sub(r"[0-9a-f-]{36}", "<uid>", doc["message"])
    return doc


def test_delete_preconditions(both: Both, ns: str) -> None:
    from .harness import Pair

    path = f"/api/v1/namespaces/{ns}/configmaps"
    assert_same(both.request("POST", path, _cm("dp")))
    options = {"preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}}
    assert_same(both.request("DELETE", f"{path}/dp", options), _uid_in_message)
    options = {"preconditions": {"resourceVersion": "1"}}
    answers = (
        both.dev.request("DELETE", f"{path}/dp", options),
        both.kube.request("DELETE", f"{path}/dp", options),
    )
    assert_same(Pair(*answers), _rv_in_message)
    assert_same(both.request("DELETE", f"{path}/dp", {"propagationPolicy": "Sometimes"}))
    assert_same(both.request("DELETE", f"{path}/dp", {"dryRun": ["All"]}))
    assert_same(both.request("DELETE", f"{path}/dp", {"dryRun": ["Some"]}))


def _rv_in_message(doc: Any) -> Any:
    import re

    doc = normalise(doc)
    if isinstance(doc, dict) and "message" in doc:
        doc["message"] = re.sub(r"record \(\d+\)", "record (<rv>)", doc["message"])
    return doc


def test_finalizers_and_deletion_timestamp(both: Both, ns: str) -> None:
    for path in (f"/api/v1/namespaces/{ns}/configmaps", _gadgets(ns)):
        body = _cm("fin") if "configmaps" in path else gadget("fin")
        body["metadata"]["finalizers"] = ["example.com/hold"]
        assert_same(both.request("POST", path, body))
        assert_same(both.request("DELETE", f"{path}/fin"))
        assert_same(both.request("GET", f"{path}/fin"))
        # no new finalizers while deleting; removing the last one deletes
        add = {"metadata": {"finalizers": ["example.com/hold", "example.com/more"]}}
        assert_same(both.request("PATCH", f"{path}/fin", add, content_type=MERGE))
        assert_same(both.request("DELETE", f"{path}/fin"))
        assert_same(
            both.request(
                "PATCH", f"{path}/fin", {"metadata": {"finalizers": None}}, content_type=MERGE
            )
        )
        assert_same(both.request("GET", f"{path}/fin"))
        bad = _cm("badfin") if "configmaps" in path else gadget("badfin")
        bad["metadata"]["finalizers"] = ["not a finalizer"]
        assert_same(both.request("POST", path, bad))


def test_generation_and_no_op_writes(both: Both, ns: str) -> None:
    path = _gadgets(ns)
    versions: dict[str, list[dict[str, Any]]] = {"dev": [], "kube": []}

    def step(method: str, sub: str, body: Any, **kw: Any) -> None:
        pair = both.request(method, f"{path}{sub}", body, **kw)
        assert_same(pair)
        versions["dev"].append(pair.dev.json)
        versions["kube"].append(pair.kube.json)

    step("POST", "", gadget("gen"))
    step("PATCH", "/gen", {"spec": {"size": 2}}, content_type=MERGE)  # generation 2
    step("PATCH", "/gen", {"metadata": {"labels": {"a": "b"}}}, content_type=MERGE)  # still 2
    step("PATCH", "/gen/status", {"status": {"phase": "Ready"}}, content_type=MERGE)  # still 2
    step("PATCH", "/gen", {"spec": {"size": 2}}, content_type=MERGE)  # no-op: same version
    for side in versions.values():
        assert [d["metadata"]["generation"] for d in side] == [1, 2, 2, 2, 2]
        assert_increasing(*side[:4])
        assert rv(side[4]) == rv(side[3])
