"""The generated kontinue CRDs on a real API server: install, typed CRUD, defaults, validation,
the status subresource and the printer columns."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kontinue.api import (
    RESOURCES,
    Execution,
    ExecutionPhase,
    ExecutionSpec,
    ExecutionStatus,
    Function,
    ObjectMeta,
    Resource,
    ScheduledExecution,
    crd_manifests,
)
from kontinue.kube import Invalid, KubeClient, KubeSettings
from kontinue.testing import eventually

from ..api_samples import SAMPLES, sample
from .conftest import RawHttp

FAST = KubeSettings(qps=0)
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
ROOT = Path(__file__).resolve().parents[2]
API = "/apis/kontinue.cloud/v1alpha1"


def _established(kube: KubeClient, name: str) -> bool:
    crd = kube.get("customresourcedefinitions", name)
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


def _execution(name: str, function: str = "f") -> Execution:
    return Execution(metadata=ObjectMeta(name=name), spec=ExecutionSpec(function=function))


@pytest.fixture(scope="session")
def kontinue_crds(kubeconfig: str) -> list[str]:
    """The generated CRDs, installed once per session (upsert: other tests may install them)."""
    names = []
    with KubeClient.from_kubeconfig(kubeconfig, settings=FAST) as kube:
        for crd in crd_manifests().values():
            kube.upsert(crd)
            names.append(crd["metadata"]["name"])
        eventually(lambda: all(_established(kube, name) for name in names))
    return names


@pytest.fixture
def kube(kubeconfig: str, namespace: str, kontinue_crds: list[str]) -> Iterator[KubeClient]:
    with KubeClient.from_kubeconfig(kubeconfig, namespace=namespace, settings=FAST) as client:
        yield client


def test_discovery_lists_every_kind_with_short_names(kube: KubeClient) -> None:
    answer = kube.raw("GET", API)
    assert answer.status == 200
    resources = {r["kind"]: r for r in json.loads(answer.body)["resources"] if "/" not in r["name"]}
    assert set(resources) == {model.names.kind for model in RESOURCES}
    for model in RESOURCES:
        found = resources[model.names.kind]
        assert found["name"] == model.names.plural and found["namespaced"] is True
        assert found["shortNames"] == list(model.names.short_names)
        assert found["categories"] == ["kontinue"]


@pytest.mark.parametrize("model", RESOURCES, ids=lambda m: m.__name__)
def test_typed_create_get_list_and_status(kube: KubeClient, model: type[Resource]) -> None:
    full = model.model_validate(sample(model))
    created = kube.create(full)
    assert type(created) is model
    assert created.metadata.uid and created.metadata.namespace == kube.namespace
    assert created.spec == full.spec  # type: ignore[attr-defined]
    assert created.metadata.labels == full.metadata.labels
    # The status subresource: a create ignores the status, only a status write sets it.
    assert created.status == type(full.status)()  # type: ignore[attr-defined]
    created.status = full.status  # type: ignore[attr-defined]
    updated = kube.update_status(created)
    assert updated.status == full.status  # type: ignore[attr-defined]
    assert updated.metadata.generation == created.metadata.generation
    fetched = kube.get(model.names.plural, full.metadata.name, as_type=model)
    assert fetched == updated
    (listed,) = kube.list(model.names.short_names[0], as_type=model)
    assert listed == updated


def test_spec_writes_keep_the_status(kube: KubeClient) -> None:
    created = kube.create(_execution("e"))
    created.status = ExecutionStatus(phase=ExecutionPhase.EXECUTING, attempt=1)
    running = kube.update_status(created)
    running.spec.arguments = {"x": 1}
    running.status = ExecutionStatus(phase=ExecutionPhase.COMPLETED)  # ignored: not /status
    updated = kube.update(running)
    assert updated.spec.arguments == {"x": 1}
    assert updated.status.phase is ExecutionPhase.EXECUTING and updated.status.attempt == 1
    assert updated.metadata.generation == 2 and not updated.is_terminal


def test_server_applies_the_model_defaults(kube: KubeClient) -> None:
    body: dict[str, Any] = {
        "apiVersion": "kontinue.cloud/v1alpha1",
        "kind": "Execution",
        "metadata": {"name": "defaults"},
        "spec": {"function": "f", "retry": {}, "rerun": {}, "unknown": 1},
    }
    created = kube.create(body)
    assert created["spec"] == {
        "function": "f",
        "retry": {"retries": 0, "backoff": "5s", "childPolicy": "None"},
        "rerun": {"count": 0, "childPolicy": "None"},
    }
    patched = kube.patch("ex", {"status": {"message": "waiting"}}, name="defaults", status=True)
    assert patched["status"] == {
        "phase": "Pending",
        "message": "waiting",
        "attempt": 0,
        "resumptions": 0,
        "reruns": 0,
    }
    minimal = {"schedule": "@daily", "function": "f"}
    schedule = kube.create({**sample(ScheduledExecution, status=False), "spec": minimal})
    assert schedule["spec"] == {
        "schedule": "@daily",
        "function": "f",
        "historyLimit": 5,
        "suspend": False,
        "concurrencyPolicy": "Allow",
    }
    function = kube.create({**sample(Function, status=False), "spec": {"name": "f"}})
    assert function["spec"] == {"name": "f", "workerGroup": "default"}


def _with(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = path.split(".")
    node = obj
    for key in parents:
        node = node.setdefault(key, {})
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return obj


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "detail"),
    [
        ("spec.retry.retries", -1, "should be greater than or equal to 0"),
        ("spec.retry.backoff", "5 minutes", "should match"),
        ("spec.timeout.overall", "1y", "should match"),
        ("spec.retry.childPolicy", "Sometimes", "Unsupported value"),
        ("spec.mutex.name", "", "should be at least 1 chars long"),
        ("spec.function", _DELETE, "Required value"),
    ],
)
def test_invalid_objects_are_422_naming_the_field(
    kube: KubeClient, path: str, value: Any, detail: str
) -> None:
    body = _with(sample(Execution, "bad", status=False), path, value)
    with pytest.raises(Invalid) as err:
        kube.create(body)
    assert err.value.status_code == 422
    assert path in err.value.message and detail in err.value.message
    assert [cause["field"] for cause in err.value.causes] == [path]


def test_invalid_status_is_422(kube: KubeClient) -> None:
    created = kube.create(sample(Execution, "s", status=False))
    created["status"] = {"phase": "Sleeping", "attempt": -2}
    with pytest.raises(Invalid) as err:
        kube.update_status(created)
    fields = sorted(cause["field"] for cause in err.value.causes)
    assert fields == ["status.attempt", "status.phase"]


def test_printer_columns_in_a_table(kube: KubeClient, raw: RawHttp) -> None:
    created = kube.create(_execution("t"))
    created.status = ExecutionStatus(phase=ExecutionPhase.BACKOFF, attempt=2, message="retry soon")
    kube.update_status(created)
    kube.create(_execution("u", "g"))
    status, table = raw.json(
        "GET", f"{API}/namespaces/{kube.namespace}/executions", headers={"Accept": TABLE}
    )
    assert status == 200 and table["kind"] == "Table"
    columns = [(c["name"], c["priority"]) for c in table["columnDefinitions"]]
    assert columns == [
        ("Name", 0),
        ("Function", 0),
        ("Phase", 0),
        ("Attempt", 1),
        ("Message", 0),
        ("Age", 0),
    ]
    cells = {row["cells"][0]: row["cells"][1:5] for row in table["rows"]}
    assert cells["t"] == ["f", "Backoff", 2, "retry soon"]
    assert cells["u"] == ["g", None, None, None]  # no status yet


@pytest.mark.kubectl
def test_kubectl_apply_and_get(kubectl_binary: str, kubeconfig: str, kube: KubeClient) -> None:
    env = {**os.environ, "KUBECONFIG": kubeconfig, "HOME": str(Path(kubeconfig).parent)}

    def kubectl(*args: str) -> str:
        result = subprocess.run(
            [kubectl_binary, "-n", kube.namespace, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    kubectl("apply", "-f", str(ROOT / "deploy" / "crds"))  # idempotent over the installed ones
    kube.create(sample(Execution, "k", status=False))
    kube.patch("ex", {"status": {"message": "queued"}}, name="k", status=True)
    kube.create(SAMPLES[Function])
    lines = kubectl("get", "ex", "-o", "wide").splitlines()
    assert lines[0].split() == ["NAME", "FUNCTION", "PHASE", "ATTEMPT", "MESSAGE", "AGE"]
    assert lines[1].split()[:5] == ["k", "deploy", "Pending", "0", "queued"]
    everything = kubectl("get", "kontinue")
    assert "execution.kontinue.cloud/k" in everything
    assert "function.kontinue.cloud/deploy" in everything
