"""Replay: a resumed execution repeats no finished work, whichever worker resumes it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

import kontinue
from kontinue.api import ExecutionPhase, StepState
from kontinue.kube import ConnectionFailed, Request, Response
from kontinue.testing import WorkflowEnvironment, async_eventually

Send = Callable[[Request], Awaitable[Response]]


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
        name = kontinue_env.execute("pipeline", {})
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
        name = kontinue_env.execute("pipeline", {})
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


def test_changed_code_parks_the_execution(kontinue_env: WorkflowEnvironment) -> None:
    """It used to fail it (tests/engine/test_code_changes.py has the whole story)."""
    first = kontinue.Worker(group="replay")

    @first.function("evolving")
    async def v1(ktx: kontinue.ExecutionContext) -> None:
        await ktx.sleep(timedelta(hours=1))

    second = kontinue.Worker(group="replay")

    @second.function("evolving")
    async def v2(ktx: kontinue.ExecutionContext) -> None:
        await ktx.store(lambda: 1)

    with kontinue_env.running(first):
        name = kontinue_env.execute("evolving", {})
        kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED})
    with kontinue_env.running(second):
        parked = kontinue_env.wait(
            name,
            phases={ExecutionPhase.SUSPENDED},
            until=lambda e: any(c.type == "Stalled" for c in e.status.conditions),
        )
    assert parked.status.error is None
    assert "step 0 was recorded as sleep() but the workflow now calls store()" in (
        parked.status.message or ""
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
    kontinue_env.kube.create(
        {
            "apiVersion": API_VERSION,
            "kind": "Execution",
            "metadata": {"name": name, "labels": {labels.LABEL_WORKER_GROUP: "replay"}},
            "spec": {"function": "napper"},
        }
    )
    execution = kontinue_env.kube.get("executions.kontinue.cloud", name)
    wake = kontinue_env.clock.now().replace(microsecond=0) + due_in
    kontinue_env.admin.create(  # as a worker made it before a crash
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


def _charger_worker(
    env: WorkflowEnvironment,
    calls: list[tuple[int, str, str | None]],
    hang: threading.Event | None,
) -> kontinue.Worker:
    """A store whose callable notes its call, its key and its step as the server has it;
    with ``hang`` it sets the event and never returns (the worker dies in the call)."""
    worker = kontinue.Worker(group="replay")

    @worker.function("charger")
    async def charger(ktx: kontinue.ExecutionContext) -> str:
        async def charge() -> str:
            call = kontinue.current_step()
            execution = await asyncio.to_thread(env.get, ktx.name)
            step = execution.status.steps.get(call.step)
            seen = f"{step.state.value} {step.calls}" if step is not None else None
            calls.append((call.call, call.idempotency_key, seen))
            if hang is not None:
                hang.set()
                await asyncio.Event().wait()
            return "charged"

        return await ktx.store(charge)

    return worker


def test_a_store_call_is_on_record_before_it_runs_and_a_lost_one_is_made_again(
    kontinue_env: WorkflowEnvironment,
) -> None:
    calls: list[tuple[int, str, str | None]] = []
    hang = threading.Event()
    with kontinue_env.running(_charger_worker(kontinue_env, calls, hang)):
        name = kontinue_env.execute("charger", {})
        assert hang.wait(10)  # the worker stops in the middle of call 1
    with kontinue_env.running(_charger_worker(kontinue_env, calls, None)):
        done = kontinue_env.wait(name)
    assert done.status.result == "charged"
    key = f"{done.metadata.uid}/1/0"
    assert calls == [(1, key, "Pending 1"), (2, key, "Pending 2")]
    assert done.status.steps["0"].state == StepState.DONE and done.status.steps["0"].calls == 2


def test_a_store_call_whose_record_lost_its_answer_runs_once(
    kontinue_env: WorkflowEnvironment,
) -> None:
    """The write of call 1 reaches the server but its answer is lost: call 1 never runs
    (the worker cannot know that), the replay makes call 2, and it runs once."""
    calls: list[tuple[int, str, str | None]] = []
    lost: list[str] = []

    async def lossy(request: Request, send: Send) -> Response:
        answer = await send(request)
        if request.method == "PATCH" and b'"calls"' in (request.body or b"") and not lost:
            lost.append(request.path)
            raise ConnectionFailed(f"{request.method} {request.path}: connection reset")
        return answer

    with kontinue_env.running(_charger_worker(kontinue_env, calls, None), intercept=lossy):
        done = kontinue_env.wait(kontinue_env.execute("charger", {}))
    assert lost, "no store call was written"
    assert done.status.result == "charged"
    key = f"{done.metadata.uid}/1/0"
    assert calls == [(2, key, "Pending 2")]
    assert done.status.steps["0"].calls == 2


def test_a_stored_value_is_written_before_a_child_can_depend_on_it(
    kontinue_env: WorkflowEnvironment,
) -> None:
    """A store's value is written with the next write, but before the child created from it
    is: a crash can never leave a child made from a value that the replay computes again."""
    worker = kontinue.Worker(group="replay")

    @worker.function("receipt")
    async def receipt(ktx: kontinue.ExecutionContext, args: dict) -> str:
        return f"receipt for {args['token']}"

    @worker.function("buyer")
    async def buyer(ktx: kontinue.ExecutionContext) -> str:
        token = await ktx.store(lambda: "tok-1", step="token")
        return await ktx.execute(receipt, {"token": token})

    order: list[str] = []

    async def noting(request: Request, send: Send) -> Response:
        body = request.body or b""
        creating = request.method == "POST" and request.path.endswith("/executions")
        if creating and b'"receipt"' in body:
            order.append("child created")
        answer = await send(request)
        if request.method == "PATCH" and b'"tok-1"' in body:
            order.append("value written")
        return answer

    with kontinue_env.running(worker, intercept=noting):
        done = kontinue_env.wait(kontinue_env.execute(buyer, {}))
    assert done.status.result == "receipt for tok-1"
    assert order == ["value written", "child created"]


def test_a_run_that_goes_on_while_it_is_evicted_stays_in_memory(
    kontinue_env: WorkflowEnvironment,
) -> None:
    """Its child ends while the eviction writes its state: the run goes on to its sleep, and
    the eviction must not stop it there with the sleep unwritten (it is evicted again). The
    race has more than one outcome, so it is run a few times."""
    effects: list[str] = []
    worker = _pipeline_worker(effects)
    settings = kontinue.WorkerSettings(max_cached_runs=0)
    current: list[str] = []

    async def slow_eviction(request: Request, send: Send) -> Response:
        if request.method == "PATCH" and b"waiting for child" in (request.body or b""):
            # the child ends meanwhile: the run goes on to its sleep, and the worker sees
            # the sleep's Suspension
            engine = worker.engine
            await async_eventually(
                lambda: engine.cached("suspension", f"{current[-1]}-2") is not None, timeout=5
            )
        return await send(request)

    with kontinue_env.running(worker, settings=settings, intercept=slow_eviction):
        for _ in range(4):
            current.append(kontinue_env.execute("pipeline", {}))
            waiting = kontinue_env.wait(current[-1], phases={ExecutionPhase.SUSPENDED}, timeout=5)
            assert waiting.status.steps["2"].kind.value == "sleep"
        kontinue_env.advance(timedelta(hours=1))
        for name in current:
            assert kontinue_env.wait(name).status.result["children"] == ["c1", "c2"]
