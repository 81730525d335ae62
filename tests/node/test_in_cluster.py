"""A worker deployed as a pod: in-cluster configuration for real.

The worker process runs under the node agent with nothing but what a kubelet gives a pod: the
ServiceAccount token, CA and namespace mounted at the standard path, and
``KUBERNETES_SERVICE_HOST``/``PORT``. Its ServiceAccount is bound only to kontinue's worker Role,
so kube-apiserver also proves that Role is enough for a worker started this way.
"""

from __future__ import annotations

import os
import sys

import pytest

from kontinue.api import ExecutionPhase
from kontinue.client import Client
from kontinue.installing import install_crds
from kontinue.kube import KubeClient
from kontinue.kube.logs import pod_log_lines
from kontinue.roles import WORKER_ACCOUNT, worker_rbac
from kontinue.testing import eventually

from .cluster import ROOT, ControlPlane
from .test_node_agent import pod


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting the token at its path needs root")
@pytest.mark.timeout(180)
def test_a_worker_in_a_pod_runs_executions_with_in_cluster_configuration(
    admin: KubeClient, control_plane: ControlPlane, ns: str
) -> None:
    install_crds(admin)
    for obj in worker_rbac(ns):
        admin.create(obj, namespace=ns)
    container = {
        "name": "worker",
        "image": "kontinue-worker",
        # no --kubeconfig, no -n: the pod's service account says where and who
        "command": [sys.executable, "-m", "kontinue.cli", "worker", "examples.hello:worker"],
        "env": [{"name": "PYTHONPATH", "value": str(ROOT)}],
    }
    admin.create(
        pod("worker", container, serviceAccountName=WORKER_ACCOUNT, restartPolicy="Always"),
        namespace=ns,
    )
    try:
        _run(admin, control_plane, ns)
    except BaseException:
        lines = [e.output for e in pod_log_lines(admin, "worker", namespace=ns) if not e.closed]
        print("worker pod log:\n" + "\n".join(lines[-40:]))
        raise
    finally:
        admin.delete("pods", "worker", namespace=ns)


def _run(admin: KubeClient, control_plane: ControlPlane, ns: str) -> None:
    with Client.from_kubeconfig(control_plane.kubeconfig, namespace=ns) as client:
        eventually(
            lambda: any(f.spec.name == "hello" for f in client.functions()),
            timeout=60,
            what="the pod's worker publishing its functions",
        )
        done = client.spawn_and_wait("hello", {"name": "pod"}, wait_timeout=60)
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status
    assert "hello pod" in str(done.status.result)
    lease = admin.get("leases", "kontinue-worker-examples", namespace=ns)
    assert lease["spec"]["holderIdentity"]  # the pod's worker leads its group
