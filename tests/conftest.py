"""Shared fixtures: one dev server per test session, a fresh namespace per test.

``--kontinue-kubeconfig PATH`` (or ``KONTINUE_KUBECONFIG``, an option of kontinue's pytest plugin)
points the whole suite at an existing cluster instead of the embedded server (tests that need the
dev server's internals are skipped there).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kontinue.testing.plugin import cluster_kubeconfig

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Against a cluster, the tests of the dev server itself have nothing to test."""
    if cluster_kubeconfig(config) is None:
        return
    skip = pytest.mark.skip(reason="tests the dev server itself; the suite runs on a cluster")
    for item in items:
        if item.get_closest_marker("devserver") is not None:
            item.add_marker(skip)


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


# The machine image ships kubectl 1.27-1.33 here as kubectl.1.NN; /usr/bin/kubectl dispatches.
KUBECTL_DIR = Path("/usr/lib/google-cloud-sdk/bin")
_KUBECTL_NAME = re.compile(r"kubectl\.1\.(\d+)")


def kubectl_of_version(minor: int) -> str | None:
    """The kubectl 1.<minor> binary of this machine (1.20: the project's .tools/bin)."""
    if minor == 20:
        path = ROOT / ".tools" / "bin" / "kubectl"
    else:
        path = KUBECTL_DIR / f"kubectl.1.{minor}"
    return str(path) if os.access(path, os.X_OK) else None


def newest_kubectl() -> str | None:
    """The highest kubectl.1.NN of the machine, else ``kubectl`` on PATH."""
    minors = [
        int(match.group(1))
        for path in (KUBECTL_DIR.iterdir() if KUBECTL_DIR.is_dir() else [])
        if (match := _KUBECTL_NAME.fullmatch(path.name)) and os.access(path, os.X_OK)
    ]
    if minors:
        return str(KUBECTL_DIR / f"kubectl.1.{max(minors)}")
    return shutil.which("kubectl")


@pytest.fixture(scope="session")
def kubectl_binary() -> str:
    """The newest kubectl on the machine (tests/e2e/test_kubectl_versions.py covers 1.20 too).

    Under CI a missing kubectl fails the run instead of skipping the kubectl tests.
    """
    found = newest_kubectl()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"no kubectl: neither {KUBECTL_DIR}/kubectl.1.NN nor kubectl on PATH")
        pytest.skip("kubectl not installed")
    return found
