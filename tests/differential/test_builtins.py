"""Built-in kinds kontinue touches: created, read back (defaults included), refused alike."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import wait_for_default_account
from .harness import Both, assert_same, cut_messages

CM = "/api/v1/namespaces/{ns}/configmaps"


def configmap(name: str, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, **extra}


def test_configmap_create_get_and_errors(both: Both, ns: str) -> None:
    path = CM.format(ns=ns)
    body = configmap("a", data={"k": "v"}, binaryData={"b": "aGk="})
    created = assert_same(both.request("POST", path, body))
    assert created["metadata"]["name"] == "a"
    assert_same(both.request("GET", f"{path}/a"))
    assert_same(both.request("POST", path, body))  # AlreadyExists
    assert_same(both.request("GET", f"{path}/missing"))  # NotFound
    assert_same(both.request("PUT", f"{path}/missing", configmap("missing")))
    assert_same(both.request("DELETE", f"{path}/missing"))
    # invalid keys, names, labels and a wrong kind / apiVersion / namespace
    assert_same(both.request("POST", path, configmap("b", data={"bad key": "v"})))
    assert_same(both.request("POST", path, configmap("Bad_Name")))
    assert_same(both.request("POST", path, configmap("c", data={"k": 1})))
    for labels in ({"ok": "-bad-"}, {"bad key": "x"}):
        body = {**configmap("d"), "metadata": {"name": "d", "labels": labels}}
        assert_same(both.request("POST", path, body))
    assert_same(both.request("POST", path, {**configmap("e"), "kind": "Secret"}))
    assert_same(both.request("POST", path, {**configmap("f"), "apiVersion": "v2"}))
    other = {**configmap("g"), "metadata": {"name": "g", "namespace": "elsewhere"}}
    assert_same(both.request("POST", path, other))
    assert_same(both.request("POST", path, b'{"metadata": {"name": "x"'))
    assert_same(both.request("POST", path, {"apiVersion": "v1", "kind": "ConfigMap"}))
    # delete answers a Status for configmaps
    assert_same(both.request("DELETE", f"{path}/a"))


def test_configmap_in_missing_namespace(both: Both) -> None:
    assert_same(both.request("POST", CM.format(ns="nowhere-at-all"), configmap("a")))


def test_secret_defaults_and_string_data(both: Both, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/secrets"
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "stringData": {"user": "ana"},
        "data": {"pw": "c2VjcmV0"},
    }
    assert_same(both.request("POST", path, body))
    assert_same(both.request("GET", f"{path}/s"))
    bad = {**body, "metadata": {"name": "t"}, "data": {"pw": "not base64!"}}
    bad.pop("stringData")
    assert_same(both.request("POST", path, bad))
    immutable = {**body, "metadata": {"name": "u"}, "immutable": True}
    assert_same(both.request("POST", path, immutable))
    current = both.kube.request("GET", f"{path}/u").json
    assert_same(
        both.request(
            "PATCH",
            f"{path}/u",
            {"data": {"pw": "b3RoZXI="}},
            content_type="application/merge-patch+json",
        )
    )
    assert current["immutable"] is True


def test_namespace_defaults_and_errors(both: Both, ns: str) -> None:
    assert_same(both.request("GET", f"/api/v1/namespaces/{ns}"))
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "Not.A.Label"}}
    assert_same(both.request("POST", "/api/v1/namespaces", body))
    assert_same(both.request("GET", "/api/v1/namespaces/does-not-exist"))


def test_serviceaccount(both: Both, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/serviceaccounts"
    body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}}
    assert_same(both.request("POST", path, body))
    assert_same(both.request("GET", f"{path}/robot"))
    assert_same(both.request("DELETE", f"{path}/robot"))


def test_lease(both: Both, ns: str) -> None:
    path = f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"
    body = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "leader"},
        "spec": {
            "holderIdentity": "me",
            "leaseDurationSeconds": 15,
            "acquireTime": "2026-01-01T00:00:00.000000Z",
            "renewTime": "2026-01-01T00:00:01.000000Z",
            "leaseTransitions": 0,
        },
    }
    assert_same(both.request("POST", path, body))
    assert_same(both.request("GET", f"{path}/leader"))
    bad = {**body, "metadata": {"name": "bad"}, "spec": {"leaseDurationSeconds": 0}}
    assert_same(both.request("POST", path, bad))
    bad = {**body, "metadata": {"name": "worse"}, "spec": {"leaseTransitions": -1}}
    assert_same(both.request("POST", path, bad))


def _event(ns: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name},
        "involvedObject": {"kind": "ConfigMap", "name": "a", "namespace": ns, "apiVersion": "v1"},
        "reason": "Tested",
        "message": "something happened",
        "type": "Normal",
        "source": {"component": "differential"},
        "firstTimestamp": "2026-01-01T00:00:00Z",
        "lastTimestamp": "2026-01-01T00:00:00Z",
        "count": 1,
        **extra,
    }


def test_core_events(both: Both, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/events"
    assert_same(both.request("POST", path, _event(ns, "e1")))
    assert_same(both.request("GET", f"{path}/e1"))
    # the same event seen through events.k8s.io/v1
    assert_same(both.request("GET", f"/apis/events.k8s.io/v1/namespaces/{ns}/events/e1"))
    wrong = _event(ns, "e2")
    wrong["involvedObject"]["namespace"] = "other"
    assert_same(both.request("POST", path, wrong))
    assert_same(both.request("POST", path, {**_event(ns, "e3"), "involvedObject": None}))


def test_events_k8s_io(both: Both, ns: str) -> None:
    path = f"/apis/events.k8s.io/v1/namespaces/{ns}/events"
    body = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "n1"},
        "eventTime": "2026-01-01T00:00:00.000000Z",
        "reportingController": "example.com/differential",
        "reportingInstance": "tester-1",
        "action": "Testing",
        "reason": "Tested",
        "type": "Normal",
        "note": "a note",
        "regarding": {"kind": "ConfigMap", "name": "a", "namespace": ns, "apiVersion": "v1"},
    }
    assert_same(both.request("POST", path, body))
    assert_same(both.request("GET", f"{path}/n1"))
    assert_same(both.request("GET", f"/api/v1/namespaces/{ns}/events/n1"))
    missing = {k: v for k, v in body.items() if k not in ("eventTime", "action")}
    missing["metadata"] = {"name": "n2"}
    assert_same(both.request("POST", path, missing))


def _pod(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "schedulerName": "nobody",
            "containers": [{"name": "main", "image": "busybox", "command": ["true"]}],
            **spec,
        },
    }


def _pod_normaliser(doc: Any) -> Any:
    """Pods get a token volume with a random suffix (ServiceAccount admission)."""
    import re

    from .harness import normalise

    suffixes = re.findall(r"kube-api-access-\w{5}", json.dumps(doc))
    return normalise(doc, generated=dict.fromkeys(suffixes, "kube-api-access-<x>"))


def test_pod_defaults_and_errors(both: Both, ns: str) -> None:
    wait_for_default_account(both, ns)
    path = f"/api/v1/namespaces/{ns}/pods"
    assert_same(both.request("POST", path, _pod("p")), _pod_normaliser)
    assert_same(both.request("GET", f"{path}/p"), _pod_normaliser)
    assert_same(both.request("POST", path, _pod("q", restartPolicy="Sometimes")))
    assert_same(both.request("POST", path, _pod("r", containers=[])))
    assert_same(
        both.request("POST", path, _pod("s", containers=[{"name": "Bad_Name", "image": "busybox"}]))
    )
    # only images may change (upstream appends a diff of its internal Go structs)
    assert_same(
        both.request(
            "PATCH",
            f"{path}/p",
            {"spec": {"restartPolicy": "Never"}},
            content_type="application/merge-patch+json",
        ),
        cut_messages("previously negative)"),
    )
    # delete answers the object (with a grace period on upstream)
    assert_same(
        both.request("DELETE", f"{path}/p", query={"gracePeriodSeconds": "0"}), _pod_normaliser
    )


def _job(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "managedBy": "example.com/x",
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "schedulerName": "nobody",
                    "containers": [{"name": "main", "image": "busybox", "command": ["true"]}],
                }
            },
            **spec,
        },
    }


def test_job_defaults_and_errors(both: Both, ns: str) -> None:
    path = f"/apis/batch/v1/namespaces/{ns}/jobs"
    assert_same(both.request("POST", path, _job("j")))
    assert_same(both.request("GET", f"{path}/j"))
    assert_same(both.request("POST", path, _job("k", parallelism=-1)))
    bad = _job("l")
    bad["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    assert_same(both.request("POST", path, bad))
    assert_same(both.request("POST", path, _job("x" * 64)))
    # upstream shows the template as its internal Go struct in JSON
    assert_same(
        both.request(
            "PATCH",
            f"{path}/j",
            {"spec": {"template": {"spec": {"activeDeadlineSeconds": 5}}}},
            content_type="application/merge-patch+json",
        ),
        cut_messages("Invalid value: "),
    )
    # a finished status must say why first
    status = {"status": {"conditions": [{"type": "Complete", "status": "True"}]}}
    assert_same(
        both.request(
            "PATCH", f"{path}/j/status", status, content_type="application/merge-patch+json"
        )
    )


@pytest.mark.parametrize("kind", ["configmaps", "secrets", "serviceaccounts"])
def test_unknown_subresource_and_method(both: Both, ns: str, kind: str) -> None:
    assert_same(both.request("GET", f"/api/v1/namespaces/{ns}/{kind}/x/status"))
    assert_same(both.request("GET", f"/api/v1/namespaces/{ns}/nothings"))
    assert_same(both.request("POST", f"/api/v1/namespaces/{ns}/{kind}/x", {}))
