"""Accumulators against a real API server: bootstrap, coalescing, read/write coherence, and
recovery from dropped watch connections and expired resourceVersions (410)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from kubernetes.client import V1ConfigMap

from kontinue.kube import AsyncKubeClient, Gone, KubeClient, KubeSettings, NotFound
from kontinue.kube.accumulating import Accumulator, Query, SyncAccumulator
from kontinue.testing import eventually

from .conftest import OWN
from .crd_fixtures import GROUP, PLURAL, widget

FAST = KubeSettings(qps=0)
WIDGETS = f"{PLURAL}.{GROUP}"


def _cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


@dataclass
class Snapshot:
    cms: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Typed:
    cms: list[V1ConfigMap] = field(default_factory=list)
    widgets: list[dict[str, Any]] = field(default_factory=list)


def _versions(objs: list[dict[str, Any]]) -> dict[str, str]:
    return {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in objs}


@pytest.fixture
async def client(kubeconfig: str, namespace: str) -> AsyncIterator[AsyncKubeClient]:
    async with AsyncKubeClient.from_kubeconfig(
        kubeconfig, namespace=namespace, settings=FAST
    ) as result:
        yield result


@pytest.fixture
async def other(kubeconfig: str, namespace: str) -> AsyncIterator[AsyncKubeClient]:
    """Another client: its writes reach the accumulator only through the watch."""
    async with AsyncKubeClient.from_kubeconfig(
        kubeconfig, namespace=namespace, settings=FAST
    ) as result:
        yield result


@pytest.fixture
def errors() -> list[Exception]:
    return []


@pytest.fixture
async def accumulator(
    client: AsyncKubeClient, errors: list[Exception]
) -> AsyncIterator[Accumulator]:
    async with client.watch(
        Query("cms", "configmaps", field_selector=OWN), on_error=errors.append
    ) as result:
        await asyncio.wait_for(result.changed(), 10)
        yield result


async def _eventually(check: Callable[[], Any], within: float = 10.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.01)


async def _matches_server(
    accumulator: Accumulator, client: AsyncKubeClient, within: float = 10.0
) -> Snapshot:
    """Wait until the snapshot equals the server's objects (by name and resourceVersion)."""
    snapshot = Snapshot()
    deadline = time.monotonic() + within
    while True:
        accumulator.update(snapshot)
        truth = _versions(await client.list("configmaps", field_selector=OWN))
        if _versions(snapshot.cms) == truth:
            return snapshot
        if time.monotonic() > deadline:
            raise AssertionError(f"snapshot {_versions(snapshot.cms)} != server {truth}")
        await asyncio.sleep(0.02)


# Bootstrap and coalescing ------------------------------------------------------------------


async def test_bootstrap_of_two_queries(
    client: AsyncKubeClient, other: AsyncKubeClient, widget_crd: str
) -> None:
    for name in ("c", "a", "b"):
        await other.create(_cm(name, x=name))
    for name in ("w2", "w1"):
        await other.create(widget(name, size=3))
    errors: list[Exception] = []
    async with client.watch(
        Query("cms", "configmaps", field_selector=OWN),
        Query("widgets", WIDGETS),
        on_error=errors.append,
    ) as accumulator:
        await asyncio.wait_for(accumulator.changed(), 10)
        snapshot = Typed()
        assert accumulator.update(snapshot) is True
        assert [cm.metadata and cm.metadata.name for cm in snapshot.cms] == ["a", "b", "c"]
        assert isinstance(snapshot.cms[0], V1ConfigMap) and snapshot.cms[0].data == {"x": "a"}
        assert [w["metadata"]["name"] for w in snapshot.widgets] == ["w1", "w2"]
        assert accumulator.update(snapshot) is False
    assert errors == []


async def test_a_slow_consumer_gets_the_latest_state(
    client: AsyncKubeClient, other: AsyncKubeClient, accumulator: Accumulator
) -> None:
    await other.create(_cm("counter", n="0"))
    writes = 150

    async def write() -> None:
        for i in range(1, writes + 1):
            await other.patch("configmaps", {"data": {"n": str(i)}}, name="counter")

    writer = asyncio.create_task(write())
    snapshot, seen, wakes = Snapshot(), list[int](), 0
    while not writer.done() or not seen or seen[-1] != writes:
        try:
            await asyncio.wait_for(accumulator.changed(), 5)
        except TimeoutError:
            break
        wakes += 1
        accumulator.update(snapshot)
        seen += [int(o["data"]["n"]) for o in snapshot.cms if o["metadata"]["name"] == "counter"]
        await asyncio.sleep(0.05)  # slow reconciliation
    await writer
    assert seen[-1] == writes
    assert seen == sorted(seen)  # never an older state after a newer one
    assert wakes < writes // 3  # coalesced, not one wake per event
    await _matches_server(accumulator, client)


# Read/write coherence ----------------------------------------------------------------------


async def test_writes_through_the_client_are_visible_at_once(
    client: AsyncKubeClient,
    other: AsyncKubeClient,
    accumulator: Accumulator,
    errors: list[Exception],
) -> None:
    await other.create(_cm("doomed"))
    snapshot = await _matches_server(accumulator, client)
    created = await client.create(_cm("mine", v="1"))
    accumulator.update(snapshot)  # no await in between: the watch cannot have delivered it
    assert {o["metadata"]["name"] for o in snapshot.cms} == {"doomed", "mine"}
    created["data"]["v"] = "2"
    updated = await client.update(created)
    await client.patch("configmaps", {"data": {"v": "3"}}, name="mine")
    await client.delete("configmaps", "doomed")
    accumulator.update(snapshot)
    assert [(o["metadata"]["name"], o["data"]) for o in snapshot.cms] == [("mine", {"v": "3"})]
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])

    # Until the watch has delivered everything (a later object shows up), no snapshot may
    # show an older "mine" or bring "doomed" back.
    await other.create(_cm("marker"))
    while True:
        await asyncio.wait_for(accumulator.changed(), 10)
        accumulator.update(snapshot)
        names = [o["metadata"]["name"] for o in snapshot.cms]
        assert "doomed" not in names
        assert next(o["data"] for o in snapshot.cms if o["metadata"]["name"] == "mine") == {
            "v": "3"
        }
        if "marker" in names:
            break
    assert errors == []


def test_sync_accumulator_is_coherent_without_its_loop(kubeconfig: str, namespace: str) -> None:
    errors: list[Exception] = []
    with (
        KubeClient.from_kubeconfig(kubeconfig, namespace=namespace, settings=FAST) as client,
        KubeClient.from_kubeconfig(kubeconfig, namespace=namespace, settings=FAST) as other,
        client.watch(
            Query("cms", "configmaps", field_selector=OWN), on_error=errors.append
        ) as accumulator,
    ):
        assert isinstance(accumulator, SyncAccumulator)
        assert accumulator.changed(timeout=10) is True
        assert accumulator.changed(timeout=0.05) is False
        snapshot = Snapshot()
        assert accumulator.update(snapshot) is True and snapshot.cms == []

        # Freeze the accumulator's event loop: no watch event can be processed now.
        frozen, release = threading.Event(), threading.Event()

        def freeze() -> None:
            frozen.set()
            release.wait(10)

        accumulator._loop.call_soon_threadsafe(freeze)
        assert frozen.wait(5)
        try:
            client.create(_cm("a", v="1"))
            client.patch("configmaps", {"data": {"v": "2"}}, name="a")
            client.with_namespace(namespace).create(_cm("b"))
            client.delete("configmaps", "b")
            assert accumulator.changed(timeout=0) is True
            assert accumulator.update(snapshot) is True
            assert [(o["metadata"]["name"], o["data"]) for o in snapshot.cms] == [("a", {"v": "2"})]
        finally:
            release.set()
        other.create(_cm("marker"))

        def caught_up() -> bool:
            accumulator.update(snapshot)
            names = [o["metadata"]["name"] for o in snapshot.cms]
            assert "b" not in names and snapshot.cms[0]["data"] == {"v": "2"}
            return "marker" in names

        eventually(caught_up)
    assert errors == []


# Recovery ----------------------------------------------------------------------------------


def _write_behind_its_back(devserver: Any, namespace: str, *, compact: bool) -> None:
    """End every watch stream and change objects before anyone can reconnect (one step on
    the server's loop); with ``compact``, also forget the history a resume would need."""

    async def act() -> None:
        registry = devserver.server.registry
        rt = registry.catalog.by_key("/configmaps")
        registry.hub.close_all()
        registry.create(rt, "v1", namespace, _cm("born-offline"))
        registry.update(rt, "v1", namespace, "keep", _cm("keep", v="offline"))
        registry.delete(rt, "v1", namespace, "drop")
        if compact:
            registry.store.compact(registry.store.rv)

    devserver.call(act())


@pytest.fixture
def server(devserver: Any) -> Any:
    if devserver is None:
        pytest.skip("needs the embedded dev server's internals")
    return devserver


@pytest.mark.parametrize("compact", [False, True], ids=["disconnect", "gone"])
async def test_recovers_from_lost_streams(
    compact: bool,
    client: AsyncKubeClient,
    other: AsyncKubeClient,
    errors: list[Exception],
    server: Any,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dropped stream resumes from the last resourceVersion; an expired one (410) re-lists
    and diffs. Neither is reported to on_error: both are the normal life of a watch."""
    lists, watches = [], []
    list_with_version, watch_events = client.list_with_version, client.watch_events

    async def counted_list(kind: str, **options: Any) -> Any:
        lists.append(kind)
        return await list_with_version(kind, **options)

    def counted_watch(kind: str, **options: Any) -> Any:
        watches.append(options["resource_version"])
        return watch_events(kind, **options)

    monkeypatch.setattr(client, "list_with_version", counted_list)
    monkeypatch.setattr(client, "watch_events", counted_watch)
    for name in ("keep", "drop"):
        await other.create(_cm(name, v="0"))
    async with client.watch(
        Query("cms", "configmaps", field_selector=OWN), on_error=errors.append
    ) as accumulator:
        await _matches_server(accumulator, other)
        lists.clear()
        watches.clear()
        _, version = await other.list_with_version("configmaps")

        await asyncio.to_thread(_write_behind_its_back, server, namespace, compact=compact)
        snapshot = await _matches_server(accumulator, other)
        assert [(o["metadata"]["name"], o["data"]) for o in snapshot.cms] == [
            ("born-offline", {}),
            ("keep", {"v": "offline"}),
        ]
        changed, deltas = accumulator.update_with_deltas(snapshot)
        assert not changed and deltas == []
        if compact:
            assert lists == ["configmaps"]  # the resume was refused, so it listed again
            with pytest.raises(Gone):
                async for _ in other.watch_events("configmaps", resource_version=version):
                    pass
        else:
            assert lists == [] and watches[0] and int(watches[0]) <= int(version)

        # And it keeps watching afterwards.
        await other.create(_cm("after"))
        await _matches_server(accumulator, other)
    assert errors == []


async def test_failures_are_reported_and_retried(client: AsyncKubeClient) -> None:
    errors: list[Exception] = []
    async with client.watch(Query("things", "nosuchthings"), on_error=errors.append):
        await _eventually(lambda: len(errors) >= 2)
    assert all(isinstance(e, NotFound) for e in errors)
    assert "'things'" in "".join(errors[0].__notes__)
