"""Executions created from manifests (``kubectl create -f``, generateName), not by the client:
the worker that takes one labels it as the client would, so listings find it."""

from __future__ import annotations

import kontinue
from kontinue.api import API_VERSION, ExecutionPhase, labels
from kontinue.client import Client
from kontinue.testing import WorkflowEnvironment


def test_the_worker_labels_an_execution_created_from_a_manifest(
    kontinue_env: WorkflowEnvironment,
) -> None:
    worker = kontinue.Worker(group="manifests")

    @worker.function("hello-manifest")
    async def hello(ktx: kontinue.ExecutionContext) -> str:
        return "hi"

    body = {
        "apiVersion": API_VERSION,
        "kind": "Execution",
        "metadata": {"generateName": "from-yaml-", "namespace": kontinue_env.namespace},
        "spec": {"function": "hello-manifest"},
    }
    with kontinue_env.running(worker):
        created = kontinue_env.kube.create(body)
        name = created["metadata"]["name"]
        done = kontinue_env.wait(name)
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status
    assert done.metadata.labels == {
        labels.LABEL_FUNCTION: "hello-manifest",
        labels.LABEL_WORKER_GROUP: "manifests",
        labels.LABEL_ROOT: name,
    }
    with Client.from_kubeconfig(kontinue_env.kubeconfig, namespace=kontinue_env.namespace) as c:
        assert [e.metadata.name for e in c.list(function="hello-manifest")] == [name]
        assert [e.metadata.name for e in c.list(worker_group="manifests")] == [name]
