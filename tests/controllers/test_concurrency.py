"""Mutexes, function concurrency limits and the worker's cap, held in Leases."""

from __future__ import annotations

import threading
import time
from typing import Any

import kontinue
from kontinue.api import API_VERSION, ExecutionPhase, labels
from kontinue.testing import WorkflowEnvironment, eventually

LEASES = "leases.coordination.k8s.io"


def _create(env: WorkflowEnvironment, name: str, function: str, group: str, **spec: Any) -> None:
    env.kube.create(
        {
            "apiVersion": API_VERSION,
            "kind": "Execution",
            "metadata": {
                "name": name,
                "labels": {labels.LABEL_FUNCTION: function, labels.LABEL_WORKER_GROUP: group},
            },
            "spec": {"function": function, **spec},
        }
    )
    time.sleep(0.01)  # distinct arrival order


def test_a_mutex_serves_waiters_in_order(kontinue_env: WorkflowEnvironment) -> None:
    worker = kontinue.Worker(group="mutex")
    order: list[str] = []

    @worker.function("exclusive")
    async def exclusive(ktx: kontinue.ExecutionContext) -> None:
        order.append(ktx.name)
        await ktx.suspend("hold the mutex until resumed")

    with kontinue_env.running(worker):
        names = [f"m{n}" for n in range(6)]
        for name in names:
            _create(kontinue_env, name, "exclusive", "mutex", mutex={"name": "db"})
        kontinue_env.wait("m0", phases={ExecutionPhase.SUSPENDED})
        waiting = kontinue_env.wait(
            "m3",
            phases={ExecutionPhase.PENDING},
            until=lambda e: "(position 3 of 5 waiting)" in (e.status.message or ""),
        )
        assert "waiting for mutex db, held by m0" in (waiting.status.message or "")
        for name in names:
            kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED})
            kontinue_env.resume(kontinue_env.wait_for_suspension(name).metadata.name or "")
            kontinue_env.wait(name)
        lease = eventually(
            lambda: [
                item
                for item in kontinue_env.admin.list(LEASES)
                if item["metadata"]["name"].startswith("kontinue-mutex-db")
                and not item["metadata"]["annotations"]["kontinue.cloud/holders"]
            ]
        )
    assert order == names
    assert lease[0]["metadata"]["annotations"]["kontinue.cloud/waiters"] == ""


def test_a_function_limit_and_a_worker_cap(kontinue_env: WorkflowEnvironment) -> None:
    worker = kontinue.Worker(group="limits")
    running: set[str] = set()
    peak = {"function": 0, "worker": 0}
    release = threading.Event()
    lock = threading.Lock()

    @worker.function("limited", concurrency=2)
    def limited(ktx: kontinue.SyncExecutionContext) -> None:
        with lock:
            running.add(ktx.name)
            peak["function"] = max(peak["function"], len(running))
        release.wait(10)
        with lock:
            running.discard(ktx.name)

    with kontinue_env.running(worker):
        for n in range(10):
            _create(kontinue_env, f"l{n}", "limited", "limits")
        eventually(lambda: len(running) == 2)
        held = kontinue_env.wait(
            "l9",
            phases={ExecutionPhase.PENDING},
            until=lambda e: "the concurrency limit of limited (2)" in (e.status.message or ""),
        )
        assert "position" in (held.status.message or "")
        release.set()
        for n in range(10):
            assert kontinue_env.wait(f"l{n}", timeout=20).status.phase == ExecutionPhase.COMPLETED
    assert peak["function"] == 2

    capped = kontinue.Worker(
        group="capped", settings=kontinue.WorkerSettings(max_concurrent_runs=1)
    )
    gate = threading.Event()

    @capped.function("slow")
    def slow(ktx: kontinue.SyncExecutionContext) -> None:
        gate.wait(10)

    with kontinue_env.running(capped):
        _create(kontinue_env, "c0", "slow", "capped")
        _create(kontinue_env, "c1", "slow", "capped")
        kontinue_env.wait("c0", phases={ExecutionPhase.EXECUTING}, timeout=10)
        second = kontinue_env.wait(
            "c1",
            phases={ExecutionPhase.PENDING},
            until=lambda e: "at most 1 executions at once" in (e.status.message or ""),
        )
        assert second.status.phase == ExecutionPhase.PENDING
        gate.set()
        assert kontinue_env.wait("c1").status.phase == ExecutionPhase.COMPLETED
