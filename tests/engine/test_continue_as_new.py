"""ktx.continue_as_new: a workflow that loops for ever as a chain of executions, each with a
fresh history, which parents, the client and the CLI follow to its last result."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import BaseModel

import kontinue
from kontinue.api import API_VERSION, ExecutionPhase, labels
from kontinue.client import Client
from kontinue.testing import WorkflowEnvironment


class Rounds(BaseModel):
    n: int = 0
    until: int = 3


def _worker() -> kontinue.Worker:
    worker = kontinue.Worker(group="loops")

    @worker.function("rounds")
    async def rounds(ktx: kontinue.ExecutionContext, args: Rounds) -> int:
        seen = await ktx.store(lambda: args.n, step="seen")
        if seen < args.until:
            ktx.continue_as_new(Rounds(n=seen + 1, until=args.until))
        return seen

    @worker.function("sync-rounds")
    def sync_rounds(ktx: kontinue.SyncExecutionContext, args: Rounds) -> int:
        if args.n < args.until:
            ktx.continue_as_new({"n": args.n + 1, "until": args.until})
        return args.n

    @worker.function("parent")
    async def parent(ktx: kontinue.ExecutionContext) -> int:
        return await ktx.execute("rounds", Rounds(n=0, until=2), result_type=int)

    return worker


@pytest.fixture
def client(kontinue_env: WorkflowEnvironment) -> Iterator[Client]:
    with Client.from_kubeconfig(kontinue_env.kubeconfig, namespace=kontinue_env.namespace) as c:
        yield c


def test_a_workflow_continues_as_a_chain_of_fresh_executions(
    kontinue_env: WorkflowEnvironment, client: Client
) -> None:
    with kontinue_env.running(_worker()):
        first = kontinue_env.execute("rounds", {"n": 0, "until": 3})
        last = client.wait(first, timeout=30)
        started = client.wait(first, follow=False)
    assert last.status.phase == ExecutionPhase.COMPLETED
    assert last.status.result == 3
    assert last.metadata.name == f"{first}-run-4"
    assert started.status.phase == ExecutionPhase.COMPLETED
    assert started.status.continued_as == f"{first}-run-2"
    assert started.status.message == f"continued as {first}-run-2"
    assert started.status.result is None
    chain = client.list(label_selector={labels.LABEL_LINEAGE: first})
    assert sorted(e.metadata.name for e in chain) == [f"{first}-run-{n}" for n in (2, 3, 4)]
    for execution in chain:
        origin = execution.spec.continued_from
        assert origin is not None and origin.lineage == first
        assert list(execution.status.steps) == ["seen"]  # each starts with a fresh history
        assert execution.metadata.labels[labels.LABEL_ROOT] == execution.metadata.name
    continued = [e for e in client.kube.list("events") if e["reason"] == "ContinuedAsNew"]
    assert {e["involvedObject"]["name"] for e in continued} == {
        first,
        f"{first}-run-2",
        f"{first}-run-3",
    }


def test_a_plain_def_workflow_continues_as_new(
    kontinue_env: WorkflowEnvironment, client: Client
) -> None:
    with kontinue_env.running(_worker()):
        first = kontinue_env.execute("sync-rounds", {"n": 0, "until": 2})
        last = client.wait(first, timeout=30)
    assert (last.metadata.name, last.status.result) == (f"{first}-run-3", 2)


def test_a_parent_gets_the_result_of_its_childs_last_execution(
    kontinue_env: WorkflowEnvironment, client: Client
) -> None:
    with kontinue_env.running(_worker()):
        name = kontinue_env.execute("parent", {})
        done = client.wait(name, timeout=30)
    assert done.status.result == 2
    child = done.status.steps["0"].child
    assert child is not None
    chain = client.list(label_selector={labels.LABEL_LINEAGE: child})
    assert len(chain) == 2
    for execution in chain:  # still the parent's children: deleted with it
        assert execution.metadata.labels[labels.LABEL_PARENT] == name
        assert execution.metadata.labels[labels.LABEL_ROOT] == name
        assert [o.name for o in execution.metadata.owner_references] == [name]


def test_a_taken_name_fails_the_execution_instead_of_continuing_as_a_stranger(
    kontinue_env: WorkflowEnvironment, client: Client
) -> None:
    """The next execution's name is deterministic (a crash between creating it and ending
    this one finds it again); one that does not continue this execution is not adopted."""
    with kontinue_env.running(_worker()):
        client.kube.create(
            {
                "apiVersion": API_VERSION,
                "kind": "Execution",
                "metadata": {"name": "taken-run-2"},
                "spec": {"function": "rounds", "arguments": {"n": 5, "until": 5}},
            }
        )
        name = kontinue_env.execute("rounds", {"n": 0, "until": 1}, name="taken")
        done = client.wait(name, timeout=30, follow=False)
    assert done.status.phase == ExecutionPhase.FAILED
    assert "taken-run-2 exists but does not continue taken" in (done.status.message or "")
