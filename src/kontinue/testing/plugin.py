"""The pytest plugin (installed with the package, registered as ``kontinue``).

Fixtures:

``kontinue_server``
    One embedded API server per test session, in-process, on a :class:`ManualClock`, running
    Jobs and their pods as local processes.
``kontinue_env``
    A :class:`~kontinue.testing.WorkflowEnvironment` in a fresh namespace, closed (workers
    stopped, namespace deleted) after the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from kontinue.clock import ManualClock

from ._environment import WorkflowEnvironment

__all__ = ["TestServer", "kontinue_env", "kontinue_server"]


@dataclass(frozen=True)
class TestServer:
    """The session's dev server: where its kubeconfig is, and the clock it shares."""

    __test__ = False  # not a test class, despite the name

    kubeconfig: str
    clock: ManualClock


@pytest.fixture(scope="session")
def kontinue_server() -> Iterator[TestServer]:
    """An embedded API server on a manual clock, for the whole session."""
    from kontinue.devserver import DevServerSettings, DevServerThread

    clock = ManualClock()
    settings = DevServerSettings.ephemeral(bookmark_interval=0.5)
    with DevServerThread(settings, clock=clock) as thread:
        kubeconfig = str(thread.server.kubeconfig_path)
        from kontinue.installing import install_crds
        from kontinue.kube import KubeClient

        with KubeClient.from_kubeconfig(kubeconfig) as admin:
            install_crds(admin)
        yield TestServer(kubeconfig, clock)


@pytest.fixture
def kontinue_env(kontinue_server: TestServer) -> Iterator[WorkflowEnvironment]:
    """A fresh namespace with helpers to run workers, start executions and move time."""
    from kontinue.kube import KubeClient

    namespace = f"kt-{uuid.uuid4().hex[:10]}"
    with KubeClient.from_kubeconfig(kontinue_server.kubeconfig) as admin:
        admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        env = WorkflowEnvironment(kontinue_server.kubeconfig, namespace, kontinue_server.clock)
        try:
            yield env
        finally:
            env.close()
            admin.delete("namespaces", namespace)
