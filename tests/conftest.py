"""Shared fixtures: one dev server per test session, a fresh namespace per test.

``--kontinue-kubeconfig PATH`` (or ``KONTINUE_KUBECONFIG``, an option of kontinue's pytest plugin)
points the whole suite at an existing cluster instead of the embedded server (tests that need the
dev server's internals are skipped there).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kontinue.testing.plugin import cluster_kubeconfig

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def devserver(request: pytest.FixtureRequest) -> Iterator[object | None]:
    """The in-process dev server, or None when testing a real cluster."""
    if cluster_kubeconfig(request.config):
        yield None
        return
    from kontinue.devserver import DevServerSettings, DevServerThread

    # No Job controller and no pod runner: tests of status handling write Job and Pod status by
    # hand (their pods have no command); the controllers have their own servers in
    # tests/e2e/test_job_controller.py and tests/e2e/test_pod_runner.py.
    settings = DevServerSettings.ephemeral(bookmark_interval=0.2, run_jobs=False, run_pods=False)
    with DevServerThread(settings) as thread:
        yield thread


@pytest.fixture(scope="session")
def kubeconfig(request: pytest.FixtureRequest, devserver: object | None) -> str:
    given = cluster_kubeconfig(request.config)
    if given:
        return given
    path = devserver.server.kubeconfig_path  # type: ignore[attr-defined]
    return str(path)


@pytest.fixture(scope="session")
def api_client(kubeconfig: str) -> Iterator[object]:
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    api = client.ApiClient(configuration)
    yield api
    api.close()


@pytest.fixture
def namespace(api_client: object) -> Iterator[str]:
    """A fresh namespace, deleted after the test."""
    from kubernetes import client

    core = client.CoreV1Api(api_client)
    name = f"t-{uuid.uuid4().hex[:10]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    try:
        core.delete_namespace(name)
    except client.ApiException as exc:
        if exc.status != 404:
            raise


@pytest.fixture(scope="session")
def kubectl_binary() -> str:
    """kubectl 1.20 from the project's tools folder (scripts/install-kubectl.sh puts it there)."""
    path = ROOT / ".tools" / "bin" / "kubectl"
    if path.exists():
        return str(path)
    if os.environ.get("CI"):
        pytest.fail("kubectl is missing from .tools/bin: run scripts/install-kubectl.sh")
    found = shutil.which("kubectl")
    if found is None:
        pytest.skip("kubectl not installed (run scripts/install-kubectl.sh)")
    return found
