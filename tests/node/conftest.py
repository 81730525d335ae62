"""Fixtures of the node agent's tests: one real control plane and one agent per session.

The control plane is upstream Kubernetes built from source by scripts/controlplane.sh, so these
tests need Go: without it they are skipped (with one line), except on CI (``CI=true``), where a
missing Go is a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kontinue.kube import KubeClient, KubeSettings, NotFound
from kontinue.testing import eventually

from .cluster import ROOT, Agent, ControlPlane, node_ready

#: The first test also waits for the control plane (a cold build takes ~10 minutes).
FIRST_TEST_TIMEOUT = 1800


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here and "control_plane" in getattr(
            item, "fixturenames", ()
        ):
            item.add_marker(pytest.mark.timeout(FIRST_TEST_TIMEOUT))
            return


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """etcd, kube-apiserver, kube-controller-manager and kube-scheduler for this session."""
    if shutil.which("go") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("go is not installed: the node agent tests need the control plane")
        pytest.skip("go is not installed: no control plane for the node agent tests")
    plane = ControlPlane(tmp_path_factory.mktemp("controlplane"))
    plane.start()
    try:
        yield plane
    finally:
        plane.stop()


@pytest.fixture(scope="session")
def admin(control_plane: ControlPlane) -> Iterator[KubeClient]:
    """A client with the control plane's admin credentials."""
    client = KubeClient.from_kubeconfig(control_plane.kubeconfig, settings=KubeSettings(qps=0))
    yield client
    client.close()


@pytest.fixture(scope="session")
def agent(
    control_plane: ControlPlane, admin: KubeClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Agent]:
    """``kontinue node`` with the node's credentials, registered and Ready."""
    running = Agent(control_plane, tmp_path_factory.mktemp("agent") / "node").start()
    try:
        eventually(lambda: node_ready(admin), timeout=30, what="the node Ready")
        yield running
    finally:
        if running.process is not None and running.process.poll() is None:
            running.terminate()


@pytest.fixture
def ns(admin: KubeClient, agent: Agent) -> Iterator[str]:
    """A fresh namespace with its default ServiceAccount and CA bundle in place."""
    name = f"node-{uuid.uuid4().hex[:8]}"
    admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def ready() -> bool:
        try:
            admin.get("serviceaccounts", "default", namespace=name)
            admin.get("configmaps", "kube-root-ca.crt", namespace=name)
        except NotFound:
            return False
        return True

    eventually(ready, timeout=30, what="the namespace's service account")
    yield name
    admin.delete("namespaces", name)


@pytest.fixture(scope="session")
def kubectl() -> str:
    """A kubectl binary: the project's (.tools/bin), else one on the PATH."""
    path = ROOT / ".tools" / "bin" / "kubectl"
    if path.exists():
        return str(path)
    found = shutil.which("kubectl")
    if found is None:
        pytest.skip("kubectl not installed (run scripts/install-kubectl.sh)")
    return found
