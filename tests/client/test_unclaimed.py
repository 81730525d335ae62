"""Executions no worker has started: the client says why they wait, and cancel/skip end them.

Before, such an execution stayed Pending with no message and ``cancel`` reported success while
nothing happened, since only a worker acts on a cancel request.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import kontinue
from kontinue.api import API_VERSION, ExecutionPhase
from kontinue.client import Client
from kontinue.testing import WorkflowEnvironment


def _worker() -> kontinue.Worker:
    worker = kontinue.Worker(group="nobody-home")

    @worker.function("greet")
    async def greet(ktx: kontinue.ExecutionContext) -> str:
        return "hello"

    return worker


@pytest.fixture
def client(kontinue_env: WorkflowEnvironment) -> Iterator[Client]:
    """A user's client in a namespace where the worker published its functions, then stopped."""
    with kontinue_env.running(_worker()):
        pass
    with Client.from_kubeconfig(kontinue_env.kubeconfig, namespace=kontinue_env.namespace) as c:
        yield c


def test_cancel_ends_an_execution_whose_group_has_no_live_worker(
    client: Client, kontinue_env: WorkflowEnvironment
) -> None:
    created = client.spawn("greet")
    name = created.metadata.name or ""
    why = client.why_pending(name)
    assert why is not None and "no worker of group 'nobody-home' is running" in why, why
    canceled = client.cancel(name, message="not needed")
    assert canceled.status.phase == ExecutionPhase.CANCELED, canceled.status
    assert canceled.status.message == "not needed before any worker ran it"
    assert canceled.status.finished_at is not None
    assert {c.type: c.status for c in canceled.status.conditions} == {
        "Ready": "False",
        "Stalled": "True",
    }
    assert client.why_pending(name) is None
    # A worker that starts later leaves it ended.
    with kontinue_env.running(_worker()):
        later = client.spawn("greet")
        kontinue_env.wait(later.metadata.name or "")
    assert client.get(name).status.phase == ExecutionPhase.CANCELED


def test_skip_ends_an_execution_of_a_function_nobody_published(
    client: Client, kontinue_env: WorkflowEnvironment
) -> None:
    body = {
        "apiVersion": API_VERSION,
        "kind": "Execution",
        "metadata": {"name": "orphan", "namespace": kontinue_env.namespace},
        "spec": {"function": "never-published"},
    }
    kontinue_env.admin.create(body)
    why = client.why_pending("orphan")
    assert why is not None and "no worker has published function 'never-published'" in why
    skipped = client.skip("orphan", result={"ok": True})
    assert skipped.status.phase == ExecutionPhase.SKIPPED, skipped.status
    assert skipped.status.result == {"ok": True}


def test_a_live_worker_carries_out_the_cancel_itself(
    client: Client, kontinue_env: WorkflowEnvironment
) -> None:
    worker = _worker()

    @worker.function("wait")
    async def wait(ktx: kontinue.ExecutionContext) -> None:
        await ktx.suspend("forever")

    with kontinue_env.running(worker):
        name = client.spawn("wait").metadata.name or ""
        kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED})
        assert client.why_pending(name) is None
        client.cancel(name)
        ended = kontinue_env.wait(name)
    assert ended.status.phase == ExecutionPhase.CANCELED
    assert "before any worker ran it" not in (ended.status.message or "")
