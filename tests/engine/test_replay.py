"""Replay: a resumed execution repeats no finished work, whichever worker resumes it."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

import kontinue
from kontinue.api import ErrorKind, ExecutionPhase
from kontinue.testing import WorkflowEnvironment


def _pipeline_worker(effects: list[str]) -> kontinue.Worker:
    worker = kontinue.Worker(group="replay")

    @worker.function("step")
    async def step(ktx: kontinue.ExecutionContext, args: dict) -> str:
        effects.append(f"child:{args['n']}")
        return f"c{args['n']}"

    @worker.function("pipeline")
    async def pipeline(ktx: kontinue.ExecutionContext) -> dict:
        effects.append("entry")
        token = await ktx.store(lambda: effects.append("store") or "tok")
        first = await ktx.execute(step, {"n": 1})
        await ktx.sleep(timedelta(hours=1))
        second = await ktx.execute(step, {"n": 2})
        return {"token": token, "children": [first, second], "resumed": ktx.resumptions}

    return worker


def test_a_new_worker_resumes_without_repeating_steps(kontinue_env: WorkflowEnvironment) -> None:
    effects: list[str] = []
    with kontinue_env.running(_pipeline_worker(effects)):
        name = kontinue_env.execute("pipeline", {}, group="replay")
        kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED})
    assert effects == ["entry", "store", "child:1"]
    kontinue_env.advance(timedelta(hours=2))  # the sleep ends while no worker runs
    with kontinue_env.running(_pipeline_worker(effects)):
        done = kontinue_env.wait(name)
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status
    assert effects == ["entry", "store", "child:1", "entry", "child:2"]
    assert done.status.result == {"token": "tok", "children": ["c1", "c2"], "resumed": 1}
    assert done.status.resumptions == 1


def test_evicted_runs_replay_when_they_wake(kontinue_env: WorkflowEnvironment) -> None:
    effects: list[str] = []
    worker = _pipeline_worker(effects)
    settings = kontinue.WorkerSettings(max_cached_runs=0)
    with kontinue_env.running(worker, settings=settings):
        name = kontinue_env.execute("pipeline", {}, group="replay")
        kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED})
        kontinue_env.advance(timedelta(hours=1))
        done = kontinue_env.wait(name)
    assert done.status.result["children"] == ["c1", "c2"]
    assert effects.count("store") == 1
    assert effects.count("child:1") == 1 and effects.count("child:2") == 1
    assert effects.count("entry") >= 2  # replayed after each eviction


def test_gather_numbers_children_in_call_order(kontinue_env: WorkflowEnvironment) -> None:
    worker = kontinue.Worker(group="replay")

    @worker.function("delay")
    async def delay(ktx: kontinue.ExecutionContext, args: dict) -> int:
        await asyncio.sleep(args["seconds"])
        return int(args["n"])

    @worker.function("fan")
    async def fan(ktx: kontinue.ExecutionContext) -> list[int]:
        calls = [ktx.execute(delay, {"n": n, "seconds": 0.05 * (5 - n)}) for n in range(5)]
        return list(await asyncio.gather(*calls))

    with kontinue_env.running(worker):
        name = kontinue_env.execute(fan, {})
        done = kontinue_env.wait(name)
    assert done.status.result == [0, 1, 2, 3, 4]
    for step_id, step in done.status.steps.items():
        assert step.child == f"{name}-{step_id}"
        assert step.value == int(step_id)


def test_changed_code_is_a_non_determinism_error(kontinue_env: WorkflowEnvironment) -> None:
    first = kontinue.Worker(group="replay")

    @first.function("evolving")
    async def v1(ktx: kontinue.ExecutionContext) -> None:
        await ktx.sleep(timedelta(hours=1))

    second = kontinue.Worker(group="replay")

    @second.function("evolving")
    async def v2(ktx: kontinue.ExecutionContext) -> None:
        await ktx.store(lambda: 1)

    with kontinue_env.running(first):
        name = kontinue_env.execute("evolving", {}, group="replay")
        kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED})
    with kontinue_env.running(second):
        done = kontinue_env.wait(name)
    assert done.status.phase == ExecutionPhase.FAILED
    assert done.status.error is not None and done.status.error.kind == ErrorKind.INTERNAL
    assert "step 0 was recorded as sleep() but the workflow now calls store()" in (
        done.status.error.message
    )


def test_plain_def_workflows_run_off_the_loop_and_park_while_waiting(
    kontinue_env: WorkflowEnvironment,
) -> None:
    worker = kontinue.Worker(group="replay")
    effects: list[str] = []

    @worker.function("sync-child")
    def sync_child(ktx: kontinue.SyncExecutionContext, args: dict) -> int:
        return int(args["n"]) + 1

    @worker.function("sync-parent")
    def sync_parent(ktx: kontinue.SyncExecutionContext) -> list[int]:
        effects.append("entry")
        time.sleep(0.01)  # blocking is fine: this runs in a thread
        value = ktx.store(lambda: effects.append("store") or 5)
        ktx.sleep(timedelta(minutes=10))
        return [value, ktx.execute(sync_child, {"n": value})]

    with kontinue_env.running(worker):
        name = kontinue_env.execute(sync_parent, {})
        kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED})
        kontinue_env.advance(timedelta(minutes=10))
        done = kontinue_env.wait(name)
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status
    assert done.status.result == [5, 6]
    assert effects.count("store") == 1
    assert effects.count("entry") == 3  # first run, after the sleep, after the child


def test_durable_calls_outside_a_workflow_are_a_clear_error() -> None:
    from kontinue.sdk import OutsideWorkflow, current_context

    with pytest.raises(OutsideWorkflow, match="no workflow is running here"):
        current_context()


def test_a_workflow_can_find_its_context(kontinue_env: WorkflowEnvironment) -> None:
    from kontinue.sdk import current_context

    worker = kontinue.Worker(group="replay")

    async def helper() -> str:
        return current_context().name

    @worker.function("nested")
    async def nested(ktx: kontinue.ExecutionContext) -> str:
        return await asyncio.create_task(helper())

    with kontinue_env.running(worker):
        name = kontinue_env.execute(nested, {})
        done = kontinue_env.wait(name)
    assert done.status.result == name


@pytest.mark.parametrize("due_in", [timedelta(minutes=10), -timedelta(minutes=1)])
def test_a_sleep_created_before_a_crash_keeps_its_wake_up_time(
    kontinue_env: WorkflowEnvironment, due_in: timedelta
) -> None:
    """The Suspension exists but its step was never recorded (the worker died in between):
    the replay adopts the Suspension and its time, instead of recording a later one (also
    when that time has passed, so that the engine may resume the Suspension first)."""
    from kontinue.api import API_VERSION, format_time, labels

    worker = kontinue.Worker(group="replay")

    @worker.function("napper")
    async def napper(ktx: kontinue.ExecutionContext) -> str:
        await ktx.sleep(timedelta(hours=1))
        return "rested"

    name = "napper-crashed"
    kontinue_env.client.create(
        {
            "apiVersion": API_VERSION,
            "kind": "Execution",
            "metadata": {"name": name, "labels": {labels.LABEL_WORKER_GROUP: "replay"}},
            "spec": {"function": "napper"},
        }
    )
    execution = kontinue_env.client.get("executions.kontinue.cloud", name)
    wake = kontinue_env.clock.now().replace(microsecond=0) + due_in
    kontinue_env.client.create(
        {
            "apiVersion": API_VERSION,
            "kind": "Suspension",
            "metadata": {
                "name": f"{name}-0",
                "labels": {
                    labels.LABEL_PARENT: name,
                    labels.LABEL_ROOT: name,
                    labels.LABEL_WORKER_GROUP: "replay",
                },
                "ownerReferences": [
                    {
                        "apiVersion": API_VERSION,
                        "kind": "Execution",
                        "name": name,
                        "uid": execution["metadata"]["uid"],
                    }
                ],
            },
            "spec": {
                "execution": name,
                "step": "0",
                "kind": "Sleep",
                "resumeAt": format_time(wake),
            },
        }
    )
    with kontinue_env.running(worker):
        if due_in > timedelta(0):
            waiting = kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED})
            assert waiting.status.steps["0"].resume_at == wake
            kontinue_env.advance(due_in + timedelta(minutes=1))  # the adopted time, not an hour
        done = kontinue_env.wait(name)
    assert done.status.result == "rested"
    assert done.status.steps["0"].resume_at == wake
