"""Pod logs through kontinue.kube.logs, against a dev server with a fake log source."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing, closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from kontinue.devserver import ApiStatus, DevServerSettings, DevServerThread
from kontinue.kube import AsyncKubeClient, KubeClient, KubeSettings
from kontinue.kube.logs import (
    LogEvent,
    LogOptions,
    multiplex_log_lines,
    multiplex_logs,
    pod_log_lines,
    pod_logs,
)

FAST = KubeSettings(qps=0)

# Canned logs per pod name and container: three lines each, one second apart.
CANNED: dict[str, dict[str, list[str]]] = {
    "solo": {"main": ["starting", "working", "done"]},
    "pair": {"app": ["app 1", "app 2", "app 3"], "sidecar": ["side 1", "side 2", "side 3"]},
    "slow": {"main": ["tick 0", "tick 1", "tick 2", "tick 3"]},
    "endless": {"main": []},
    "endless2": {"main": []},
}


def stamp(i: int) -> str:
    """The kubelet's RFC 3339 time with nanoseconds."""
    return f"2030-01-01T00:00:{i:02d}.123456789Z"


async def _streamed(lines: list[str], endless: bool, gap: float) -> AsyncIterator[bytes]:
    """A followed log: lines written over time (forever for the ``endless`` pods)."""
    for line in lines:
        yield line.encode()
        await asyncio.sleep(gap)
    i = 0
    while endless:
        yield f"{stamp(i % 60)} beat {i}\n".encode()
        i += 1
        await asyncio.sleep(gap)


@dataclass
class FakeLogs:
    """A log source with canned lines, recording the queries it was sent."""

    queries: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    async def __call__(self, namespace: str, name: str, query: dict[str, str]) -> Any:
        self.queries.append((namespace, name, query))
        containers = CANNED.get(name, {"main": []})
        container = query.get("container") or ""
        if not container:
            if len(containers) != 1:
                raise ApiStatus.bad_request(
                    f"a container name must be specified for pod {name}, choose one of: "
                    f"[{' '.join(containers)}]"
                )
            container = next(iter(containers))
        if container not in containers:
            raise ApiStatus.bad_request(f"container {container} is not valid for pod {name}")
        timestamps = query.get("timestamps") == "true"
        lines = [
            f"{stamp(i)} {text}\n" if timestamps else f"{text}\n"
            for i, text in enumerate(containers[container])
        ]
        if "tailLines" in query:
            lines = lines[-int(query["tailLines"]) :]
        if query.get("follow") == "true":
            return _streamed(lines, endless=name.startswith("endless"), gap=0.02)
        return "".join(lines).encode()


@pytest.fixture(scope="module")
def fake_logs() -> FakeLogs:
    return FakeLogs()


@pytest.fixture(scope="module")
def log_server(fake_logs: FakeLogs) -> Iterator[str]:
    """A private dev server whose pods/log answers come from :class:`FakeLogs`."""
    settings = DevServerSettings.ephemeral(run_pods=False)  # the canned pods have no command
    with DevServerThread(settings, log_source=fake_logs) as thread:
        yield str(thread.server.kubeconfig_path)


@pytest.fixture
def pods(log_server: str, fake_logs: FakeLogs) -> Iterator[str]:
    """A fresh namespace with one pod per canned entry; yields the namespace."""
    namespace = f"logs-{uuid.uuid4().hex[:8]}"
    with KubeClient.from_kubeconfig(log_server, namespace=namespace, settings=FAST) as kube:
        kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        for name, containers in CANNED.items():
            kube.create(_pod(name, *containers))
    fake_logs.queries.clear()
    yield namespace


def _pod(name: str, *containers: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": c, "image": "busybox:1"} for c in containers]},
    }


@pytest.fixture
async def aclient(log_server: str, pods: str) -> AsyncIterator[AsyncKubeClient]:
    async with AsyncKubeClient.from_kubeconfig(log_server, namespace=pods, settings=FAST) as client:
        yield client


async def collect(events: Any) -> list[LogEvent]:
    return [event async for event in events]


async def test_one_pod_lines_then_a_closed_marker(
    aclient: AsyncKubeClient, pods: str, fake_logs: FakeLogs
) -> None:
    pod = await aclient.get("pods", "solo")
    events = await collect(pod_logs(aclient, pod))
    assert [e.output for e in events] == ["starting", "working", "done", ""]
    assert {e.pod for e in events} == {f"{pods}/solo"}
    assert {e.container for e in events} == {"main"}  # the pod's only container
    assert events[0].timestamp == datetime(2030, 1, 1, 0, 0, 0, 123456, UTC)
    assert events[-1] == LogEvent(f"{pods}/solo", "main", None, "", closed=True)
    assert not any(e.closed for e in events[:-1])
    assert fake_logs.queries == [(pods, "solo", {"timestamps": "true"})]


async def test_container_tail_and_timestamps_are_passed_through(
    aclient: AsyncKubeClient, pods: str, fake_logs: FakeLogs
) -> None:
    options = LogOptions(container="sidecar", tail_lines=2, timestamps=False)
    events = await collect(pod_logs(aclient, "pair", options))
    assert [(e.container, e.timestamp, e.output) for e in events[:-1]] == [
        ("sidecar", None, "side 2"),
        ("sidecar", None, "side 3"),
    ]
    assert events[-1].closed and events[-1].error is None
    assert fake_logs.queries == [(pods, "pair", {"container": "sidecar", "tailLines": "2"})]


async def test_failures_end_the_stream_with_an_error_event(aclient: AsyncKubeClient) -> None:
    unknown = await collect(pod_logs(aclient, "solo", LogOptions(container="nope")))
    assert len(unknown) == 1 and unknown[0].closed
    assert unknown[0].error is not None
    assert "container nope is not valid for pod solo" in unknown[0].error
    missing = await collect(pod_logs(aclient, "ghost"))
    assert len(missing) == 1 and missing[0].closed
    assert missing[0].error is not None and "not found" in missing[0].error
    ambiguous = await collect(pod_logs(aclient, "pair"))  # two containers, none chosen
    assert ambiguous[0].closed and "must be specified" in (ambiguous[0].error or "")


def test_arguments_that_are_not_pods_raise_at_once(log_server: str) -> None:
    with KubeClient.from_kubeconfig(log_server, settings=FAST) as kube:
        with pytest.raises(ValueError, match="not from a ConfigMap"):
            pod_log_lines(kube, {"kind": "ConfigMap", "metadata": {"name": "x"}})
        with pytest.raises(ValueError, match="pod name"):
            pod_log_lines(kube, "")


async def test_follow_streams_lines_as_they_are_written(
    aclient: AsyncKubeClient, pods: str, fake_logs: FakeLogs
) -> None:
    arrived: list[tuple[float, LogEvent]] = []
    loop = asyncio.get_running_loop()
    async for event in pod_logs(aclient, "slow", LogOptions(follow=True)):
        arrived.append((loop.time(), event))
    assert [e.output for _, e in arrived] == ["tick 0", "tick 1", "tick 2", "tick 3", ""]
    assert arrived[-1][1].closed and arrived[-1][1].error is None
    assert arrived[3][0] - arrived[0][0] >= 0.04  # not one buffered answer
    assert fake_logs.queries[-1] == (pods, "slow", {"follow": "true", "timestamps": "true"})


async def test_multiplexed_streams_are_tagged_and_each_closed(
    aclient: AsyncKubeClient, pods: str
) -> None:
    solo = await aclient.get("pods", "solo")
    events = await collect(multiplex_logs(aclient, [solo, "pair", "ghost"]))
    streams: dict[tuple[str, str], list[LogEvent]] = {}
    for event in events:
        streams.setdefault((event.pod, event.container), []).append(event)
    assert set(streams) == {
        (f"{pods}/solo", "main"),
        (f"{pods}/pair", "app"),
        (f"{pods}/pair", "sidecar"),
        (f"{pods}/ghost", ""),
    }
    for key, lines in streams.items():
        assert lines[-1].closed, key
        assert sum(e.closed for e in lines) == 1, key
    assert [e.output for e in streams[(f"{pods}/pair", "app")][:-1]] == ["app 1", "app 2", "app 3"]
    assert [e.output for e in streams[(f"{pods}/pair", "sidecar")][:-1]] == [
        "side 1",
        "side 2",
        "side 3",
    ]
    assert streams[(f"{pods}/solo", "main")][-1].error is None
    ghost = streams[(f"{pods}/ghost", "")]
    assert len(ghost) == 1 and "not found" in (ghost[0].error or "")
    assert events[-1].closed  # the merged stream ends after the last stream closed


async def test_multiplexing_with_a_container_reports_per_pod_errors(
    aclient: AsyncKubeClient, pods: str
) -> None:
    events = await collect(
        multiplex_logs(aclient, ["pair", "solo"], LogOptions(container="app", timestamps=False))
    )
    pair = [e for e in events if e.pod == f"{pods}/pair"]
    assert [e.output for e in pair] == ["app 1", "app 2", "app 3", ""]
    solo = [e for e in events if e.pod == f"{pods}/solo"]
    assert len(solo) == 1 and solo[0].closed and "not valid" in (solo[0].error or "")


async def test_closing_a_followed_multiplex_leaves_no_tasks(aclient: AsyncKubeClient) -> None:
    before = asyncio.all_tasks()
    seen: list[LogEvent] = []
    async with aclosing(
        multiplex_logs(aclient, ["endless", "endless2", "slow"], LogOptions(follow=True))
    ) as events:
        async for event in events:
            seen.append(event)
            if len([e for e in seen if e.output.startswith("beat")]) >= 6:
                break
    assert {e.pod.split("/")[1] for e in seen if e.output.startswith("beat")} == {
        "endless",
        "endless2",
    }
    assert asyncio.all_tasks() == before


async def test_cancelling_the_consumer_cancels_the_readers(aclient: AsyncKubeClient) -> None:
    before = asyncio.all_tasks()
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in multiplex_logs(aclient, ["endless", "endless2"], LogOptions(follow=True)):
            started.set()

    consumer = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 5)
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert asyncio.all_tasks() == before


def test_sync_pod_log_lines(log_server: str, pods: str, fake_logs: FakeLogs) -> None:
    with KubeClient.from_kubeconfig(log_server, namespace=pods, settings=FAST) as kube:
        events = list(pod_log_lines(kube, "pair", LogOptions(container="app", tail_lines=1)))
        assert [(e.pod, e.container, e.output, e.closed) for e in events] == [
            (f"{pods}/pair", "app", "app 3", False),
            (f"{pods}/pair", "app", "", True),
        ]
        assert events[0].timestamp == datetime(2030, 1, 1, 0, 0, 2, 123456, UTC)
        failed = list(pod_log_lines(kube, "solo", LogOptions(container="nope")))
        assert len(failed) == 1 and failed[0].closed and "not valid" in (failed[0].error or "")
        followed = list(pod_log_lines(kube, "slow", LogOptions(follow=True, timestamps=False)))
        assert [e.output for e in followed] == ["tick 0", "tick 1", "tick 2", "tick 3", ""]
    assert fake_logs.queries[0] == (
        pods,
        "pair",
        {"container": "app", "tailLines": "1", "timestamps": "true"},
    )


def test_sync_multiplex_log_lines(log_server: str, pods: str) -> None:
    with KubeClient.from_kubeconfig(log_server, namespace=pods, settings=FAST) as kube:
        events = list(multiplex_log_lines(kube, ["pair", "solo", "ghost"]))
        streams: dict[tuple[str, str], list[LogEvent]] = {}
        for event in events:
            streams.setdefault((event.pod.split("/")[1], event.container), []).append(event)
        assert [e.output for e in streams[("pair", "app")]] == ["app 1", "app 2", "app 3", ""]
        assert [e.output for e in streams[("solo", "main")]] == ["starting", "working", "done", ""]
        assert all(lines[-1].closed for lines in streams.values())
        assert "not found" in (streams[("ghost", "")][0].error or "")
        beats = 0
        with closing(
            multiplex_log_lines(kube, ["endless", "endless2"], LogOptions(follow=True))
        ) as followed:
            for event in followed:
                beats += event.output.startswith("beat")
                if beats >= 4:
                    break
        assert not [t for t in threading.enumerate() if t.name == "kontinue-logs"]
        with pytest.raises(ValueError, match="a pod name is needed"):
            multiplex_log_lines(kube, [""])
