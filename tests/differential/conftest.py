"""Fixtures of the differential tests: the dev server (in-process) beside kube-apiserver.

The upstream server is the cluster of ``--kontinue-kubeconfig`` / ``KONTINUE_KUBECONFIG``
(``scripts/test.sh`` passes its local control plane in the second pass); without one every test
here is skipped with one line. Each test gets a namespace of the same name on both servers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kontinue.testing import eventually
from kontinue.testing.plugin import cluster_kubeconfig

from .crds import GADGET_CRD, GADGET_NAME
from .harness import Both, Endpoint

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
GADGET_URL = f"{CRDS}/{GADGET_NAME}"
NO_CLUSTER = (
    "differential tests compare the dev server with kube-apiserver: give a cluster with "
    "--kontinue-kubeconfig or KONTINUE_KUBECONFIG (scripts/test.sh does in its second pass)"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a cluster: one skipped test says why, the others are deselected (one line)."""
    if cluster_kubeconfig(config):
        return
    here = [item for item in items if item.path.is_relative_to(Path(__file__).parent)]
    if not here:
        return
    here[0].add_marker(pytest.mark.skip(reason=NO_CLUSTER))
    config.hook.pytest_deselected(items=here[1:])
    items[:] = [item for item in items if item not in here[1:]]


@pytest.fixture(scope="session")
def upstream_kubeconfig(request: pytest.FixtureRequest) -> str:
    given = cluster_kubeconfig(request.config)
    if not given:
        pytest.skip(NO_CLUSTER)
    return given


@pytest.fixture(scope="session")
def dev_thread(upstream_kubeconfig: str) -> Iterator[Any]:
    from kontinue.devserver import DevServerSettings, DevServerThread

    # Nothing runs Jobs or Pods on either side (spec.managedBy and an unknown schedulerName keep
    # upstream's controllers away); bookmarks every second, as kube-apiserver's watch cache.
    settings = DevServerSettings.ephemeral(bookmark_interval=1.0, run_jobs=False, run_pods=False)
    with DevServerThread(settings) as thread:
        yield thread


@pytest.fixture(scope="session")
def both(upstream_kubeconfig: str, dev_thread: Any) -> Both:
    """Both servers, with kontinue's CRDs and the Gadget CRD installed on each."""
    from kontinue.installing import install_crds
    from kontinue.kube import KubeClient

    pair = Both(
        Endpoint("dev", str(dev_thread.server.kubeconfig_path)),
        Endpoint("kube", upstream_kubeconfig),
    )
    for endpoint in pair.dev, pair.kube:
        kubeconfig = str(dev_thread.server.kubeconfig_path) if endpoint is pair.dev else None
        with KubeClient.from_kubeconfig(kubeconfig or upstream_kubeconfig) as admin:
            install_crds(admin)
        endpoint.request("DELETE", GADGET_URL)
        eventually(lambda e=endpoint: e.request("GET", GADGET_URL).status == 404, timeout=30)
        created = endpoint.request("POST", CRDS, GADGET_CRD)
        assert created.status == 201, created.data
        eventually(lambda e=endpoint: _established(e.request("GET", GADGET_URL).json), timeout=30)
    return pair


def _established(crd: dict[str, Any]) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


@pytest.fixture
def ns(both: Both) -> Iterator[str]:
    """A namespace of the same (fresh) name on both servers, deleted afterwards."""
    name = f"d-{uuid.uuid4().hex[:10]}"
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    for reply in both.request("POST", "/api/v1/namespaces", body):
        assert reply.status == 201, reply.data
    # upstream's controllers add these a moment later: lists and watches compare with them there
    wait_for_default_account(both, name)
    yield name
    both.request("DELETE", f"/api/v1/namespaces/{name}")


def wait_for_default_account(both: Both, namespace: str) -> None:
    """Until both servers' controllers made the namespace's ``default`` ServiceAccount (pods
    need it upstream) and its root CA ConfigMap."""
    for endpoint in both.dev, both.kube:
        for path in ("serviceaccounts/default", "configmaps/kube-root-ca.crt"):
            url = f"/api/v1/namespaces/{namespace}/{path}"
            eventually(lambda e=endpoint, u=url: e.request("GET", u).status == 200, timeout=30)


@pytest.fixture(autouse=True)
def _soft() -> Iterator[None]:
    """Under ``DIFF_SOFT=1``: fail once with every divergence the test recorded."""
    from . import harness

    yield
    if harness.SOFT:
        found = list(harness.SOFT)
        harness.SOFT.clear()
        pytest.fail("\n\n".join(found), pytrace=False)
