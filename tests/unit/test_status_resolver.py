"""The status resolver against a scripted client: identity rules, re-watching, clean-up.

The end-to-end suite covers the happy paths against the dev server; here a fake client scripts
what a real server only does under duress (expired histories, broken streams, failing lists).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from typing import Any, cast

import pytest
from pydantic import BaseModel, ConfigDict, Field

import kontinue.kube.status
from kontinue.clock import ManualClock, format_time
from kontinue.kube._core import WatchEvent
from kontinue.kube.errors import ConnectionFailed, Gone, NotFound
from kontinue.kube.resources import ResourceInfo
from kontinue.kube.status import (
    EventType,
    Resolver,
    ResourceIdentifier,
    Status,
    WaitEvent,
    _resolver,
)

WIDGET = ResourceIdentifier("example.com/v1", "Widget", "w", "ns")
HANG = object()  # a scripted step that never completes


def widget(observed: int, generation: int = 2, rv: str = "1") -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {
            "name": "w",
            "namespace": "ns",
            "generation": generation,
            "resourceVersion": rv,
        },
        "status": {"observedGeneration": observed},
    }


def not_found() -> NotFound:
    return NotFound(404, {"reason": "NotFound", "message": "not found"})


class FakeClient:
    """Just what the resolver uses of AsyncKubeClient, answering from scripts."""

    namespace = "home"

    def __init__(self, lists: Sequence[Any] = (), streams: Sequence[Sequence[Any]] = ()) -> None:
        self.lists = deque(lists)
        self.streams = deque(streams)
        self.objects: dict[str, Any] = {}
        self.watched: list[tuple[str, str | None, str, str]] = []
        self.open_streams = 0

    async def resource_info(self, kind: str, api_version: str | None = None) -> ResourceInfo:
        assert api_version is not None
        if kind == "Missing":
            raise not_found()
        group, _, version = api_version.rpartition("/")
        return ResourceInfo(group, version, kind, kind.lower() + "s", kind != "Namespace")

    async def get(self, ref: dict[str, Any]) -> Any:
        answer = self.objects.get(ref["metadata"]["name"])
        if answer is None:
            raise not_found()
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def list_with_version(self, kind: str, **kw: Any) -> tuple[list[Any], str]:
        step = self.lists.popleft() if self.lists else HANG
        if step is HANG:
            await asyncio.Future()
        if isinstance(step, BaseException):
            raise step
        return cast(tuple[list[Any], str], step)

    async def watch_events(
        self, kind: str, *, namespace: str | None, field_selector: str, **kw: Any
    ) -> AsyncIterator[WatchEvent]:
        self.watched.append((kind, namespace, field_selector, kw["resource_version"]))
        steps = self.streams.popleft() if self.streams else [HANG]
        self.open_streams += 1
        try:
            for step in steps:
                if step is HANG:
                    await asyncio.Future()
                elif isinstance(step, asyncio.Event):  # a gate the test opens
                    await step.wait()
                elif isinstance(step, BaseException):
                    raise step
                else:
                    yield cast(WatchEvent, step)
        finally:
            self.open_streams -= 1


def our_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("kontinue.status")]


def summary(events: list[WaitEvent]) -> list[tuple[str, str, str | None]]:
    return [
        (e.type.value, e.aggregate_status.value, e.resource.status.value if e.resource else None)
        for e in events
    ]


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_resolver, "_FIRST_RETRY", 0.001)


# Identity ----------------------------------------------------------------------------------


def test_equals_defaults_the_namespace_of_namespaced_kinds() -> None:
    bare = ResourceIdentifier("apps/v1", "Deployment", "web")
    default = ResourceIdentifier("apps/v1", "Deployment", "web", "default")
    other = ResourceIdentifier("apps/v1", "Deployment", "web", "other")
    assert bare.equals(default) and default.equals(bare)  # scope unknown: Go's rule
    assert bare.equals(default, namespaced=True)
    assert not bare.equals(other) and not bare.equals(other, namespaced=True)
    assert bare != default  # plain equality stays exact (dict keys, event matching)
    assert bare.equals(other, default_namespace="other")


def test_equals_ignores_namespaces_of_cluster_scoped_kinds_and_versions() -> None:
    node = ResourceIdentifier("v1", "Node", "n1")
    assert node.equals(ResourceIdentifier("v1", "Node", "n1", "stray"), namespaced=False)
    assert not node.equals(ResourceIdentifier("v1", "Node", "n1", "stray"))
    old = ResourceIdentifier("autoscaling/v1", "HorizontalPodAutoscaler", "h", "ns")
    new = ResourceIdentifier("autoscaling/v2", "HorizontalPodAutoscaler", "h", "ns")
    assert old.equals(new)  # one object, served at several versions
    assert not old.equals(ResourceIdentifier("other/v1", "HorizontalPodAutoscaler", "h", "ns"))
    assert not old.equals(ResourceIdentifier("autoscaling/v1", "HorizontalPodAutoscaler", "x"))
    assert not ResourceIdentifier("v1", "Pod", "a").equals(ResourceIdentifier("v1", "Secret", "a"))


class Meta(BaseModel):
    name: str
    namespace: str | None = None


class Thing(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    api_version: str = Field(alias="apiVersion")
    kind: str
    metadata: Meta


def test_identifier_of_dicts_and_models() -> None:
    assert ResourceIdentifier.of(widget(1)) == WIDGET
    thing = Thing(
        apiVersion="example.com/v1", kind="Widget", metadata=Meta(name="w", namespace="ns")
    )
    assert ResourceIdentifier.of(thing) == WIDGET
    assert ResourceIdentifier.of(
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}}
    ) == (ResourceIdentifier("v1", "Node", "n"))
    with pytest.raises(ValueError, match=r"metadata\.name"):
        ResourceIdentifier.of({"apiVersion": "v1", "kind": "Node", "metadata": {}})
    with pytest.raises(ValueError, match="kind"):
        ResourceIdentifier.of({"apiVersion": "v1", "metadata": {"name": "n"}})
    assert str(WIDGET) == "Widget.example.com/v1 ns/w"


async def test_same_resource_asks_discovery_for_the_scope() -> None:
    resolver = Resolver(FakeClient())  # type: ignore[arg-type]
    pod = ResourceIdentifier("v1", "Pod", "p")
    assert await resolver.namespaced(pod)
    assert await resolver.same_resource(pod, ResourceIdentifier("v1", "Pod", "p", "home"))
    assert not await resolver.same_resource(pod, ResourceIdentifier("v1", "Pod", "p", "default"))
    ns = ResourceIdentifier("v1", "Namespace", "x", "whatever")
    assert not await resolver.namespaced(ns)
    assert await resolver.same_resource(ns, ResourceIdentifier("v1", "Namespace", "x"))
    missing = ResourceIdentifier("x.io/v1", "Missing", "m")
    assert await resolver.same_resource(
        missing, ResourceIdentifier("x.io/v1", "Missing", "m", "home")
    )


# Fetching ----------------------------------------------------------------------------------


async def test_fetch_reports_missing_objects_as_not_found_and_failures_as_errors() -> None:
    client = FakeClient()
    client.objects = {"w": widget(1), "broken": ConnectionFailed("down")}
    resolver = Resolver(client)  # type: ignore[arg-type]
    ids = [
        WIDGET,
        WIDGET.__class__("v1", "ConfigMap", "gone"),
        WIDGET.__class__("v1", "Pod", "broken"),
    ]
    found, missing, broken = await resolver.fetch_and_resolve(ids)
    assert found.identifier == WIDGET and found.status == Status.IN_PROGRESS and found.error is None
    assert "generation is 2" in found.message
    assert missing.status == Status.NOT_FOUND and missing.error is None
    assert broken.result is None and isinstance(broken.error, ConnectionFailed)
    assert broken.status == Status.UNKNOWN and broken.message == "down"
    by_object = await resolver.fetch_and_resolve_objects([widget(2)])
    assert by_object[0].status == Status.IN_PROGRESS  # the server's copy counts, not ours


# Waiting -----------------------------------------------------------------------------------


async def test_watches_are_resumed_and_reestablished() -> None:
    client = FakeClient(
        lists=[
            ([widget(1, rv="10")], "10"),
            ConnectionFailed("down"),
            ([widget(1, rv="10")], "20"),
            ([widget(1, rv="10")], "30"),
        ],
        streams=[
            [WatchEvent("MODIFIED", widget(1, rv="11"))],  # same status: no event; ends cleanly
            [Gone(410, {"reason": "Expired"})],  # history gone: list again (which fails once)
            [
                WatchEvent("BOOKMARK", {"metadata": {"resourceVersion": "25"}}),
                ConnectionFailed("x"),
            ],
            [WatchEvent("MODIFIED", widget(2, rv="31"))],
        ],
    )
    resolver = Resolver(client)  # type: ignore[arg-type]
    events = [e async for e in resolver.wait_for_status([WIDGET], timeout=5)]
    assert summary(events) == [
        ("ResourceUpdate", "InProgress", "InProgress"),
        ("ResourceUpdate", "Unknown", "Unknown"),  # the failed list
        ("ResourceUpdate", "InProgress", "InProgress"),
        ("ResourceUpdate", "Current", "Current"),
        ("Completed", "Current", None),
    ]
    assert events[1].resource is not None and isinstance(events[1].resource.error, ConnectionFailed)
    assert [w[3] for w in client.watched[:4]] == ["10", "11", "20", "30"]
    kind, namespace, selector, _ = client.watched[0]
    assert (kind, namespace, selector) == ("example.com/v1/Widget", "ns", "metadata.name=w")
    assert not our_tasks() and client.open_streams == 0


async def test_waiting_for_deletion() -> None:
    deleted = asyncio.Event()
    client = FakeClient(
        lists=[([widget(2)], "5"), ([], "6")],
        streams=[[deleted, WatchEvent("DELETED", widget(2, rv="6"))]],
    )
    resolver = Resolver(client, desired=Status.NOT_FOUND)  # type: ignore[arg-type]
    gone = ResourceIdentifier("v1", "ConfigMap", "gone", "ns")
    events = []
    async for event in resolver.wait_for_status([WIDGET, gone], timeout=5):
        events.append(event)
        deleted.set()
    assert summary(events) == [
        ("ResourceUpdate", "InProgress", "Current"),
        ("ResourceUpdate", "InProgress", "NotFound"),
        ("ResourceUpdate", "NotFound", "NotFound"),
        ("Completed", "NotFound", None),
    ]
    assert [e.resource.identifier for e in events[:2] if e.resource] == [WIDGET, gone]


async def test_an_unserved_kind_counts_as_not_found() -> None:
    client = FakeClient(lists=[not_found()])
    resolver = Resolver(client, desired=Status.NOT_FOUND)  # type: ignore[arg-type]
    events = [e async for e in resolver.wait_for_status([WIDGET])]
    assert summary(events) == [
        ("ResourceUpdate", "NotFound", "NotFound"),
        ("Completed", "NotFound", None),
    ]


async def test_nothing_to_wait_for_completes_at_once() -> None:
    events = [e async for e in Resolver(FakeClient()).wait_for_status([])]  # type: ignore[arg-type]
    assert summary(events) == [("Completed", "Current", None)]


async def test_timeout_before_the_first_reading_aborts_with_unknown() -> None:
    client = FakeClient(lists=[HANG])
    events = [e async for e in Resolver(client).wait_for_status([WIDGET], timeout=0.05)]  # type: ignore[arg-type]
    assert summary(events) == [("Aborted", "Unknown", None)]
    assert not our_tasks()


async def test_timeout_aborts_with_the_aggregate_and_closes_the_streams() -> None:
    client = FakeClient(lists=[([widget(1)], "1")])
    resolver = Resolver(client)  # type: ignore[arg-type]
    events = [e async for e in resolver.wait_for_status([WIDGET], timeout=0.1)]
    assert summary(events) == [
        ("ResourceUpdate", "InProgress", "InProgress"),
        ("Aborted", "InProgress", None),
    ]
    assert not our_tasks() and client.open_streams == 0


async def test_stopping_early_cleans_up() -> None:
    client = FakeClient(lists=[([widget(1)], "1")])
    async with aclosing(Resolver(client).wait_for_status([WIDGET])) as events:  # type: ignore[arg-type]
        async for _ in events:
            assert await _streams_opened(client)
            assert len(our_tasks()) == 1
            break
    assert not our_tasks() and client.open_streams == 0


async def _streams_opened(client: FakeClient) -> bool:
    for _ in range(100):
        if client.open_streams:
            return True
        await asyncio.sleep(0.001)
    return False


async def test_a_bug_in_a_follower_fails_the_wait() -> None:
    client = FakeClient(lists=[TypeError("bug")])
    with pytest.raises(TypeError, match="bug"):
        async for _ in Resolver(client).wait_for_status([WIDGET]):  # type: ignore[arg-type]
            pass
    assert not our_tasks()


def test_a_negative_timeout_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="negative"):
        Resolver(FakeClient()).wait_for_status([WIDGET], timeout=-1)  # type: ignore[arg-type]


def test_event_types_are_the_go_strings() -> None:
    assert [t.value for t in EventType] == ["ResourceUpdate", "Completed", "Aborted"]


def test_status_exports() -> None:
    assert sorted(kontinue.kube.status.__all__) == [
        "Condition",
        "EventResource",
        "EventType",
        "Resolver",
        "ResourceIdentifier",
        "ResourceResult",
        "Status",
        "StatusResult",
        "SyncResolver",
        "WaitEvent",
        "aggregate_status",
        "augment_conditions",
        "compute_status",
    ]


# Time and cancellation ---------------------------------------------------------------------

POD = ResourceIdentifier("v1", "Pod", "p", "ns")


def pending_pod(created: str, rv: str = "1", scheduled: bool = False) -> dict[str, Any]:
    condition = {"type": "PodScheduled", "status": "True"}
    if not scheduled:
        condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "ns", "creationTimestamp": created, "uid": "u"},
        "status": {"phase": "Pending" if not scheduled else "Running", "conditions": [condition]},
    }


async def _next(events: Any) -> WaitEvent:
    event: WaitEvent = await asyncio.wait_for(anext(events), 5)
    return event


async def test_an_unschedulable_pod_fails_when_its_window_passes_without_an_event() -> None:
    clock = ManualClock()
    client = FakeClient(lists=[([pending_pod(format_time(clock.now()))], "1")])
    resolver = Resolver(client, clock=clock)  # type: ignore[arg-type]
    async with aclosing(resolver.wait_for_status([POD])) as events:
        first = await _next(events)
        assert first.resource is not None and first.resource.message == "Pod has not been scheduled"
        clock.advance(14)
        await asyncio.sleep(0.01)  # the timer must not fire early
        clock.advance(1)
        failed = await _next(events)  # no watch event came: the clock did it
    assert summary([first, failed]) == [
        ("ResourceUpdate", "InProgress", "InProgress"),
        ("ResourceUpdate", "Failed", "Failed"),
    ]
    assert not our_tasks()


async def test_a_newer_reading_replaces_the_timer_of_an_older_one() -> None:
    clock = ManualClock()
    created = format_time(clock.now())
    scheduled = asyncio.Event()
    client = FakeClient(
        lists=[([pending_pod(created)], "1")],
        streams=[
            [scheduled, WatchEvent("MODIFIED", pending_pod(created, "2", scheduled=True)), HANG]
        ],
    )
    resolver = Resolver(client, clock=clock)  # type: ignore[arg-type]
    async with aclosing(resolver.wait_for_status([POD])) as events:
        await _next(events)
        scheduled.set()
        running = await _next(events)
        assert running.resource is not None and running.resource.status == Status.IN_PROGRESS
        assert running.resource.message == "Pod is running but is not Ready"
        clock.advance(60)
        # Nothing fires: the wait is still waiting when wait_for cancels it (which ends it).
        last = await asyncio.wait_for(anext(events), 0.1)
        assert last.type == EventType.ABORTED and last.aggregate_status == Status.IN_PROGRESS


async def test_cancelling_the_consumer_ends_the_wait_with_aborted() -> None:
    client = FakeClient(lists=[([widget(1)], "1")])
    seen: list[WaitEvent] = []
    first = asyncio.Event()

    async def consume() -> str:
        async for event in Resolver(client).wait_for_status([WIDGET]):  # type: ignore[arg-type]
            seen.append(event)
            first.set()
        return "loop ended"

    consumer = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    consumer.cancel()
    assert await consumer == "loop ended"  # as the seed's channel: an event, then the end
    assert summary(seen) == [
        ("ResourceUpdate", "InProgress", "InProgress"),
        ("Aborted", "InProgress", None),
    ]
    assert not our_tasks() and client.open_streams == 0


async def test_a_timeout_around_the_wait_ends_it_with_aborted() -> None:
    client = FakeClient(lists=[([widget(1)], "1")])
    seen: list[WaitEvent] = []
    async with asyncio.timeout(0.1):
        async for event in Resolver(client).wait_for_status([WIDGET]):  # type: ignore[arg-type]
            seen.append(event)
    assert [e.type for e in seen] == [EventType.RESOURCE_UPDATE, EventType.ABORTED]
    assert not our_tasks()
