"""ConditionMonitor (the seed's calling shape: the task receives the object) and its blocking
twin SyncConditionMonitor, on a real server."""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from kontinue.clock import ManualClock, format_time
from kontinue.kube import AsyncKubeClient, KubeClient, KubeSettings
from kontinue.kube.conditions import ConditionMonitor, SyncConditionMonitor, find_condition

from .test_conditions import GIZMO_CRD

FAST = KubeSettings(qps=0)
GROUP = f"m{uuid.uuid4().hex[:8]}.tests.kontinue.cloud"
CRD = copy.deepcopy(GIZMO_CRD)
CRD["metadata"]["name"] = f"gizmos.{GROUP}"
CRD["spec"]["group"] = GROUP


@pytest.fixture(scope="module")
def crd(kubeconfig: str) -> Iterator[None]:
    with KubeClient.from_kubeconfig(kubeconfig, settings=FAST) as kube:
        kube.create(CRD)
        kube.wait_for("Gizmo", f"{GROUP}/v1", timeout=30)
        yield
        kube.delete("customresourcedefinitions", CRD["metadata"]["name"])


@pytest.fixture
def kube(kubeconfig: str, namespace: str, crd: None) -> Iterator[KubeClient]:
    with KubeClient.from_kubeconfig(kubeconfig, namespace=namespace, settings=FAST) as client:
        yield client


def _gizmo(kube: KubeClient, name: str) -> dict[str, Any]:
    created = kube.create(
        {"apiVersion": f"{GROUP}/v1", "kind": "Gizmo", "metadata": {"name": name}, "spec": {}}
    )
    with_status: dict[str, Any] = kube.patch(created, {"status": {"phase": "New"}}, status=True)
    return with_status


async def test_the_task_receives_the_object_as_written(
    kubeconfig: str, namespace: str, kube: KubeClient
) -> None:
    gizmo = _gizmo(kube, "g1")
    clock = ManualClock()
    async with AsyncKubeClient.from_kubeconfig(
        kubeconfig, namespace=namespace, settings=FAST
    ) as client:
        monitor = ConditionMonitor(client, clock=clock, success_reason="Built")

        async def build(obj: dict[str, Any]) -> str:
            condition = find_condition(obj, "Ready")
            assert condition is not None and condition["status"] == "Unknown"
            # The object is the stored one: writing it back needs no fresh read.
            written = await client.patch(obj, {"status": {"phase": "Building"}}, status=True)
            return str(written["status"]["phase"])

        assert await monitor.monitor(gizmo, "Ready", build) == "Building"
        stored = kube.get(gizmo)
        assert find_condition(stored, "Ready") == {
            "type": "Ready",
            "status": "True",
            "observedGeneration": 1,
            "reason": "Built",
            "message": "",
            "lastTransitionTime": format_time(clock.now()),
        }


def test_the_blocking_monitor_runs_the_task_in_the_calling_thread(kube: KubeClient) -> None:
    gizmo = _gizmo(kube, "g2")
    threads: list[threading.Thread] = []

    def fail(obj: dict[str, Any]) -> None:
        threads.append(threading.current_thread())
        assert find_condition(obj, "Deployed") is not None
        raise RuntimeError("disk full")

    with SyncConditionMonitor(kube, component="builder") as monitor:
        assert monitor.monitor(gizmo, "Ready", lambda obj: obj["metadata"]["name"]) == "g2"
        with pytest.raises(RuntimeError, match="disk full"):
            monitor.monitor(gizmo, "Deployed", fail)
    assert threads == [threading.current_thread()]
    stored = kube.get(gizmo)
    ready, deployed = find_condition(stored, "Ready"), find_condition(stored, "Deployed")
    assert ready is not None and (ready["status"], ready["reason"]) == ("True", "Succeeded")
    assert deployed is not None
    assert (deployed["status"], deployed["reason"], deployed["message"]) == (
        "False",
        "Failed",
        "disk full",
    )
    warnings = [e for e in kube.list("events") if e["involvedObject"].get("name") == "g2"]
    assert [(e["type"], e["reason"]) for e in warnings] == [("Warning", "Failed")]
    assert not [t for t in threading.enumerate() if t.name == "kontinue-conditions"]
