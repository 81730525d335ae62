"""kontinue.kube.conditions: a condition that follows a task, and Warning events on failure."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest

from kontinue.clock import ManualClock, format_time
from kontinue.kube import AsyncKubeClient, Conflict, Forbidden, KubeClient, KubeError, KubeSettings
from kontinue.kube.conditions import (
    ConditionUpdateFailed,
    EventRecorder,
    find_condition,
    monitor_condition,
)
from kontinue.testing import eventually

FAST = KubeSettings(qps=0)
GROUP = f"c{uuid.uuid4().hex[:8]}.tests.kontinue.cloud"
KIND, PLURAL = "Gizmo", "gizmos"

CONDITION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "status", "lastTransitionTime", "reason", "message"],
    "properties": {
        "type": {"type": "string", "maxLength": 316},
        "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
        "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0},
        "lastTransitionTime": {"type": "string", "format": "date-time"},
        "reason": {"type": "string", "maxLength": 1024, "minLength": 1},
        "message": {"type": "string", "maxLength": 32768},
    },
}

GIZMO_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": PLURAL, "singular": "gizmo", "kind": KIND},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {"size": {"type": "integer"}},
                            },
                            "status": {
                                "type": "object",
                                "properties": {
                                    "phase": {"type": "string"},
                                    "conditions": {
                                        "type": "array",
                                        "items": CONDITION_SCHEMA,
                                        "x-kubernetes-list-type": "map",
                                        "x-kubernetes-list-map-keys": ["type"],
                                    },
                                },
                            },
                        },
                    }
                },
            }
        ],
    },
}


def _established(kube: KubeClient) -> bool:
    crd = kube.get("customresourcedefinitions", GIZMO_CRD["metadata"]["name"])
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


@pytest.fixture(scope="module")
def gizmo_crd(kubeconfig: str) -> Iterator[None]:
    """A CRD whose status keeps conditions (the Widget's schema would prune them)."""
    with KubeClient.from_kubeconfig(kubeconfig, settings=FAST) as kube:
        kube.create(GIZMO_CRD)
        eventually(lambda: _established(kube))
        yield
        kube.delete("customresourcedefinitions", GIZMO_CRD["metadata"]["name"])


@pytest.fixture
async def client(
    kubeconfig: str, namespace: str, gizmo_crd: None
) -> AsyncIterator[AsyncKubeClient]:
    async with AsyncKubeClient.from_kubeconfig(
        kubeconfig, namespace=namespace, settings=FAST
    ) as kube:
        yield kube


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


async def make_gizmo(client: AsyncKubeClient, name: str = "g1") -> dict[str, Any]:
    created = await client.create(
        {"apiVersion": f"{GROUP}/v1", "kind": KIND, "metadata": {"name": name}, "spec": {"size": 1}}
    )
    # The status subresource ignores status on create: set it the way a controller would.
    with_status: dict[str, Any] = await client.patch(
        created, {"status": {"phase": "New"}}, status=True
    )
    return with_status


async def warnings_about(client: AsyncKubeClient, name: str) -> list[dict[str, Any]]:
    events = await client.list("events")
    return [e for e in events if e["involvedObject"].get("name") == name]


async def test_the_condition_follows_a_successful_task(
    client: AsyncKubeClient, clock: ManualClock
) -> None:
    gizmo = await make_gizmo(client)
    seen_during: list[dict[str, Any] | None] = []

    async def build() -> int:
        seen_during.append(find_condition(await client.get(gizmo), "Built"))
        clock.advance(timedelta(seconds=30))
        # The spec changes while the task runs: that generation was not observed by it.
        await client.patch(gizmo, {"spec": {"size": 2}})
        return 42

    started = format_time(clock.now())
    assert await monitor_condition(client, gizmo, "Built", build, clock=clock) == 42
    assert seen_during == [
        {
            "type": "Built",
            "status": "Unknown",
            "observedGeneration": 1,
            "reason": "InProgress",
            "message": "",
            "lastTransitionTime": started,
        }
    ]
    stored = await client.get(gizmo)
    assert stored["metadata"]["generation"] == 2
    assert stored["status"]["phase"] == "New"  # the rest of the status is kept
    assert stored["status"]["conditions"] == [
        {
            "type": "Built",
            "status": "True",
            "observedGeneration": 1,
            "reason": "Succeeded",
            "message": "",
            "lastTransitionTime": format_time(clock.now()),
        }
    ]
    assert "conditions" not in gizmo.get("status", {})  # the caller's object is not modified
    assert await warnings_about(client, "g1") == []


async def test_a_failing_task_sets_false_and_records_a_warning_event(
    client: AsyncKubeClient, clock: ManualClock, namespace: str
) -> None:
    gizmo = await make_gizmo(client)
    boom = RuntimeError("compiler exploded")

    async def build() -> None:
        raise boom

    with pytest.raises(RuntimeError) as raised:
        await monitor_condition(
            client, gizmo, "Built", build, error_reason="BuildFailed", clock=clock
        )
    assert raised.value is boom and not getattr(boom, "__notes__", None)
    condition = find_condition(await client.get(gizmo), "Built")
    assert condition is not None
    assert (condition["status"], condition["reason"], condition["message"]) == (
        "False",
        "BuildFailed",
        "compiler exploded",
    )
    [event] = await warnings_about(client, "g1")
    assert event["metadata"]["name"].startswith("g1.")
    assert event["metadata"]["namespace"] == namespace
    assert event["involvedObject"] == {
        "apiVersion": f"{GROUP}/v1",
        "kind": KIND,
        "name": "g1",
        "namespace": namespace,
        "uid": gizmo["metadata"]["uid"],
        "resourceVersion": event["involvedObject"]["resourceVersion"],
    }
    assert (event["type"], event["reason"], event["message"], event["action"]) == (
        "Warning",
        "BuildFailed",
        "compiler exploded",
        "Built",
    )
    assert event["count"] == 1
    assert event["firstTimestamp"] == event["lastTimestamp"] == format_time(clock.now())
    assert event["eventTime"].startswith(format_time(clock.now())[:-1])
    assert event["reportingComponent"] == "kontinue" and event["reportingInstance"]
    assert event["source"]["component"] == "kontinue"


async def test_concurrent_monitors_on_one_object_all_get_recorded(
    client: AsyncKubeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    gizmo = await make_gizmo(client)
    conflicts = 0
    real_update_status = client.update_status

    async def counting(obj: Any, **kw: Any) -> Any:
        nonlocal conflicts
        try:
            return await real_update_status(obj, **kw)
        except Conflict:
            conflicts += 1
            raise

    monkeypatch.setattr(client, "update_status", counting)
    types = [f"Step{i}" for i in range(5)]

    async def step(i: int) -> int:
        await asyncio.sleep(0.01 * (i % 2))
        return i

    results = await asyncio.gather(
        *(
            monitor_condition(client, gizmo, kind, functools.partial(step, i))
            for i, kind in enumerate(types)
        )
    )
    assert results == list(range(5))
    assert conflicts > 0  # all started from the same resourceVersion: writes had to serialize
    stored = await client.get(gizmo)
    assert sorted(c["type"] for c in stored["status"]["conditions"]) == types
    assert {c["status"] for c in stored["status"]["conditions"]} == {"True"}


async def test_write_failures_are_reported_after_the_task_ran(client: AsyncKubeClient) -> None:
    ghost = {
        "apiVersion": f"{GROUP}/v1",
        "kind": KIND,
        "metadata": {"name": "ghost", "namespace": client.namespace},
    }
    ran: list[str] = []

    async def work() -> str:
        ran.append("yes")
        return "done"

    with pytest.raises(ConditionUpdateFailed) as failed:
        await monitor_condition(client, ghost, "Built", work)
    assert ran == ["yes"]  # the task ran although the first write failed
    assert isinstance(failed.value, KubeError)
    assert failed.value.result == "done"
    assert len(failed.value.failures) == 2 and failed.value.__cause__ is failed.value.failures[0]
    assert "Built condition" in str(failed.value) and "not found" in str(failed.value)

    async def broken() -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input") as raised:
        await monitor_condition(client, ghost, "Built", broken)
    notes = raised.value.__notes__
    assert len(notes) == 2 and all("while recording the Built condition" in n for n in notes)


async def test_event_failures_become_notes_on_the_task_error(client: AsyncKubeClient) -> None:
    class Refusing(EventRecorder):
        async def record(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            raise Forbidden(403, {"reason": "Forbidden", "message": "events are off limits"})

    gizmo = await make_gizmo(client)

    async def broken() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full") as raised:
        await monitor_condition(client, gizmo, "Built", broken, recorder=Refusing(client))
    assert [n for n in raised.value.__notes__ if "Warning event" in n] == [
        raised.value.__notes__[0]
    ]
    assert "events are off limits" in raised.value.__notes__[0]
    condition = find_condition(await client.get(gizmo), "Built")
    assert condition is not None and condition["status"] == "False"


async def test_a_cancelled_task_leaves_the_condition_unknown(client: AsyncKubeClient) -> None:
    gizmo = await make_gizmo(client)
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    monitor = asyncio.create_task(monitor_condition(client, gizmo, "Built", forever))
    await asyncio.wait_for(started.wait(), 5)
    monitor.cancel()
    with pytest.raises(asyncio.CancelledError):
        await monitor
    condition = find_condition(await client.get(gizmo), "Built")
    assert condition is not None and condition["status"] == "Unknown"
    assert await warnings_about(client, "g1") == []


async def test_a_stale_or_partial_object_is_reread_first(client: AsyncKubeClient) -> None:
    gizmo = await make_gizmo(client)
    await client.patch(gizmo, {"status": {"phase": "Moved"}}, status=True)
    by_name = {"apiVersion": f"{GROUP}/v1", "kind": KIND, "metadata": {"name": "g1"}}

    async def nothing() -> None:
        return None

    await monitor_condition(client, gizmo, "Stale", nothing)  # stale resourceVersion
    await monitor_condition(client, by_name, "Named", nothing)  # no resourceVersion at all
    stored = await client.get(gizmo)
    assert stored["status"]["phase"] == "Moved"
    assert [c["type"] for c in stored["status"]["conditions"]] == ["Stale", "Named"]
