"""TTL: finished trees are archived (children, suspensions, Jobs) and then deleted."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import kontinue
from kontinue.api import ExecutionPhase, ExecutionTTL, labels
from kontinue.client import Client, NodeKind
from kontinue.testing import WorkflowEnvironment, eventually

EXECUTIONS = "executions.kontinue.cloud"
ARCHIVES = "archivedexecutions.kontinue.cloud"


def _worker() -> kontinue.Worker:
    worker = kontinue.Worker(group="ttl")

    @worker.function("leaf")
    async def leaf(ktx: kontinue.ExecutionContext, args: dict) -> str:
        return str(args.get("payload", "leaf"))

    @worker.function(
        "tree",
        ttl=ExecutionTTL(archive_after=timedelta(hours=1), delete_after=timedelta(days=1)),
    )
    async def tree(ktx: kontinue.ExecutionContext) -> str:
        await ktx.execute(leaf, {})
        await ktx.suspend("go on?")
        job = await ktx.run_script("busybox", "echo archived job")
        return "done" if job.succeeded else "job failed"

    @worker.function("short-lived", ttl=ExecutionTTL(delete_after=timedelta(minutes=10)))
    async def short_lived(ktx: kontinue.ExecutionContext) -> None:
        await ktx.execute(leaf, {})

    @worker.function("big", ttl=ExecutionTTL(archive_after=timedelta(minutes=1)))
    async def big(ktx: kontinue.ExecutionContext) -> int:
        for n in range(4):
            await ktx.execute(leaf, {"payload": secrets.token_hex(300_000)}, step=f"leaf-{n}")
        return 4

    return worker


def _live(env: WorkflowEnvironment, kind: str, root: str) -> list[Any]:
    return env.kube.list(kind, label_selector=f"{labels.LABEL_ROOT}={root}")


def test_a_tree_is_archived_then_deleted(kontinue_env: WorkflowEnvironment) -> None:
    with (
        kontinue_env.running(_worker()),
        Client.from_kubeconfig(kontinue_env.kubeconfig, namespace=kontinue_env.namespace) as client,
    ):
        root = client.spawn("tree").metadata.name or ""
        suspension = kontinue_env.wait_for_suspension(root)
        kontinue_env.resume(suspension.metadata.name or "")
        done = kontinue_env.wait(root, timeout=30)
        assert done.status.result == "done", done.status
        assert len(_live(kontinue_env, EXECUTIONS, root)) == 2  # root and child
        assert len(_live(kontinue_env, "jobs.batch", root)) == 1
        kontinue_env.advance(timedelta(minutes=59))
        kontinue_env.settled()
        assert kontinue_env.kube.list(ARCHIVES) == []  # not yet
        kontinue_env.advance(timedelta(minutes=2))
        eventually(lambda: kontinue_env.kube.list(ARCHIVES))
        eventually(lambda: not _live(kontinue_env, EXECUTIONS, root))
        eventually(lambda: not _live(kontinue_env, "suspensions.kontinue.cloud", root))
        eventually(lambda: not _live(kontinue_env, "jobs.batch", root))
        [archive] = kontinue_env.kube.list(ARCHIVES)
        assert archive["status"]["phase"] == "Completed"
        assert archive["spec"]["function"] == "tree"
        archived = client.get(root)
        assert archived.status.result == "done"
        tree = client.get_tree(root)
        assert tree.is_archived()
        kinds = sorted(node.kind.value for node in tree.nodes())
        assert kinds == ["Execution", "Execution", "Job", "Suspension"]
        assert root in [e.metadata.name for e in client.list(function="tree")]
        kontinue_env.advance(timedelta(days=1))
        eventually(lambda: not kontinue_env.kube.list(ARCHIVES))


def test_delete_after_removes_the_tree_and_split_archives(
    kontinue_env: WorkflowEnvironment,
) -> None:
    with (
        kontinue_env.running(_worker()),
        Client.from_kubeconfig(kontinue_env.kubeconfig, namespace=kontinue_env.namespace) as client,
    ):
        short = client.spawn_and_wait("short-lived", wait_timeout=10).metadata.name or ""
        big = client.spawn_and_wait("big", wait_timeout=30)
        assert big.status.phase == ExecutionPhase.COMPLETED, big.status
        big_name = big.metadata.name or ""
        kontinue_env.advance(timedelta(minutes=11))
        eventually(lambda: not _live(kontinue_env, EXECUTIONS, short))
        eventually(lambda: not _live(kontinue_env, EXECUTIONS, big_name))
        parts = kontinue_env.kube.list(ARCHIVES)  # written in full before the tree went
        tree = client.get_tree(big_name)
    assert len(parts) >= 2
    assert {p["spec"]["parts"] for p in parts} == {len(parts)}
    assert tree.is_archived()
    assert len([n for n in tree.nodes() if n.kind == NodeKind.EXECUTION]) == 5
