"""The UI's data layer against the test server: pages of executions, worker groups, bulk
actions and access, as the pages use them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kontinue.api import ExecutionPhase
from kontinue.client import AsyncClient
from kontinue.client.paging import ExecutionFilter, list_page
from kontinue.client.workers import worker_group_status
from kontinue.testing import WorkflowEnvironment
from kontinue.ui.cluster import Access, Cluster
from kontinue.ui.views import children_page, execution_row, tree_state

from .conftest import make_worker


@pytest.fixture
async def cluster(kontinue_env: WorkflowEnvironment) -> AsyncIterator[Cluster]:
    client = AsyncClient.from_kubeconfig(
        kontinue_env.kubeconfig, namespace=kontinue_env.namespace, qps=0
    )
    made = Cluster(client)
    yield made
    await made.close()


async def _all_pages(cluster: Cluster, where: ExecutionFilter, limit: int) -> list[list[str]]:
    pages, token = [], ""
    while True:
        page = await list_page(cluster.client, limit=limit, continue_token=token, where=where)
        pages.append([e.metadata.name or "" for e in page.items])
        token = page.continue_token
        if not token:
            return pages


async def test_pages_of_executions_with_filters_the_server_cannot_apply(
    kontinue_env: WorkflowEnvironment, cluster: Cluster
) -> None:
    env = kontinue_env
    with env.running(make_worker()):
        for index in range(7):
            env.execute("order", {"item": "tea"}, name=f"order-{index}")
        for index in range(3):
            env.execute("approve", {}, name=f"approve-{index}")
        for index in range(3):
            env.wait(f"approve-{index}", phases={ExecutionPhase.SUSPENDED})
    everything = await _all_pages(cluster, ExecutionFilter(), 4)
    assert [len(p) for p in everything] == [4, 4, 2]
    names = [name for page in everything for name in page]
    assert names == sorted(names)  # the API's order, by name
    # A name filter: every page holds its limit of matches, even inside a server page.
    orders = await _all_pages(cluster, ExecutionFilter(name_contains="ORDER"), 3)
    assert orders == [
        ["order-0", "order-1", "order-2"],
        ["order-3", "order-4", "order-5"],
        ["order-6"],
    ]
    waiting = await _all_pages(
        cluster, ExecutionFilter(phases=frozenset({ExecutionPhase.SUSPENDED})), 2
    )
    assert waiting == [["approve-0", "approve-1"], ["approve-2"]]
    by_function = await _all_pages(cluster, ExecutionFilter(function="approve"), 10)
    assert by_function == [["approve-0", "approve-1", "approve-2"]]
    page = await list_page(cluster.client, limit=2)
    assert page.resource_version and not page.archived


async def test_worker_groups_bulk_actions_and_access(
    kontinue_env: WorkflowEnvironment, cluster: Cluster
) -> None:
    env = kontinue_env
    assert (await worker_group_status(cluster.client, "ui")).live is not True
    with env.running(make_worker()):
        status = await worker_group_status(cluster.client, "ui")
        assert status.live is True and status.holder
        waiting = env.execute("approve", {})
        done = env.execute("order", {"item": "tea"})
        env.wait(waiting, phases={ExecutionPhase.SUSPENDED})
        env.wait(done)
        results = await cluster.bulk(env.namespace, "cancel", [waiting, done, "missing"])
        outcome = {r.name: (r.ok, r.message) for r in results}
        assert outcome[waiting] == (True, "cancel requested")
        assert outcome[done][0] is False and "already ended" in outcome[done][1]
        assert outcome["missing"][0] is False and "Not found" in outcome["missing"][1]
        env.wait(waiting, phases={ExecutionPhase.CANCELED})
    assert await cluster.access(env.namespace) == Access()  # the user may do all of it


async def test_a_tree_is_shown_one_level_at_a_time(
    kontinue_env: WorkflowEnvironment, cluster: Cluster
) -> None:
    env = kontinue_env
    with env.running(make_worker()):
        name = env.execute("chain", {})
        env.wait(f"{name}-0", phases={ExecutionPhase.SUSPENDED})
        tree = await cluster.tree(env.namespace, name, fresh=True)
    top = children_page(tree, "")
    assert top is not None and [n.name for n in top[0]] == [f"{name}-0"] and top[1] == 1
    below = children_page(tree, f"{name}-0")
    assert below is not None and below[0][0].kind.value == "Suspension"
    assert children_page(tree, "nowhere") is None
    state = tree_state(tree, env.namespace)
    assert state[f"{name}-0"]["phase"] == "Suspended" and state[f"{name}-0"]["children"] == 1
    execution = tree.root.execution()
    assert execution is not None
    row = execution_row(execution)
    assert (row.phase, row.can_cancel, row.can_retry) == ("Executing", True, False)
