"""The accumulator's pure core (merging, staleness, tombstones, deltas, snapshots) and its
async loops driven by a scripted fake client (reconnects, 410, error reporting)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from kubernetes.client import V1ConfigMap
from pydantic import BaseModel

from kontinue.kube import ConnectionFailed, Gone, KubeSettings
from kontinue.kube._accumulator_core import (
    ALL_NAMESPACES,
    AccumulatorCore,
    DeltaType,
    Query,
    Target,
    fill_snapshot,
    is_newer,
    snapshot_shape,
)
from kontinue.kube._core import WatchEvent
from kontinue.kube.accumulating import Accumulator, AccumulatorClosed
from kontinue.kube.errors import error_from_response
from kontinue.kube.resources import ResourceInfo
from kontinue.kube.selectors import SelectorError
from kontinue.testing import async_eventually

CM = ("", "v1", "configmaps")


def cm(name: str, rv: int | str, uid: str = "", ns: str = "ns", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": ns,
            "resourceVersion": str(rv),
            "uid": uid or f"uid-{name}",
            "labels": labels,
        },
        "data": {"rv": str(rv)},
    }


def core(*queries: Query) -> AccumulatorCore:
    queries = queries or (Query("cms", "configmaps"),)
    result = AccumulatorCore(queries)
    for query in queries:
        namespace = None if query.namespace == ALL_NAMESPACES else (query.namespace or "ns")
        result.set_target(query.name, Target(*CM, namespace))
    return result


def view(c: AccumulatorCore, name: str = "cms") -> dict[str, str]:
    taken = c.take()
    assert taken is not None
    return {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in taken[2][name]}


def deltas(c: AccumulatorCore) -> list[tuple[str, str, str]]:
    taken = c.take()
    assert taken is not None
    return [(d.type.value, d.name, d.obj["metadata"]["resourceVersion"]) for d in taken[1]]


# Bootstrap and coalescing ------------------------------------------------------------------


def test_nothing_before_every_query_is_listed() -> None:
    c = core(Query("a", "configmaps"), Query("b", "configmaps", namespace="other"))
    c.event("a", "ADDED", cm("x", 1))  # a watch event before any list: kept, not shown
    c.relisted("a", [cm("x", 2)], "2")
    assert c.take() is None and not c.ready  # still waiting for "b"
    assert c.relisted("b", [], "2") is True  # the bootstrap itself is a change
    changed, found, views = c.take() or (None, None, None)
    assert changed is True and views == {"a": [cm("x", 2)], "b": []}
    assert [d.type for d in found or []] == [DeltaType.ADD]
    assert c.take() == (False, [], views)


def test_an_empty_bootstrap_still_counts_as_a_first_change() -> None:
    c = core()
    c.relisted("cms", [], "1")
    assert c.take() == (True, [], {"cms": []})
    assert c.generation == 1


def test_many_events_coalesce_into_the_latest_state() -> None:
    c = core()
    c.relisted("cms", [cm("a", 1), cm("b", 1)], "1")
    c.take()
    before = c.generation
    for rv in range(2, 50):
        c.event("cms", "MODIFIED", cm("a", rv))
    c.event("cms", "ADDED", cm("c", 50))
    c.event("cms", "DELETED", cm("c", 51))  # added and removed in between: not a change
    assert c.generation > before
    assert deltas(c) == [("update", "a", "49")]
    assert deltas(c) == []


def test_changes_between_takes_are_one_delta_per_object() -> None:
    c = core()
    c.relisted("cms", [cm("a", 1), cm("b", 1)], "1")
    c.take()
    for rv in range(2, 30):
        c.event("cms", "MODIFIED", cm("a", rv))
    c.event("cms", "DELETED", cm("b", 30))
    c.event("cms", "ADDED", cm("c", 31))
    assert deltas(c) == [("update", "a", "29"), ("delete", "b", "1"), ("add", "c", "31")]


def test_objects_are_sorted_by_namespace_then_name() -> None:
    c = core(Query("cms", "configmaps", namespace=ALL_NAMESPACES))
    c.relisted("cms", [cm("b", 1, ns="z"), cm("c", 2, ns="a"), cm("a", 3, ns="z")], "3")
    taken = c.take()
    assert taken is not None
    keys = [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in taken[2]["cms"]]
    assert keys == [("a", "c"), ("z", "a"), ("z", "b")]


# Read/write coherence ----------------------------------------------------------------------


def test_a_write_shows_before_its_event_and_stale_events_are_dropped() -> None:
    c = core()
    c.relisted("cms", [cm("a", 5)], "5")
    c.take()
    assert c.wrote(*CM, "ns", "a", cm("a", 10)) is True
    assert view(c) == {"a": "10"}
    assert c.event("cms", "MODIFIED", cm("a", 8)) is False  # someone's older write, late
    assert c.event("cms", "MODIFIED", cm("a", 10)) is False  # our own write's event
    assert view(c) == {"a": "10"}
    assert c.event("cms", "MODIFIED", cm("a", 11)) is True
    assert view(c) == {"a": "11"}


def test_a_write_the_watch_already_delivered_is_ignored() -> None:
    c = core()
    c.relisted("cms", [cm("a", 5)], "5")
    c.event("cms", "MODIFIED", cm("a", 6))
    c.event("cms", "DELETED", cm("a", 7))  # the watch raced ahead of the write's answer
    assert c.wrote(*CM, "ns", "a", cm("a", 6)) is False
    assert view(c) == {}


def test_writes_elsewhere_are_not_ours() -> None:
    c = core()
    c.relisted("cms", [], "1")
    assert c.wrote(*CM, "other", "a", cm("a", 2, ns="other")) is False
    assert c.wrote("", "v1", "secrets", "ns", "a", cm("a", 2)) is False
    assert c.wrote(*CM, "ns", "a", cm("a", 2)) is True
    everywhere = core(Query("cms", "configmaps", namespace=ALL_NAMESPACES))
    everywhere.relisted("cms", [], "1")
    assert everywhere.wrote(*CM, "other", "a", cm("a", 2, ns="other")) is True


def test_a_deletion_through_the_client_is_not_resurrected() -> None:
    c = core()
    c.relisted("cms", [cm("a", 5)], "5")
    c.take()
    assert c.wrote(*CM, "ns", "a", None) is True
    assert deltas(c) == [("delete", "a", "5")]
    # Someone's update made just before our delete arrives late, newer than what we saw.
    assert c.event("cms", "MODIFIED", cm("a", 6)) is False
    assert c.relisted("cms", [cm("a", 6)], "6") is False  # a list taken before the delete
    assert view(c) == {}
    assert c.event("cms", "DELETED", cm("a", 7)) is False  # confirmed: the tombstone goes
    assert c.event("cms", "ADDED", cm("a", 8, uid="new")) is True  # a new incarnation
    assert view(c) == {"a": "8"}


def test_recreating_through_the_client_survives_the_old_deletion_event() -> None:
    c = core()
    c.relisted("cms", [cm("a", 5)], "5")
    c.wrote(*CM, "ns", "a", None)
    assert c.wrote(*CM, "ns", "a", cm("a", 9, uid="second")) is True
    assert c.event("cms", "DELETED", cm("a", 7)) is False  # the first one's deletion
    assert c.event("cms", "ADDED", cm("a", 9, uid="second")) is False
    assert view(c) == {"a": "9"}


def test_a_delete_of_something_never_seen_changes_nothing() -> None:
    c = core()
    c.relisted("cms", [], "1")
    assert c.wrote(*CM, "ns", "ghost", None) is False


def test_relabelling_out_of_the_selector_hides_the_object_at_once() -> None:
    c = core(Query("cms", "configmaps", label_selector="app=web"))
    c.relisted("cms", [cm("a", 5, app="web")], "5")
    c.take()
    assert c.wrote(*CM, "ns", "a", cm("a", 6, app="db")) is True
    assert view(c) == {}
    assert c.event("cms", "MODIFIED", cm("a", 5, app="web")) is False  # late and older
    assert c.event("cms", "DELETED", cm("a", 6, app="db")) is False  # the server agrees
    assert c.wrote(*CM, "ns", "b", cm("b", 7, app="db")) is False  # never matched
    assert c.wrote(*CM, "ns", "c", cm("c", 8, app="web")) is True


def test_guards_go_once_the_watch_has_passed_them() -> None:
    c = core(Query("cms", "configmaps", label_selector="app=web"))
    c.relisted("cms", [cm("a", 5, app="web")], "5")
    c.wrote(*CM, "ns", "a", cm("a", 6, app="db"))
    c.event("cms", "BOOKMARK", {"metadata": {"resourceVersion": "5"}})
    assert "a" in {name for _, name in c._states["cms"].entries}
    c.event("cms", "BOOKMARK", {"metadata": {"resourceVersion": "6"}})
    assert c._states["cms"].entries == {} and c._states["cms"].guards == set()


def test_writes_during_the_initial_list_are_kept() -> None:
    c = core()
    c.wrote(*CM, "ns", "early", cm("early", 3))  # before the list: the list has it too
    c.wrote(*CM, "ns", "late", cm("late", 12))  # after the list was taken at 10
    c.relisted("cms", [cm("early", 3), cm("other", 9)], "10")
    assert view(c) == {"early": "3", "late": "12", "other": "9"}


def test_field_selectors_apply_to_writes() -> None:
    c = core(Query("cms", "configmaps", field_selector="metadata.name=a"))
    c.relisted("cms", [], "1")
    assert c.wrote(*CM, "ns", "b", cm("b", 2)) is False
    assert c.wrote(*CM, "ns", "a", cm("a", 3)) is True


def test_opaque_resource_versions_let_the_watch_win() -> None:
    assert is_newer("10", "9") and not is_newer("9", "10") and not is_newer("7", "7")
    assert is_newer("abc", "9") and is_newer("9", "abc") and is_newer("1", "")
    c = core()
    c.relisted("cms", [cm("a", "x1")], "x1")
    c.wrote(*CM, "ns", "a", cm("a", "x3"))
    assert c.event("cms", "MODIFIED", cm("a", "x2")) is True
    assert view(c) == {"a": "x2"}


# Re-listing --------------------------------------------------------------------------------


def test_a_relist_is_diffed_against_the_previous_state() -> None:
    c = core()
    c.relisted("cms", [cm("a", 1), cm("b", 2), cm("c", 3)], "3")
    c.take()
    c.wrote(*CM, "ns", "mine", cm("mine", 12))  # made after the list below was taken
    assert c.relisted("cms", [cm("a", 7), cm("c", 3), cm("d", 8)], "10") is True
    assert deltas(c) == [
        ("update", "a", "7"),
        ("delete", "b", "2"),
        ("add", "d", "8"),
        ("add", "mine", "12"),
    ]
    assert view(c) == {"a": "7", "c": "3", "d": "8", "mine": "12"}
    c.relisted("cms", [], "13")  # everything gone by 13, ours included
    assert view(c) == {}


# Filtered updates and deltas ---------------------------------------------------------------


def test_filtered_take_only_counts_passing_objects() -> None:
    calls: list[str] = []

    def big(obj: dict[str, Any]) -> bool:
        calls.append(obj["metadata"]["name"])
        return bool(obj["metadata"]["labels"].get("keep") == "yes")

    c = core()
    c.relisted("cms", [cm("a", 1), cm("b", 6, keep="yes")], "6")
    taken = c.take(big)
    assert taken is not None and [o["metadata"]["name"] for o in taken[2]["cms"]] == ["b"]
    assert sorted(calls) == ["a", "b"]
    calls.clear()
    c.event("cms", "MODIFIED", cm("a", 7, keep="yes"))  # now passes
    taken = c.take(big)
    assert taken is not None and [(d.type, d.name) for d in taken[1]] == [(DeltaType.ADD, "a")]
    assert calls == ["a"]  # b did not change: not asked again
    c.event("cms", "MODIFIED", cm("c", 8))  # new, fails: no change at all
    assert c.take(big) == (False, [], {"cms": taken[2]["cms"]})
    c.event("cms", "MODIFIED", cm("b", 9))  # stops passing: it leaves the snapshot
    taken = c.take(big)
    assert taken is not None and [(d.type, d.name) for d in taken[1]] == [(DeltaType.DELETE, "b")]


def test_deltas_name_query_kind_and_object() -> None:
    c = core(Query("first", "configmaps"), Query("second", "configmaps"))
    c.relisted("first", [cm("a", 1)], "1")
    c.relisted("second", [], "1")
    taken = c.take()
    assert taken is not None
    (delta,) = taken[1]
    assert (delta.type, delta.query, delta.kind, delta.namespace, delta.name) == (
        DeltaType.ADD,
        "first",
        "ConfigMap",
        "ns",
        "a",
    )
    delta.obj["data"] = {}  # deltas are copies
    assert view(c, "first") == {"a": "1"}
    taken = c.take()
    assert taken is not None and taken[2]["first"][0]["data"] == {"rv": "1"}


def test_queries_are_validated() -> None:
    with pytest.raises(ValueError, match="two queries are named 'a'"):
        AccumulatorCore([Query("a", "pods"), Query("a", "svc")])
    with pytest.raises(ValueError, match="not a valid field name"):
        AccumulatorCore([Query("my pods", "pods")])
    with pytest.raises(ValueError, match="at least one"):
        AccumulatorCore([])
    with pytest.raises(SelectorError):
        AccumulatorCore([Query("a", "pods", label_selector="tier in web")])


# Snapshots ---------------------------------------------------------------------------------


class Item(BaseModel):
    kind: str
    metadata: dict[str, Any]


@dataclass
class Typed:
    cms: list[Item] = field(default_factory=list)
    raw: list[dict[str, Any]] = field(default_factory=list)
    official: list[V1ConfigMap] | None = None


class ModelSnapshot(BaseModel):
    cms: list[dict[str, Any]] = []
    raw: list[Item] = []
    official: list[V1ConfigMap] = []


class Plain:
    def __init__(self) -> None:
        self.cms: list[Any] = []
        self.raw: list[Any] = []
        self.official: list[Any] = []


VIEWS = {"cms": [cm("a", 1)], "raw": [cm("b", 2)], "official": [cm("c", 3)]}


def test_dataclass_snapshots_get_models_where_annotated() -> None:
    snapshot = Typed()
    fill_snapshot(snapshot, snapshot_shape(snapshot, VIEWS), VIEWS)
    assert isinstance(snapshot.cms[0], Item) and snapshot.cms[0].metadata["name"] == "a"
    assert snapshot.raw == [cm("b", 2)] and snapshot.raw[0] is not VIEWS["raw"][0]
    assert snapshot.official is not None and isinstance(snapshot.official[0], V1ConfigMap)
    assert snapshot.official[0].metadata is not None
    assert snapshot.official[0].metadata.name == "c"


def test_pydantic_and_plain_snapshots() -> None:
    model = ModelSnapshot()
    fill_snapshot(model, snapshot_shape(model, VIEWS), VIEWS)
    assert model.cms == [cm("a", 1)] and isinstance(model.raw[0], Item)
    assert isinstance(model.official[0], V1ConfigMap)
    plain = Plain()
    fill_snapshot(plain, snapshot_shape(plain, VIEWS), VIEWS)
    assert plain.cms == [cm("a", 1)] and plain.official == [cm("c", 3)]


def test_a_query_without_a_field_is_named() -> None:
    @dataclass
    class Partial:
        cms: list[dict[str, Any]] = field(default_factory=list)

    with pytest.raises(TypeError, match="Partial has no field 'raw' for the query 'raw'"):
        snapshot_shape(Partial(), VIEWS)


# The async loops, against a scripted client ------------------------------------------------


class FakeClient:
    """Just what an Accumulator uses of AsyncKubeClient; each watch plays the next script."""

    settings = KubeSettings(qps=0, backoff=0.01, max_backoff=0.02)
    namespace = "ns"

    def __init__(self, lists: list[list[dict[str, Any]]], scripts: list[list[Any]]) -> None:
        self.lists, self.scripts = lists, scripts
        self.listed = 0
        self.watched_from: list[str] = []
        self.hold = asyncio.Event()  # lists wait for it
        self.hold.set()
        self.gate = asyncio.Event()  # a "gate" step of a script waits for it
        self.observers: list[Callable[..., None]] = []

    def observe_writes(self, observer: Callable[..., None]) -> Callable[[], None]:
        self.observers.append(observer)
        return lambda: self.observers.remove(observer)

    async def resource_info(self, kind: str, api_version: str | None = None) -> ResourceInfo:
        return ResourceInfo("", "v1", "ConfigMap", "configmaps", True)

    async def list_with_version(self, kind: str, **scope: Any) -> tuple[list[Any], str]:
        await self.hold.wait()
        items = self.lists[min(self.listed, len(self.lists) - 1)]
        self.listed += 1
        return items, max((i["metadata"]["resourceVersion"] for i in items), default="1")

    async def watch_events(self, kind: str, **options: Any) -> AsyncIterator[WatchEvent]:
        self.watched_from.append(options["resource_version"])
        script = self.scripts.pop(0) if self.scripts else ["wait"]
        for step in script:
            if step == "wait":
                await asyncio.Event().wait()
            elif step == "gate":
                await self.gate.wait()
            elif isinstance(step, Exception):
                raise step
            else:
                yield WatchEvent(*step)


async def test_changed_waits_for_the_bootstrap_and_coalesces() -> None:
    client = FakeClient(
        [[cm("a", 1)]],
        [["gate"] + [("MODIFIED", cm("a", rv)) for rv in range(2, 40)] + ["wait"]],
    )
    client.hold.clear()
    accumulator = Accumulator(client, [Query("cms", "configmaps")])  # type: ignore[arg-type]
    async with accumulator:
        waiter = asyncio.ensure_future(accumulator.changed())
        await asyncio.sleep(0.02)
        assert not waiter.done()  # the list has not completed
        client.hold.set()
        await waiter
        client.gate.set()
        await async_eventually(lambda: accumulator._core.stream_version("cms") == "39", timeout=2)
        await asyncio.wait_for(accumulator.changed(), 1)  # once for all 38 events
        snapshot = Plain()
        assert accumulator.update(snapshot) is True
        assert [o["metadata"]["resourceVersion"] for o in snapshot.cms] == ["39"]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(accumulator.changed(), 0.05)
    with pytest.raises(AccumulatorClosed):
        await accumulator.changed()


async def test_broken_streams_resume_and_410_relists_quietly() -> None:
    gone = error_from_response(410, b'{"kind":"Status","code":410,"reason":"Expired"}')
    assert isinstance(gone, Gone)
    client = FakeClient(
        [[cm("a", 1), cm("b", 1)], [cm("a", 9)]],
        [
            [("MODIFIED", cm("a", 2)), ("BOOKMARK", {"metadata": {"resourceVersion": "5"}})],
            [ConnectionFailed("reset by peer")],
            [gone],
        ],
    )
    errors: list[Exception] = []
    accumulator = Accumulator(client, [Query("cms", "configmaps")], on_error=errors.append)  # type: ignore[arg-type]
    async with accumulator:
        await accumulator.changed()
        await async_eventually(
            lambda: client.listed == 2 and len(client.watched_from) == 4, timeout=2
        )
        snapshot = Plain()
        changed, found = accumulator.update_with_deltas(snapshot)
        assert [o["metadata"]["name"] for o in snapshot.cms] == ["a"]
        assert changed and [(d.type, d.name) for d in found] == [(DeltaType.ADD, "a")]
    # Resumed from the bookmark after the clean end and after the reset; re-listed after 410.
    assert client.watched_from == ["1", "5", "5", "9"]
    assert len(errors) == 1 and isinstance(errors[0], ConnectionFailed)
    assert "'cms'" in "".join(errors[0].__notes__)


async def test_writes_through_the_client_are_seen_at_once() -> None:
    client = FakeClient([[cm("a", 1)]], [])
    accumulator = Accumulator(client, [Query("cms", "configmaps")])  # type: ignore[arg-type]
    async with accumulator:
        await accumulator.changed()
        written = cm("b", 4)
        (observer,) = client.observers
        observer(ResourceInfo("", "v1", "ConfigMap", "configmaps", True), "ns", "b", written)
        written["data"] = {"mutated": "by the caller"}  # the accumulator kept its own copy
        snapshot = Plain()
        accumulator.update(snapshot)
        assert [o["data"] for o in snapshot.cms] == [{"rv": "1"}, {"rv": "4"}]
        await asyncio.wait_for(accumulator.changed(), 1)
    assert client.observers == []


def test_backoff_never_overflows_after_many_failures() -> None:
    from kontinue.kube.accumulating import _Backoff

    backoff = _Backoff(0.2, 5.0)
    delays = [backoff.next() for _ in range(2000)]  # a server down for a long time
    assert max(delays) <= 5.0 and delays[-1] >= 2.5
