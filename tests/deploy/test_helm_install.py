"""From zero to running on a real cluster, with Helm: ``helm install`` -> Deployment -> pod (in
a namespace enforcing the restricted Pod Security Standard, which the chart's security context
passes) -> the node agent runs ``kontinue worker`` with the pod's projected service-account token
and namespace mounted as a kubelet mounts them -> the worker runs with in-cluster configuration
under the chart's Role -> an execution started from the CLI completes; ``helm upgrade`` rolls the
worker while an execution waits, and it completes on the new pod; ``helm uninstall`` removes
every object of the release, while executions (the namespace's data) stay.

The node agent runs containers as host processes and pulls no image: the chart's
``worker.command`` points at this checkout's virtualenv instead of the image's ``kontinue``, and
``PYTHONPATH`` at the checkout (an image has both installed; deploy/image builds one). Needs the
upstream control plane with its node agent (scripts/test.sh's second pass, KONTINUE_KUBECONFIG)
and root (the agent mounts the token at /var/run/secrets/... in the pod's mount namespace).

The release installs the whole chart, cluster-wide objects included: the test session installed
kontinue's CRDs and ClusterRoles without Helm, so it takes them over (``--take-ownership``, as a
user who ran ``kontinue install --apply`` first would); uninstalling keeps the CRDs and deletes
the ClusterRoles, which the test puts back as the session had them (tests run one at a time).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kontinue.api import ExecutionPhase, crd_manifests
from kontinue.client import Client
from kontinue.installing import CRDS, install_crds
from kontinue.kube import KubeClient, NotFound
from kontinue.roles import USER_ROLE, VIEWER_ROLE, cluster_roles
from kontinue.testing import eventually
from kontinue.testing.plugin import cluster_kubeconfig

from .conftest import CHART, ROOT, Helm

RELEASE = "shop"
WORKER = "shop-kontinue-worker"  # the chart's FULLNAME-worker for a release without "kontinue"
SELECTOR = f"app.kubernetes.io/instance={RELEASE}"
KONTINUE = Path(sys.executable).with_name("kontinue")
#: What every namespace has, made by the controller manager.
NAMESPACE_OWN = {("serviceaccounts", "default"), ("configmaps", "kube-root-ca.crt")}

JSON = dict[str, Any]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def probe(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


@pytest.fixture
def cluster(request: pytest.FixtureRequest) -> str:
    """The cluster's admin kubeconfig (its CRDs and ClusterRoles installed by the session)."""
    kubeconfig = cluster_kubeconfig(request.config)
    if kubeconfig is None:
        pytest.skip(
            "needs a real control plane with a node: runs in scripts/test.sh's upstream pass "
            "(KONTINUE_KUBECONFIG)"
        )
    if os.geteuid() != 0:
        pytest.skip("the node agent mounts a pod's service-account token at its path only as root")
    with KubeClient.from_kubeconfig(kubeconfig) as admin:
        if not admin.list("nodes"):
            pytest.skip("the cluster has no node to run the worker's pod")
    request.getfixturevalue("kontinue_server")  # kontinue's CRDs and ClusterRoles
    return kubeconfig


@pytest.fixture
def namespace(cluster: str) -> Iterator[str]:
    name = f"kd-{uuid.uuid4().hex[:10]}"
    with KubeClient.from_kubeconfig(cluster) as admin:
        # the API server's PodSecurity admission refuses pods below the restricted standard
        restricted = {"pod-security.kubernetes.io/enforce": "restricted"}
        admin.create(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": name, "labels": restricted},
            }
        )
        try:
            yield name
        finally:
            admin.delete("namespaces", name)


def worker_pods(admin: KubeClient, namespace: str) -> list[JSON]:
    return [
        pod
        for pod in admin.list("pods", namespace=namespace, label_selector=SELECTOR)
        if not pod["metadata"].get("deletionTimestamp")
    ]


def running_pod(admin: KubeClient, namespace: str, other_than: str = "") -> JSON:
    def one() -> JSON | None:
        pods = [p for p in worker_pods(admin, namespace) if p["metadata"]["name"] != other_than]
        ready = [
            p
            for p in pods
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in (p.get("status") or {}).get("conditions") or ()
            )
        ]
        return ready[0] if len(ready) == 1 else None

    found: JSON = eventually(one, timeout=120, what="one ready worker pod")
    return found


def kontinue_cli(kubeconfig: str, namespace: str, *args: str) -> str:
    done = subprocess.run(
        [str(KONTINUE), *args, "--kubeconfig", kubeconfig, "-n", namespace],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.timeout(900)
def test_helm_installs_upgrades_and_uninstalls_a_worker(
    helm: Helm, cluster: str, namespace: str
) -> None:
    first_port, second_port = free_port(), free_port()
    values = [
        "--set", "worker.target=tests.deploy.workflows:worker",
        "--set", "worker.logFormat=text",
        # the node agent runs the command from this checkout (below), which may itself be under
        # /tmp (CI clones there): the chart's emptyDir at /tmp would hide it from the pod
        "--set", "tmpDir=false",
        # the node agent runs the command on this machine: this checkout's kontinue, not an image's
        "--set-json", f'worker.command=["{KONTINUE}", "worker"]',
        "--set-json", f'worker.env=[{{"name": "PYTHONPATH", "value": "{ROOT}"}}]',
    ]  # fmt: skip
    with (
        KubeClient.from_kubeconfig(cluster) as admin,
        Client.from_kubeconfig(cluster, namespace=namespace) as client,
    ):
        try:
            installed = helm.run(
                "install", RELEASE, str(CHART), "-n", namespace, *values,
                "--set", f"metrics.port={first_port}", "--wait", "--timeout", "180s",
                "--take-ownership", "--force-conflicts",
                kubeconfig=cluster, timeout=240,
            )  # fmt: skip
            assert "STATUS: deployed" in installed.stdout
            _check(helm, admin, client, cluster, namespace, values, first_port, second_port)
        except BaseException:
            _print_worker_logs(admin, namespace)
            raise
        finally:  # the session's CRDs and ClusterRoles, as kontinue_server installed them
            install_crds(admin)
            for role in cluster_roles():
                admin.upsert(role)


def _check(
    helm: Helm,
    admin: KubeClient,
    client: Client,
    cluster: str,
    namespace: str,
    values: list[str],
    first_port: int,
    second_port: int,
) -> None:
    crds = [crd["metadata"]["name"] for crd in crd_manifests().values()]
    for crd in crds:  # taken over: now the release's, with the keep policy
        annotations = admin.get(CRDS, crd)["metadata"]["annotations"]
        assert annotations["meta.helm.sh/release-name"] == RELEASE
        assert annotations["helm.sh/resource-policy"] == "keep"
    pod = running_pod(admin, namespace)
    spec = pod["spec"]
    assert spec["serviceAccountName"] == WORKER
    # the API server's ServiceAccount admission gave the pod its projected token, as on any
    # cluster; the node agent mounted it, and the worker found no kubeconfig but in-cluster
    projected = [v for v in spec["volumes"] if v["name"].startswith("kube-api-access")]
    assert projected and "serviceAccountToken" in json.dumps(projected)

    # the worker in the pod publishes its functions and serves its probes
    eventually(
        lambda: {f.spec.name for f in client.functions()} == {"greet", "gate"},
        timeout=90,
        what="the pod's worker publishing its functions",
    )
    eventually(lambda: probe(first_port, "/readyz") == 200, timeout=30, what="/readyz 200")
    assert probe(first_port, "/healthz") == 200

    # an execution started from the CLI completes
    out = kontinue_cli(cluster, namespace, "execute", "greet", "--arg", "name=helm", "--wait")
    assert "hello helm" in out
    lease = admin.get("leases", "kontinue-worker-deployed", namespace=namespace)
    first_holder = lease["spec"]["holderIdentity"]
    assert first_holder

    # an execution waits across the rollout of the worker
    waiting = client.spawn("gate").metadata.name or ""
    eventually(
        lambda: client.get(waiting).status.phase == ExecutionPhase.SUSPENDED,
        timeout=60,
        what="the gate execution suspended",
    )
    # a new image tag, as a code change rolls out (the agent ignores images); pods of the agent
    # share the host's network, so the new one serves its probes on another port while the old
    # one still runs (the default rolling update starts the new pod first)
    upgraded = helm.run(
        "upgrade", RELEASE, str(CHART), "-n", namespace, *values, "--set", "image.tag=2",
        "--set", f"metrics.port={second_port}", "--wait", "--timeout", "180s",
        kubeconfig=cluster, timeout=240,
    )  # fmt: skip
    assert "has been upgraded" in upgraded.stdout
    old = pod["metadata"]["name"]
    new = running_pod(admin, namespace, other_than=old)
    assert new["spec"]["containers"][0]["image"] == "kontinue-worker:2"
    eventually(
        lambda: (
            [p["metadata"]["name"] for p in worker_pods(admin, namespace)]
            == [new["metadata"]["name"]]
        ),
        timeout=90,
        what="the old worker pod gone",
    )
    eventually(lambda: probe(second_port, "/readyz") == 200, timeout=60, what="new /readyz")
    eventually(
        lambda: (
            admin.get("leases", "kontinue-worker-deployed", namespace=namespace)["spec"].get(
                "holderIdentity"
            )
            not in (None, "", first_holder)
        ),
        timeout=60,
        what="the new pod's worker leading",
    )
    (suspension,) = client.suspensions(waiting)
    client.resume_suspension(suspension, {"by": "ops"})
    done = client.wait(waiting, timeout=60)
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status
    assert done.status.result == "approved by ops"

    # uninstall: nothing of the release is left; the executions are data and stay
    helm.run("uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "120s",
             kubeconfig=cluster)  # fmt: skip
    kinds = (
        "deployments", "replicasets", "pods", "poddisruptionbudgets", "serviceaccounts",
        "roles", "rolebindings", "services", "secrets", "configmaps",
    )  # fmt: skip

    def left() -> list[str]:
        names = []
        for kind in kinds:
            for obj in admin.list(kind, namespace=namespace):
                name = obj["metadata"]["name"]
                if (kind, name) not in NAMESPACE_OWN:
                    names.append(f"{kind}/{name}")
        return names

    eventually(lambda: not left(), timeout=90, what="no objects of the release left")
    for role in (USER_ROLE, VIEWER_ROLE):
        with pytest.raises(NotFound):
            admin.get("clusterroles", role)
    for crd in crds:  # kept, and with them the executions
        admin.get(CRDS, crd)
    phases = {e.metadata.name: e.status.phase for e in client.list()}
    assert set(phases.values()) == {ExecutionPhase.COMPLETED} and len(phases) == 2


def _print_worker_logs(admin: KubeClient, namespace: str) -> None:
    from kontinue.kube.logs import pod_log_lines

    for pod in admin.list("pods", namespace=namespace):
        name = pod["metadata"]["name"]
        try:
            lines = [
                e.output for e in pod_log_lines(admin, name, namespace=namespace) if not e.closed
            ]
        except Exception as error:  # a diagnostic only
            lines = [f"(no log: {error})"]
        print(f"pod {name} log:\n" + "\n".join(lines[-40:]))
