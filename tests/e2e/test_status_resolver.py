"""The status resolver against the dev server: reading statuses and waiting for them.

The dev server runs no controllers, so each test plays the controller itself: it writes the
status of Widgets (``observedGeneration``), Jobs (conditions) and Pods (phase) through the status
subresource and checks that the wait sees each change.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import pytest

from kontinue.kube import AsyncKubeClient, ConnectionFailed, KubeSettings
from kontinue.kube._transport import Connection
from kontinue.kube.status import (
    EventType,
    Resolver,
    ResourceIdentifier,
    Status,
    WaitEvent,
)
from kontinue.testing import async_eventually

from .crd_fixtures import GROUP, KIND, VERSION, widget

FAST = KubeSettings(qps=0)
WIDGET_API = f"{GROUP}/{VERSION}"


@pytest.fixture
async def kube(kubeconfig: str, namespace: str, widget_crd: str) -> AsyncIterator[AsyncKubeClient]:
    async with AsyncKubeClient.from_kubeconfig(
        kubeconfig, namespace=namespace, settings=FAST
    ) as client:
        yield client


def configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {}}


def job(name: str) -> dict[str, Any]:
    """A Job the test manages by hand: the Job controller leaves it to ``spec.managedBy``."""
    container = {"name": "main", "image": "busybox", "command": ["true"]}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "managedBy": "tests.kontinue.cloud/by-hand",
            "template": {"spec": {"containers": [container], "restartPolicy": "Never"}},
        },
    }


#: Statuses of finished Jobs as the API server accepts them (the reason comes first).
FAILED_JOB = {
    "startTime": "2030-01-01T00:00:00Z",
    "failed": 1,
    "conditions": [
        {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded"},
        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"},
    ],
}
COMPLETE_JOB = {
    "active": 0,
    "startTime": "2030-01-01T00:00:00Z",
    "completionTime": "2030-01-01T00:00:05Z",
    "succeeded": 1,
    "conditions": [
        {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached"},
        {"type": "Complete", "status": "True", "reason": "CompletionsReached"},
    ],
}


def pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        # no scheduler picks it: its status is the test's to set
        "spec": {
            "schedulerName": "tests.kontinue.cloud/nobody",
            "containers": [{"name": "main", "image": "busybox"}],
        },
    }


def condition(kind: str) -> dict[str, str]:
    return {"type": kind, "status": "True", "lastTransitionTime": "2030-01-01T00:00:00Z"}


async def set_status(kube: AsyncKubeClient, obj: dict[str, Any], status: dict[str, Any]) -> None:
    await kube.patch(obj, {"status": status}, status=True)


def ident(obj: dict[str, Any]) -> ResourceIdentifier:
    return ResourceIdentifier.of(obj)


def summary(events: list[WaitEvent]) -> list[tuple[str, str, str | None, str | None]]:
    """(type, aggregate, object name, its status) per event."""
    return [
        (
            e.type.value,
            e.aggregate_status.value,
            e.resource.identifier.name if e.resource else None,
            e.resource.status.value if e.resource else None,
        )
        for e in events
    ]


async def next_event(events: AsyncIterator[WaitEvent]) -> WaitEvent:
    return await asyncio.wait_for(anext(events), 5)


async def test_fetch_and_resolve_mixed(kube: AsyncKubeClient, namespace: str) -> None:
    cm = await kube.create(configmap("cm"))
    w = await kube.create(widget("w"))
    await set_status(kube, w, {"observedGeneration": 0})
    failed = await kube.create(job("failed"))
    await set_status(kube, failed, FAILED_JOB)
    ids = [
        ident(cm),
        ResourceIdentifier(WIDGET_API, KIND, "w"),  # namespace defaults to the client's
        ResourceIdentifier("v1", "ConfigMap", "missing"),
        ResourceIdentifier("nothing.example.com/v1", "Nothing", "x"),  # kind not served
        ResourceIdentifier("v1", "Namespace", namespace),  # cluster-scoped
        ident(failed),
    ]
    results = await Resolver(kube).fetch_and_resolve(ids)
    assert [r.identifier for r in results] == ids
    assert [r.status for r in results] == [
        Status.CURRENT,
        Status.IN_PROGRESS,
        Status.NOT_FOUND,
        Status.NOT_FOUND,
        Status.CURRENT,
        Status.FAILED,
    ]
    assert all(r.error is None for r in results)
    assert results[1].message == "Widget generation is 1, but latest observed generation is 0"
    assert results[5].message == "Job Failed. failed: 1/1"
    by_objects = await Resolver(kube).fetch_and_resolve_objects([w, cm])
    assert [r.status for r in by_objects] == [Status.IN_PROGRESS, Status.CURRENT]


async def test_an_unreachable_server_gives_errors_not_exceptions() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = KubeSettings(qps=0, retries=0, timeout=2)
    async with AsyncKubeClient(Connection(f"http://127.0.0.1:{port}"), settings) as nowhere:
        resolver = Resolver(nowhere)
        cm = ResourceIdentifier("v1", "ConfigMap", "cm", "ns")
        (result,) = await resolver.fetch_and_resolve([cm])
        assert result.result is None and isinstance(result.error, ConnectionFailed)
        assert result.status == Status.UNKNOWN
        events = [e async for e in resolver.wait_for_status([cm], timeout=0.3)]
        assert summary(events) == [
            ("ResourceUpdate", "Unknown", "cm", "Unknown"),  # retried quietly after that
            ("Aborted", "Unknown", None, None),
        ]
        assert events[0].resource and isinstance(events[0].resource.error, ConnectionFailed)


async def test_wait_reports_changes_until_completed(kube: AsyncKubeClient) -> None:
    cm = await kube.create(configmap("cm"))
    w = await kube.create(widget("w"))
    await set_status(kube, w, {"observedGeneration": 0})
    j = await kube.create(job("j"))
    p = await kube.create(pod("p"))
    await set_status(kube, p, {"phase": "Running"})
    resolver = Resolver(kube)
    async with aclosing(resolver.wait_for_status_of_objects([cm, w, j, p], timeout=10)) as events:
        initial = [await next_event(events) for _ in range(4)]
        assert summary(initial) == [
            ("ResourceUpdate", "InProgress", "cm", "Current"),
            ("ResourceUpdate", "InProgress", "w", "InProgress"),
            ("ResourceUpdate", "InProgress", "j", "InProgress"),
            ("ResourceUpdate", "InProgress", "p", "InProgress"),
        ]
        assert initial[2].resource and initial[2].resource.message == "Job not started"

        await kube.patch(cm, {"data": {"a": "1"}})  # no change of status: no event
        await set_status(kube, w, {"observedGeneration": 1, "phase": "Ready"})
        assert summary([await next_event(events)]) == [
            ("ResourceUpdate", "InProgress", "w", "Current")
        ]
        await set_status(kube, j, {"startTime": "2030-01-01T00:00:00Z", "active": 1})
        update = await next_event(events)
        assert summary([update]) == [("ResourceUpdate", "InProgress", "j", "Current")]
        await set_status(kube, j, COMPLETE_JOB)
        update = await next_event(events)  # still Current, but a new message
        assert update.resource and update.resource.message == "Job Completed. succeeded: 1/1"
        await set_status(kube, p, {"conditions": [condition("Ready")]})
        rest = [await next_event(events), await next_event(events)]
        assert summary(rest) == [
            ("ResourceUpdate", "Current", "p", "Current"),
            ("Completed", "Current", None, None),
        ]
        with pytest.raises(StopAsyncIteration):
            await next_event(events)


async def test_wait_completes_at_once_when_already_current(kube: AsyncKubeClient) -> None:
    cm = await kube.create(configmap("cm"))
    events = [e async for e in Resolver(kube).wait_for_status([ident(cm)], timeout=5)]
    assert summary(events) == [
        ("ResourceUpdate", "Current", "cm", "Current"),
        ("Completed", "Current", None, None),
    ]


async def test_timeout_aborts_with_the_aggregate(kube: AsyncKubeClient) -> None:
    cm = await kube.create(configmap("cm"))
    j = await kube.create(job("j"))
    await set_status(kube, j, FAILED_JOB)
    started = time.monotonic()
    events = [e async for e in Resolver(kube).wait_for_status_of_objects([cm, j], timeout=0.5)]
    assert 0.4 < time.monotonic() - started < 3
    assert summary(events) == [
        ("ResourceUpdate", "Failed", "cm", "Current"),
        ("ResourceUpdate", "Failed", "j", "Failed"),
        ("Aborted", "Failed", None, None),
    ]


async def test_waiting_for_deletion(kube: AsyncKubeClient) -> None:
    cm = await kube.create(configmap("cm"))
    held = await kube.create(
        {**widget("held"), "metadata": {"name": "held", "finalizers": ["x/y"]}}
    )
    never = ResourceIdentifier("v1", "ConfigMap", "never-existed")
    resolver = Resolver(kube, desired=Status.NOT_FOUND)
    async with aclosing(resolver.wait_for_status([ident(cm), ident(held), never], 10)) as events:
        initial = [await next_event(events) for _ in range(3)]
        assert summary(initial) == [
            ("ResourceUpdate", "InProgress", "cm", "Current"),
            ("ResourceUpdate", "InProgress", "held", "Current"),
            ("ResourceUpdate", "InProgress", "never-existed", "NotFound"),
        ]
        await kube.delete(cm)
        assert summary([await next_event(events)]) == [
            ("ResourceUpdate", "InProgress", "cm", "NotFound")
        ]
        await kube.delete(held)  # held back by its finalizer
        assert summary([await next_event(events)]) == [
            ("ResourceUpdate", "InProgress", "held", "Terminating")
        ]
        await kube.patch(held, {"metadata": {"finalizers": None}})
        assert summary([await next_event(events), await next_event(events)]) == [
            ("ResourceUpdate", "NotFound", "held", "NotFound"),
            ("Completed", "NotFound", None, None),
        ]


async def test_wait_sees_an_object_created_after_it_started(kube: AsyncKubeClient) -> None:
    later = ResourceIdentifier(WIDGET_API, KIND, "later")
    async with aclosing(Resolver(kube).wait_for_status([later], timeout=10)) as events:
        first = await next_event(events)
        assert first.resource and first.resource.status == Status.NOT_FOUND
        await kube.create(widget("later"))
        assert summary([await next_event(events), await next_event(events)]) == [
            ("ResourceUpdate", "Current", "later", "Current"),
            ("Completed", "Current", None, None),
        ]


def our_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("kontinue.status")]


async def test_cancelling_the_consumer_leaves_nothing_behind(
    kube: AsyncKubeClient, devserver: Any, namespace: str
) -> None:
    def open_watches() -> int:
        """Watches the server holds in this test's namespace (counted on the server's loop)."""
        hub = devserver.server.registry.hub

        async def count() -> int:
            streams = (w for ws in hub._watchers.values() for w in ws)
            return sum(1 for w in streams if w.namespace == namespace)

        return int(devserver.call(count()))

    w = await kube.create(widget("w"))
    await set_status(kube, w, {"observedGeneration": 0})
    cm = await kube.create(configmap("cm"))
    seen: list[WaitEvent] = []

    async def consume() -> None:
        async for event in Resolver(kube).wait_for_status_of_objects([w, cm]):
            seen.append(event)

    consumer = asyncio.create_task(consume())
    await async_eventually(lambda: len(seen) == 2, timeout=5)
    assert len(our_tasks()) == 2
    if devserver is not None:
        await async_eventually(lambda: open_watches() == 2, timeout=5)
    consumer.cancel()
    await consumer  # ended by an Aborted event, as the seed's channel, not by CancelledError
    assert not our_tasks()  # cancelled and awaited before the consumer's loop ended
    if devserver is not None:  # the server notices the closed streams at its next write
        await async_eventually(lambda: open_watches() == 0, timeout=5)
    assert [e.type for e in seen] == [EventType.RESOURCE_UPDATE] * 2 + [EventType.ABORTED]


async def test_namespace_scope_for_identity(kube: AsyncKubeClient, namespace: str) -> None:
    resolver = Resolver(kube)
    bare = ResourceIdentifier(WIDGET_API, KIND, "w")
    read_back = ResourceIdentifier.of(await kube.create(widget("w")))
    assert read_back.namespace == namespace and bare != read_back
    assert await resolver.namespaced(bare)
    assert await resolver.same_resource(bare, read_back)
    assert not await resolver.same_resource(bare, ResourceIdentifier(WIDGET_API, KIND, "w", "x"))
    ns = ResourceIdentifier("v1", "Namespace", namespace)
    assert not await resolver.namespaced(ns)
    assert await resolver.same_resource(ns, ResourceIdentifier("v1", "Namespace", namespace, "x"))
