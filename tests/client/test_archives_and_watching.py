"""Archived executions answer every filter of ``list`` and ``get``; ``watch_tree`` fails as
``get_tree`` does and ends with its execution."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import kontinue
from kontinue.api import API_VERSION, ExecutionPhase, encode_archive, labels
from kontinue.client import AsyncClient, Client, TreeUpdate
from kontinue.kube import AsyncKubeClient, Forbidden, NotFound
from kontinue.testing import WorkflowEnvironment

EXECUTIONS = "executions.kontinue.cloud"


def _execution(env: WorkflowEnvironment, name: str, extra: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "Execution",
        "metadata": {
            "name": name,
            "namespace": env.namespace,
            "creationTimestamp": "2030-01-01T00:00:00Z",
            "labels": {labels.LABEL_FUNCTION: "order", **extra},
        },
        "spec": {"function": "order"},
        "status": {"phase": "Completed", "result": name},
    }


def _archive(env: WorkflowEnvironment, root: str, executions: list[dict[str, Any]]) -> None:
    data, size = encode_archive({"executions": executions, "suspensions": [], "jobs": []})
    env.admin.create(  # as the worker's TTL controller writes it
        {
            "apiVersion": API_VERSION,
            "kind": "ArchivedExecution",
            "metadata": {"name": f"{root}-archive"},
            "spec": {
                "function": "order",
                "root": root,
                "archivedAt": "2030-01-01T00:00:00Z",
                "data": data,
                "size": size,
            },
        }
    )


def test_archived_executions_answer_the_root_and_group_filters_and_get(
    kontinue_env: WorkflowEnvironment,
) -> None:
    env = kontinue_env
    group = {labels.LABEL_WORKER_GROUP: "shop"}
    root = _execution(env, "old-root", {**group, labels.LABEL_ROOT: "old-root"})
    child = _execution(
        env, "old-child", {**group, labels.LABEL_ROOT: "old-root", labels.LABEL_PARENT: "old-root"}
    )
    _archive(env, "old-root", [root, child])
    # created from a manifest before workers labelled what they adopt: no root label
    _archive(env, "manual", [_execution(env, "manual", {})])
    with Client.from_kubeconfig(env.kubeconfig, namespace=env.namespace) as client:
        names = {e.metadata.name for e in client.list()}
        assert names == {"old-root", "old-child", "manual"}
        assert {e.metadata.name for e in client.list(only_root=True)} == {"old-root", "manual"}
        assert {e.metadata.name for e in client.list(worker_group="shop")} == {
            "old-root",
            "old-child",
        }
        assert client.list(worker_group="other") == []
        assert client.get("manual").status.result == "manual"
        assert client.get("old-child").status.result == "old-child"


def _approver() -> kontinue.Worker:
    worker = kontinue.Worker(group="watching")

    @worker.function("wait-here")
    async def wait_here(ktx: kontinue.ExecutionContext) -> str:
        await ktx.suspend("ok?")
        return "done"

    return worker


async def _updates(client: AsyncClient, name: str, limit: float) -> list[TreeUpdate]:
    async def collect() -> list[TreeUpdate]:
        return [update async for update in client.watch_tree(name)]

    return await asyncio.wait_for(collect(), limit)


def test_watch_tree_ends_when_the_execution_is_deleted(kontinue_env: WorkflowEnvironment) -> None:
    env = kontinue_env

    async def scenario() -> list[TreeUpdate]:
        async with AsyncClient.from_kubeconfig(env.kubeconfig, namespace=env.namespace) as client:
            name = (await client.spawn("wait-here")).metadata.name or ""
            await asyncio.to_thread(env.wait, name, phases={ExecutionPhase.SUSPENDED})

            async def watch() -> list[TreeUpdate]:
                updates = []
                async for update in client.watch_tree(name):
                    updates.append(update)
                    if len(updates) == 1:
                        await asyncio.to_thread(env.kube.delete, EXECUTIONS, name)
                return updates

            return await asyncio.wait_for(watch(), 20)

    with env.running(_approver()):
        updates = asyncio.run(scenario())
    assert updates[0].tree is not None
    assert isinstance(updates[-1].error, NotFound)
    assert "was deleted" in str(updates[-1].error)


def test_watch_tree_raises_forbidden_as_get_tree_does(
    kontinue_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = kontinue_env

    async def scenario() -> None:
        kube = AsyncKubeClient.from_kubeconfig(env.kubeconfig, namespace=env.namespace)
        listing, versioned = kube.list, kube.list_with_version

        def refuse(kind: str) -> None:
            if kind == "jobs.batch":
                raise Forbidden(403, {"message": "jobs is forbidden", "reason": "Forbidden"})

        async def list_(kind: str, **options: Any) -> Any:
            refuse(kind)
            return await listing(kind, **options)

        async def list_with_version(kind: str, **options: Any) -> Any:
            refuse(kind)
            return await versioned(kind, **options)

        monkeypatch.setattr(kube, "list", list_)
        monkeypatch.setattr(kube, "list_with_version", list_with_version)
        async with AsyncClient.from_kube_client(kube) as client:
            name = (await client.spawn("wait-here")).metadata.name or ""
            with pytest.raises(Forbidden):
                await client.get_tree(name)
            with pytest.raises(Forbidden):
                await _updates(client, name, 5)

    with env.running(_approver()):
        asyncio.run(scenario())
