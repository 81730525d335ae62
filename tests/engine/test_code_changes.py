"""Changing workflow code under running executions: a replay that no longer matches parks the
execution instead of failing it, ``ktx.version`` lets a change keep old executions on the old
path, and each execution records the code version that started it."""

from __future__ import annotations

import logging

import pytest

import kontinue
from kontinue.api import Execution, ExecutionPhase, SuspensionPhase
from kontinue.testing import WorkflowEnvironment
from kontinue.worker import WorkerSettings


def _stalled(execution: Execution) -> bool:
    return any(c.type == "Stalled" and c.status == "True" for c in execution.status.conditions)


def _shop(version: str, *, swapped: bool = False, guarded: bool = False) -> kontinue.Worker:
    """The same workflow on two versions of the code: v2 ships before it charges."""
    worker = kontinue.Worker(group="shop", settings=WorkerSettings(code_version=version))

    @worker.function("charge")
    async def charge(ktx: kontinue.ExecutionContext) -> str:
        return "charged"

    @worker.function("ship")
    async def ship(ktx: kontinue.ExecutionContext) -> str:
        return "shipped"

    @worker.function("checkout")
    async def checkout(ktx: kontinue.ExecutionContext) -> list[str]:
        done = []
        if swapped or (guarded and ktx.version("ship-first")):
            done.append(await ktx.execute(ship))
        done.append(await ktx.execute(charge))
        await ktx.suspend("approve the order")
        return done

    return worker


def test_a_code_change_parks_executions_until_matching_code_runs_them(
    kontinue_env: WorkflowEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    """Swapping two calls failed every waiting execution at worker start and canceled its
    Suspensions, with nothing in the worker's log."""
    with kontinue_env.running(_shop("v1")):
        names = [kontinue_env.execute("checkout", {}) for _ in range(3)]
        for name in names:
            kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED})
    with (
        caplog.at_level(logging.ERROR, logger="kontinue"),
        kontinue_env.running(_shop("v2", swapped=True)),
    ):
        parked = [
            kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED}, until=_stalled)
            for name in names
        ]
    for execution in parked:
        message = execution.status.message or ""
        assert "stalled on code version v2: step 0 was recorded as execute(charge)" in message
        assert "now calls execute(ship)" in message
        condition = next(c for c in execution.status.conditions if c.type == "Stalled")
        assert condition.reason == "NonDeterminism"
        assert execution.status.code_version == "v1"
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert sum("was recorded as execute(charge)" in e for e in errors) == 3, errors
    events = kontinue_env.kube.list("events")
    assert {e["involvedObject"]["name"] for e in events if e["reason"] == "NonDeterminism"} == set(
        names
    )
    suspensions = kontinue_env.suspensions()
    assert len(suspensions) == 3
    assert all(s.status.phase == SuspensionPhase.WAITING for s in suspensions)
    with kontinue_env.running(_shop("v1")):
        for name in names:
            kontinue_env.wait(
                name, phases={ExecutionPhase.SUSPENDED}, until=lambda e: not _stalled(e)
            )
            kontinue_env.resume(kontinue_env.wait_for_suspension(name).metadata.name or "")
        done = [kontinue_env.wait(name) for name in names]
    assert all(d.status.phase == ExecutionPhase.COMPLETED for d in done)
    assert all(d.status.result == ["charged"] for d in done)


def test_a_stopping_worker_writes_the_events_it_has_recorded(
    kontinue_env: WorkflowEnvironment,
) -> None:
    """A worker stopped right after a stall cancelled the stall's Event before it was written
    (2 of 3 NonDeterminism Events were lost in a CI run); Events pending at shutdown are now
    given a moment to be written."""
    worker = kontinue.Worker(group="shop")
    with kontinue_env.running(worker) as running:
        engine = running.worker.engine
        metadata = {"name": "settings", "namespace": kontinue_env.namespace}
        target = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}
        for n in range(5):  # on the worker's loop, just before it stops
            running.call(engine.record_event, target, "Normal", "Recorded", f"event {n}")
    events = kontinue_env.kube.list("events")
    assert sorted(e["message"] for e in events if e["reason"] == "Recorded") == [
        f"event {n}" for n in range(5)
    ]


def test_version_keeps_old_executions_on_the_old_path(kontinue_env: WorkflowEnvironment) -> None:
    with kontinue_env.running(_shop("v1")):
        old = kontinue_env.execute("checkout", {})
        kontinue_env.wait(old, phases={ExecutionPhase.SUSPENDED})
    with kontinue_env.running(_shop("v2", guarded=True)):
        new = kontinue_env.execute("checkout", {})
        kontinue_env.wait(new, phases={ExecutionPhase.SUSPENDED})
        for name in (old, new):
            kontinue_env.resume(kontinue_env.wait_for_suspension(name).metadata.name or "")
        finished_old, finished_new = kontinue_env.wait(old), kontinue_env.wait(new)
    assert finished_old.status.result == ["charged"], finished_old.status
    assert finished_new.status.result == ["shipped", "charged"], finished_new.status
    marker = finished_new.status.steps["0"]
    assert (marker.kind.value, marker.name) == ("version", "ship-first")
    assert finished_new.status.code_version == "v2"


def test_a_worker_can_leave_executions_of_another_code_version(
    kontinue_env: WorkflowEnvironment,
) -> None:
    with kontinue_env.running(_shop("v1")):
        name = kontinue_env.execute("checkout", {})
        kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED})
    picky = _shop("v2")
    picky.settings = WorkerSettings(code_version="v2", run_other_versions=False)
    with kontinue_env.running(picky):
        kontinue_env.resume(kontinue_env.wait_for_suspension(name).metadata.name or "")
        waiting = kontinue_env.wait(
            name,
            phases={ExecutionPhase.SUSPENDED},
            until=lambda e: "code version v1" in (e.status.message or ""),
        )
    assert "this worker runs v2" in (waiting.status.message or "")
    with kontinue_env.running(_shop("v1")):
        assert kontinue_env.wait(name).status.phase == ExecutionPhase.COMPLETED


async def _greet_v1(ktx: kontinue.ExecutionContext) -> str:
    return "hello"


async def _greet_v2(ktx: kontinue.ExecutionContext) -> str:
    return "hello there"


def test_the_default_code_version_follows_the_source() -> None:
    from kontinue.worker._engine import code_version_of

    def version(fn: object) -> str:
        worker = kontinue.Worker(group="versions")
        worker.function("greet")(fn)  # type: ignore[arg-type]
        return code_version_of(dict(worker.functions))

    assert version(_greet_v1) == version(_greet_v1)
    assert version(_greet_v1) != version(_greet_v2)
