"""kontinue.kube.status.SyncResolver: the status resolver for blocking code, on a real server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from kontinue.kube import KubeClient, KubeSettings
from kontinue.kube.status import EventType, ResourceIdentifier, Status, SyncResolver

FAST = KubeSettings(qps=0)


@pytest.fixture
def kube(kubeconfig: str, namespace: str) -> Iterator[KubeClient]:
    with KubeClient.from_kubeconfig(kubeconfig, namespace=namespace, settings=FAST) as client:
        yield client


def _cm(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}


def _threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "kontinue-status"]


def test_fetch_and_wait_from_blocking_code(kube: KubeClient, namespace: str) -> None:
    created = kube.create(_cm("cm"))
    missing = ResourceIdentifier("v1", "ConfigMap", "missing")
    with SyncResolver(kube) as resolver:
        found, absent = resolver.fetch_and_resolve([ResourceIdentifier.of(created), missing])
        assert (found.status, absent.status) == (Status.CURRENT, Status.NOT_FOUND)
        assert resolver.same_resource(
            missing, ResourceIdentifier("v1", "ConfigMap", "missing", namespace)
        )
        events = list(resolver.wait_for_status_of_objects([created], timeout=30))
        assert [e.type for e in events] == [EventType.RESOURCE_UPDATE, EventType.COMPLETED]
    assert not _threads()


def test_waiting_for_deletion_while_the_script_deletes(kube: KubeClient) -> None:
    created = kube.create(_cm("doomed"))
    with SyncResolver(kube, desired=Status.NOT_FOUND) as resolver:
        assert resolver.desired == Status.NOT_FOUND
        seen = []
        for event in resolver.wait_for_status_of_objects([created], timeout=30):
            seen.append(event)
            if len(seen) == 1:
                kube.delete(created)
        assert [(e.type, e.aggregate_status) for e in seen] == [
            (EventType.RESOURCE_UPDATE, Status.IN_PROGRESS),
            (EventType.RESOURCE_UPDATE, Status.NOT_FOUND),
            (EventType.COMPLETED, Status.NOT_FOUND),
        ]
        # Leaving a wait early closes its watches; the resolver can wait again.
        kube.create(_cm("kept"))
        kept = ResourceIdentifier("v1", "ConfigMap", "kept")
        for event in resolver.wait_for_status([kept]):
            assert event.type == EventType.RESOURCE_UPDATE
            break
        aborted = list(resolver.wait_for_status([kept], timeout=0.2))
        assert aborted[-1].type == EventType.ABORTED
    assert not _threads()
