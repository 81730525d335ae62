"""The client end to end against the dev server with a real worker (Client and AsyncClient)."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from pydantic import BaseModel, Field

import kontinue
from kontinue.api import (
    API_VERSION,
    ChildPolicy,
    Execution,
    ExecutionPhase,
    ExecutionRetry,
    ScheduledExecution,
    encode_archive,
    labels,
)
from kontinue.client import (
    AsyncClient,
    Client,
    ExecutionFailed,
    InvalidArguments,
    InvalidState,
    NodeKind,
    ResultMismatch,
    UnknownFunction,
    WaitTimeout,
)
from kontinue.kube import Forbidden, NotFound
from kontinue.testing import WorkflowEnvironment, eventually


class Order(BaseModel):
    item: str = Field(description="What to order")
    quantity: int = Field(default=1, ge=1)
    express: bool = False


class Receipt(BaseModel):
    item: str
    total: int


class Approval(BaseModel):
    approved: bool


def _worker() -> kontinue.Worker:
    worker = kontinue.Worker(group="client")

    @worker.function("order")
    async def order(ktx: kontinue.ExecutionContext, args: Order) -> Receipt:
        return Receipt(item=args.item, total=args.quantity * 10)

    @worker.function("approve")
    async def approve(ktx: kontinue.ExecutionContext) -> bool:
        decision = await ktx.suspend("ok?", data=Approval)
        return decision.approved

    @worker.function("chain")
    async def chain(ktx: kontinue.ExecutionContext) -> list[bool]:
        await ktx.run_script("busybox", "echo line one; echo line two")
        return list(await asyncio.gather(ktx.execute(approve), ktx.execute(approve)))

    @worker.function("fail")
    async def fail(ktx: kontinue.ExecutionContext) -> None:
        raise kontinue.NonRetryableError("nope")

    @worker.function("internal", hidden=True)
    async def internal(ktx: kontinue.ExecutionContext) -> None:
        return None

    return worker


@pytest.fixture
def client(kontinue_env: WorkflowEnvironment) -> Client:
    with (
        kontinue_env.running(_worker()),
        Client.from_kubeconfig(kontinue_env.kubeconfig, namespace=kontinue_env.namespace) as client,
    ):
        yield client


def test_spawn_merges_defaults_validates_and_parses_results(client: Client) -> None:
    done = client.spawn_and_wait("order", {"item": "tea"}, wait_timeout=10)
    assert done.spec.arguments == {"item": "tea", "quantity": 1, "express": False}
    assert client.parse_result(done, Receipt) == Receipt(item="tea", total=10)
    typed = client.spawn_and_wait("order", Order(item="cake", quantity=3), name="cake-order")
    assert typed.metadata.name == "cake-order"
    assert typed.metadata.labels[labels.LABEL_FUNCTION] == "order"
    with pytest.raises(ResultMismatch, match="is not a Approval"):
        client.parse_result(typed, Approval)
    before = len(client.list())
    with pytest.raises(InvalidArguments, match="quantity: 0 is less than the minimum of 1"):
        client.spawn("order", {"item": "tea", "quantity": 0})
    with pytest.raises(InvalidArguments, match=r"\(root\): 'item' is a required property"):
        client.spawn("order", {})
    with pytest.raises(UnknownFunction, match=r"no function 'ordr'.*published: .*order"):
        client.spawn("ordr", {})
    assert len(client.list()) == before  # nothing was created


def test_list_filters_children_and_failures(client: Client) -> None:
    ok = client.spawn_and_wait("order", {"item": "a"})
    bad = client.spawn_and_wait("fail")
    assert bad.status.phase == ExecutionPhase.FAILED
    with pytest.raises(ExecutionFailed, match="failed: nope"):
        client.parse_result(bad)
    names = [e.metadata.name for e in client.list(function="order")]
    assert ok.metadata.name in names and bad.metadata.name not in names
    failed = client.list(phases=[ExecutionPhase.FAILED])
    assert [e.metadata.name for e in failed] == [bad.metadata.name]
    assert {e.metadata.name for e in client.list(only_root=True)} >= {ok.metadata.name}
    assert client.list(worker_group="other") == []
    assert client.children(ok) == []
    with pytest.raises(NotFound):
        client.get("missing")
    # not in "default" (where a user of a cluster with RBAC may not even look)
    with pytest.raises((NotFound, Forbidden)):
        client.with_namespace("default").get(ok.metadata.name or "")


def _wait_suspended(client: Client, name: str) -> Execution:
    return eventually(
        lambda: (e := client.get(name)).status.phase == ExecutionPhase.SUSPENDED and e,
        timeout=10,
        what=f"{name} to be suspended",
    )


def test_cancel_skip_retry_and_their_preconditions(client: Client) -> None:
    waiting = client.spawn("approve")
    with pytest.raises(WaitTimeout, match="still"):
        client.wait(waiting, timeout=1)
    client.cancel(waiting, message="not today")
    canceled = client.wait(waiting, timeout=10)
    assert canceled.status.phase == ExecutionPhase.CANCELED
    assert canceled.status.message == "not today"
    with pytest.raises(InvalidState, match="already ended"):
        client.cancel(canceled)
    retried = client.retry(canceled, child_policy=ChildPolicy.RETRY_FAILED)
    assert retried.spec.rerun is not None and retried.spec.rerun.count == 1
    with pytest.raises(InvalidState, match=r"already pending|only Failed or Canceled"):
        client.retry(retried)
    again = _wait_suspended(client, waiting.metadata.name or "")
    assert again.status.attempt == 2  # the canceled execution runs again
    skipped = client.spawn("approve")
    client.skip(skipped, result=True, message="approved by phone")
    assert client.parse_result(client.wait(skipped, timeout=10), bool) is True
    done = client.spawn_and_wait("order", {"item": "x"})
    with pytest.raises(InvalidState, match="only Failed or Canceled"):
        client.retry(done)


def test_suspensions_resume_and_tree(client: Client, kontinue_env: WorkflowEnvironment) -> None:
    root = client.spawn("chain")
    kontinue_env.wait(
        root.metadata.name or "",
        phases={ExecutionPhase.EXECUTING},
        until=lambda ex: len(ex.status.steps) == 3,
        timeout=30,
    )
    children = client.children(root)
    assert len(children) == 2
    for child in children:
        kontinue_env.wait(child.metadata.name or "", phases={ExecutionPhase.SUSPENDED})
    [first] = client.suspensions(children[0])
    assert client.get_suspension(first.metadata.name or "").is_waiting
    with pytest.raises(InvalidArguments, match="approved: 'yes' is not of type 'boolean'"):
        client.resume_suspension(first, {"approved": "yes"})
    with pytest.raises(InvalidState, match="no waiting suspension of its own"):
        client.resume_execution(root)
    resumed = client.resume_execution(root, recursive=True, data={"approved": True}, by="ana")
    assert len(resumed) == 2
    done = client.wait(root, timeout=10)
    assert client.parse_result(done, list[bool]) == [True, True]
    with pytest.raises(InvalidState, match="not Waiting"):
        client.resume_suspension(first, {"approved": True})
    tree = client.get_tree(root.metadata.name or "")
    assert not tree.is_archived()
    kinds = [(depth, node.kind) for depth, node in tree.root.walk()]
    assert kinds[0] == (0, NodeKind.EXECUTION)
    assert sorted(k for d, k in kinds if d == 1) == [
        NodeKind.EXECUTION,
        NodeKind.EXECUTION,
        NodeKind.JOB,
    ]
    assert [k for d, k in kinds if d == 2] == [NodeKind.SUSPENSION, NodeKind.SUSPENSION]
    job_node = next(n for n in tree.nodes() if n.kind == NodeKind.JOB)
    assert job_node.phase == "Succeeded" and job_node.job() is not None
    assert job_node.execution() is None
    assert client.get_job(job_node.name)["status"]["succeeded"] == 1
    assert list(client.job_logs(job_node.name)) == ["line one", "line two"]


def test_resuming_an_execution_leaves_out_a_suspension_that_ended_meanwhile(
    client: Client, kontinue_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = client.spawn("chain")
    kontinue_env.wait(
        root.metadata.name or "",
        phases={ExecutionPhase.EXECUTING},
        until=lambda ex: len(ex.status.steps) == 3,
        timeout=30,
    )
    for child in client.children(root):
        kontinue_env.wait(child.metadata.name or "", phases={ExecutionPhase.SUSPENDED})
    listed = client.suspensions(root, recursive=True)
    assert [s.is_waiting for s in listed] == [True, True]
    client.resume_suspension(listed[0], {"approved": False})  # it ends before the next call
    monkeypatch.setattr(client, "suspensions", lambda *args, **kwargs: listed)
    resumed = client.resume_execution(root, recursive=True, data={"approved": True})
    assert [s.metadata.name for s in resumed] == [listed[1].metadata.name]
    assert client.parse_result(client.wait(root, timeout=10), list[bool]) in (
        [False, True],
        [True, False],
    )


def test_functions_and_schedules(client: Client, kontinue_env: WorkflowEnvironment) -> None:
    visible = [f.spec.name for f in client.functions()]
    assert "internal" not in visible and "order" in visible
    assert "internal" in [f.spec.name for f in client.functions(include_hidden=True)]
    assert client.functions(worker_group="nobody") == []
    assert client.function("order").spec.arguments["required"] == ["item"]
    schedule = {
        "apiVersion": API_VERSION,
        "kind": "ScheduledExecution",
        "metadata": {"name": "nightly"},
        "spec": {"schedule": "0 2 * * *", "function": "order", "arguments": {"item": "x"}},
    }
    kontinue_env.kube.create(schedule)
    assert client.get_scheduled_execution("nightly").spec.schedule == "0 2 * * *"
    assert [s.metadata.name for s in client.list_scheduled_executions(function="order")] == [
        "nightly"
    ]
    assert client.suspend_scheduled_execution("nightly").spec.suspend is True
    resumed: ScheduledExecution = client.resume_scheduled_execution("nightly")
    assert resumed.spec.suspend is False


def test_archived_trees_are_read_transparently(
    client: Client, kontinue_env: WorkflowEnvironment
) -> None:
    done = client.spawn_and_wait("order", {"item": "old"})
    obj = kontinue_env.kube.get("executions.kontinue.cloud", done.metadata.name or "")
    data, size = encode_archive({"executions": [obj], "suspensions": [], "jobs": []})
    kontinue_env.admin.create(  # as the worker's TTL controller writes it
        {
            "apiVersion": API_VERSION,
            "kind": "ArchivedExecution",
            "metadata": {"name": f"{done.metadata.name}-archive"},
            "spec": {
                "function": "order",
                "root": done.metadata.name,
                "archivedAt": "2030-01-01T00:00:00Z",
                "data": data,
                "size": size,
            },
        }
    )
    kontinue_env.kube.delete("executions.kontinue.cloud", done.metadata.name or "")
    archived = client.get(done.metadata.name or "")
    assert archived.status.result == {"item": "old", "total": 10}
    assert done.metadata.name in [e.metadata.name for e in client.list(function="order")]
    assert client.get_tree(done.metadata.name or "").is_archived()


def test_the_async_client_and_watch_tree(kontinue_env: WorkflowEnvironment) -> None:
    async def scenario() -> list[str]:
        async with AsyncClient.from_kubeconfig(
            kontinue_env.kubeconfig, namespace=kontinue_env.namespace
        ) as client:
            root = await client.spawn("approve")
            phases: list[str] = []
            resumed = False
            async for update in client.watch_tree(root.metadata.name or ""):
                assert update.error is None and update.tree is not None
                phases.append(update.tree.root.phase)
                suspension = next(
                    (n for n in update.tree.nodes() if n.kind == NodeKind.SUSPENSION), None
                )
                if suspension is not None and not resumed:
                    await client.resume_suspension(suspension.name, {"approved": False})
                    resumed = True
                if update.tree.root.phase == "Completed":
                    break
            done = await client.wait(root, timeout=5)
            assert client.parse_result(done, bool) is False
            return phases

    with kontinue_env.running(_worker()):
        phases = asyncio.run(scenario())
    assert phases[-1] == "Completed"
    assert "Suspended" in phases


def test_retry_with_a_child_policy_runs_a_failed_child_again(
    kontinue_env: WorkflowEnvironment,
) -> None:
    worker = kontinue.Worker(group="client-retry")
    gate = threading.Event()

    @worker.function("sometimes")
    async def sometimes(ktx: kontinue.ExecutionContext) -> str:
        if not gate.is_set():
            raise kontinue.NonRetryableError("not yet")
        return "now"

    @worker.function("outer", retry=ExecutionRetry(retries=0))
    async def outer(ktx: kontinue.ExecutionContext) -> str:
        return await ktx.execute(sometimes)

    with (
        kontinue_env.running(worker),
        Client.from_kubeconfig(kontinue_env.kubeconfig, namespace=kontinue_env.namespace) as client,
    ):
        failed = client.spawn_and_wait("outer", wait_timeout=10)
        assert failed.status.phase == ExecutionPhase.FAILED
        gate.set()
        client.retry(failed, child_policy="RetryFailed")
        done = kontinue_env.wait(failed.metadata.name or "", until=lambda e: e.status.reruns == 1)
        assert client.parse_result(done) == "now"
        tree = client.get_tree(failed.metadata.name or "")
        attempts = [n for n in tree.root.children if n.kind == NodeKind.ATTEMPT]
        assert [a.attempt_number for a in attempts] == [1]
        assert attempts[0].attempt() is not None
        assert len([n for n in tree.root.children if n.kind == NodeKind.EXECUTION]) == 2
    _ = timedelta


def test_suspensions_of_the_namespace_and_of_a_missing_execution(client: Client) -> None:
    waiting = client.spawn("approve")
    found = _wait_suspended(client, waiting.metadata.name or "")
    everywhere = client.suspensions()
    assert [s.spec.execution for s in everywhere] == [found.metadata.name]
    with pytest.raises(NotFound):
        client.resume_execution("no-such-execution")
    published = client.function("order")
    assert client.spawn_and_wait(published, {"item": "z"}).status.phase == ExecutionPhase.COMPLETED


def test_the_jobs_of_an_execution(client: Client) -> None:
    done = client.spawn_and_wait("order", {"item": "x"}, wait_timeout=30)
    assert client.jobs(done) == [] and client.jobs(done.metadata.name or "") == []
    with pytest.raises(NotFound, match="no-such-execution"):
        client.jobs("no-such-execution")
