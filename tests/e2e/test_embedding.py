"""Embedding the dev server: injected clock, in-process controllers and the pods/log seam."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client, config, watch

from kontinue.clock import ManualClock
from kontinue.devserver import DevServerSettings, DevServerThread, Registry
from kontinue.devserver.storage import Change

pytestmark = pytest.mark.devserver  # tests the dev server itself

START = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)


class FakeKubelet:
    """Marks every new pod Running through the status subresource, as a node agent would."""

    def __init__(self) -> None:
        self.started = self.stopped = False
        self._pending: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self, registry: Registry) -> None:
        self.registry = registry
        self.started = True
        registry.store.subscribe(self._note)
        self._task = asyncio.get_running_loop().create_task(self._run())

    def _note(self, change: Change) -> None:
        if change.resource == "/pods" and change.type == "ADDED":
            self._pending.put_nowait((change.namespace, change.name))

    async def _run(self) -> None:
        pods = self.registry.catalog.by_key("/pods")
        assert pods is not None
        while True:
            namespace, name = await self._pending.get()
            self.registry.patch(
                pods,
                "v1",
                namespace,
                name,
                "application/merge-patch+json",
                {"status": {"phase": "Running"}},
                subresource="status",
            )

    async def stop(self) -> None:
        self.stopped = True
        if self._task is not None:
            self._task.cancel()


async def fake_logs(namespace: str, name: str, query: dict[str, str]) -> bytes:
    return f"logs of {namespace}/{name} tail={query.get('tailLines', '-')}\n".encode()


@pytest.fixture(scope="module")
def embedded() -> Iterator[tuple[DevServerThread, ManualClock, FakeKubelet]]:
    clock = ManualClock(START)
    kubelet = FakeKubelet()
    thread = DevServerThread(
        DevServerSettings.ephemeral(run_pods=False),
        clock=clock,
        log_source=fake_logs,
        controllers=[kubelet],
    )
    with thread:
        yield thread, clock, kubelet
    assert kubelet.stopped


@pytest.fixture(scope="module")
def core(embedded: tuple[DevServerThread, Any, Any]) -> client.CoreV1Api:
    configuration = client.Configuration()
    config.load_kube_config(
        config_file=str(embedded[0].server.kubeconfig_path), client_configuration=configuration
    )
    return client.CoreV1Api(client.ApiClient(configuration))


def test_timestamps_come_from_the_injected_clock(
    embedded: tuple[DevServerThread, ManualClock, Any], core: client.CoreV1Api
) -> None:
    _, clock, _ = embedded
    created = core.create_namespaced_config_map(
        "default",
        client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="clocked", finalizers=["example.com/hold"])
        ),
    )
    assert created.metadata.creation_timestamp == clock.now()
    clock.advance(timedelta(hours=5))
    core.delete_namespaced_config_map("clocked", "default")
    held = core.read_namespaced_config_map("clocked", "default")
    assert held.metadata.deletion_timestamp == START + timedelta(hours=5)


def test_controllers_act_through_the_registry(
    embedded: tuple[DevServerThread, Any, FakeKubelet], core: client.CoreV1Api
) -> None:
    assert embedded[2].started
    created = core.create_namespaced_pod(
        "default",
        {"metadata": {"name": "runner"}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}},
    )
    assert created.status.phase == "Pending"
    events = watch.Watch().stream(
        core.list_namespaced_pod,
        "default",
        field_selector="status.phase=Running",
        resource_version=created.metadata.resource_version,
        timeout_seconds=5,
    )
    first = next(iter(events))
    assert (first["type"], first["object"].metadata.name) == ("ADDED", "runner")


def test_pod_logs_come_from_the_log_source(
    embedded: tuple[DevServerThread, Any, Any], core: client.CoreV1Api
) -> None:
    core.create_namespaced_pod(
        "default",
        {"metadata": {"name": "talker"}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}},
    )
    assert core.read_namespaced_pod_log("talker", "default", tail_lines=3) == (
        "logs of default/talker tail=3\n"
    )
    with pytest.raises(client.ApiException) as err:
        core.read_namespaced_pod_log("nobody", "default")
    assert err.value.status == 404


def test_without_a_log_source_logs_are_a_clear_400(
    api_client: client.ApiClient, namespace: str
) -> None:
    api = client.CoreV1Api(api_client)  # the session's server has no pod runner attached
    api.create_namespaced_pod(
        namespace,
        {"metadata": {"name": "quiet"}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}},
    )
    with pytest.raises(client.ApiException) as err:
        api.read_namespaced_pod_log("quiet", namespace)
    assert err.value.status == 400
    assert "waiting to start" in err.value.body
