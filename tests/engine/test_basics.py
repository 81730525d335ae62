"""The engine end to end: a worker on the dev server runs workflows to their result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from pydantic import BaseModel, Field

import kontinue
from kontinue.api import ExecutionPhase
from kontinue.kube import Request, Response
from kontinue.testing import WorkflowEnvironment, eventually

from ..kubectl_writes import request_resume

Send = Callable[[Request], Awaitable[Response]]


class Greeting(BaseModel):
    name: str = Field(description="who to greet")
    punctuation: str = "!"


def test_a_workflow_returns_its_result(kontinue_env: WorkflowEnvironment) -> None:
    worker = kontinue.Worker(group="basics")

    @worker.function("hello")
    async def hello(ktx: kontinue.ExecutionContext, args: Greeting) -> str:
        return f"hello {args.name}{args.punctuation}"

    with kontinue_env.running(worker):
        name = kontinue_env.execute(hello, Greeting(name="world"))
        done = kontinue_env.wait(name)
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status
    assert done.status.result == "hello world!"
    assert done.status.attempt == 1


def test_children_sleep_and_store(kontinue_env: WorkflowEnvironment) -> None:
    worker = kontinue.Worker(group="basics")

    @worker.function("double")
    async def double(ktx: kontinue.ExecutionContext, args: dict) -> int:
        return int(args["n"]) * 2

    @worker.function("parent")
    async def parent(ktx: kontinue.ExecutionContext, args: dict) -> dict:
        first = await ktx.execute(double, {"n": 2})
        await ktx.sleep(timedelta(hours=1))
        token = await ktx.store(lambda: "tok-1")
        return {"first": first, "token": token}

    with kontinue_env.running(worker):
        name = kontinue_env.execute(parent, {})
        kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED})
        kontinue_env.advance(timedelta(hours=1))
        done = kontinue_env.wait(name)
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status
    assert done.status.result == {"first": 4, "token": "tok-1"}


class Outcome(BaseModel):
    count: int
    note: str | None


def test_nulls_in_results_and_resume_data_are_kept(kontinue_env: WorkflowEnvironment) -> None:
    worker = kontinue.Worker(group="basics")

    @worker.function("child-with-none")
    async def child(ktx: kontinue.ExecutionContext) -> Outcome:
        return Outcome(count=1, note=None)

    @worker.function("parent-of-none")
    async def parent(ktx: kontinue.ExecutionContext) -> dict:
        outcome = await ktx.execute(child)
        stored = await ktx.store(lambda: {"kept": None})
        answer = await ktx.suspend("data?")
        return {"child": outcome.model_dump(), "stored": stored, "answer": answer}

    with kontinue_env.running(worker):
        name = kontinue_env.execute(parent, {})
        suspension = kontinue_env.wait_for_suspension(name).metadata.name or ""
        kontinue_env.resume(suspension, {"first": "try", "comment": "typo"})
        kontinue_env.wait(name)
        # a second request replaces the first whole: nothing of it is merged in
    done = kontinue_env.get(name)
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status
    assert done.status.result == {
        "child": {"count": 1, "note": None},
        "stored": {"kept": None},
        "answer": {"first": "try", "comment": "typo"},
    }


def test_a_rejected_resume_is_replaced_not_merged(kontinue_env: WorkflowEnvironment) -> None:
    worker = kontinue.Worker(group="basics")

    class Form(BaseModel):
        approved: bool
        comment: str | None = None

    @worker.function("form")
    async def form(ktx: kontinue.ExecutionContext) -> dict:
        return (await ktx.suspend("fill", data=Form)).model_dump()

    with kontinue_env.running(worker):
        name = kontinue_env.execute(form, {})
        suspension = kontinue_env.wait_for_suspension(name).metadata.name or ""
        request_resume(kontinue_env, suspension, {"approved": "sure", "comment": "typo"})
        eventually(
            lambda: kontinue_env.suspensions(name)[0].status.message,
            what="the resume data to be rejected",
        )
        kontinue_env.resume(suspension, {"approved": True})
        done = kontinue_env.wait(name)
    assert done.status.result == {"approved": True, "comment": None}


def test_a_sleep_never_ends_early_at_a_fractional_second(
    kontinue_env: WorkflowEnvironment,
) -> None:
    from datetime import datetime

    worker = kontinue.Worker(group="basics")

    @worker.function("nap")
    async def nap(ktx: kontinue.ExecutionContext) -> str:
        started = await ktx.store(lambda: ktx.now().isoformat())
        await ktx.sleep(timedelta(seconds=1))
        return started

    now = kontinue_env.clock.now()
    kontinue_env.clock.set(now.replace(microsecond=0) + timedelta(seconds=1, milliseconds=900))
    with kontinue_env.running(worker):
        name = kontinue_env.execute(nap, {})
        kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED})
        [sleep] = kontinue_env.suspensions(name)
        started = datetime.fromisoformat(kontinue_env.get(name).status.steps["0"].value)
        assert sleep.spec.resume_at is not None
        assert sleep.spec.resume_at >= started + timedelta(seconds=1)  # was truncated: 0.1 s
        kontinue_env.advance(timedelta(seconds=2))
        assert kontinue_env.wait(name).status.phase == ExecutionPhase.COMPLETED
    # leave the shared clock on a whole second, as the other tests expect
    kontinue_env.clock.set(kontinue_env.clock.now().replace(microsecond=0) + timedelta(seconds=1))


def test_a_sleep_wakes_on_the_worker_clock_without_waiting_for_its_suspension_write(
    kontinue_env: WorkflowEnvironment,
) -> None:
    """The wake-up of a sleep needs no API round trip: the run goes on at ``resumeAt`` while
    the write that marks its Suspension Resumed is still held back, and that write then
    records Resumed (not Canceled because the execution ended first)."""
    import asyncio
    import threading

    worker = kontinue.Worker(group="basics")

    @worker.function("nap")
    async def nap(ktx: kontinue.ExecutionContext) -> str:
        await ktx.sleep(timedelta(hours=1))
        return ktx.now().isoformat()

    released = threading.Event()

    async def held_patch(request: Request, send: Send) -> Response:
        if request.method == "PATCH" and "/suspensions/" in request.path:
            await asyncio.to_thread(released.wait)
        return await send(request)

    with kontinue_env.running(worker, intercept=held_patch):
        try:
            name = kontinue_env.execute(nap, {})
            kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED})
            [sleep] = kontinue_env.suspensions(name)
            kontinue_env.advance(timedelta(hours=1))
            done = kontinue_env.wait(name)
            assert done.status.phase == ExecutionPhase.COMPLETED
            assert done.status.result == sleep.spec.resume_at.isoformat()
            [still] = kontinue_env.suspensions(name)
            assert still.status.phase == "Waiting"
            released.set()
            resumed = eventually(
                lambda: [s for s in kontinue_env.suspensions(name) if s.status.phase != "Waiting"],
                what="the Suspension to be marked resumed",
            )
        finally:
            released.set()  # never leave the worker's write hanging
        assert resumed[0].status.phase == "Resumed"


def test_a_sleep_starts_while_its_suspension_is_still_being_written(
    kontinue_env: WorkflowEnvironment,
) -> None:
    """A backlog of API writes cannot make a sleep late: its timer starts when it is asked
    for, the Suspension is created meanwhile, and the status waits for that create."""
    import asyncio
    import threading

    worker = kontinue.Worker(group="basics")
    woke = threading.Event()

    @worker.function("nap")
    async def nap(ktx: kontinue.ExecutionContext) -> str:
        await ktx.sleep(timedelta(hours=1))
        woke.set()
        return "rested"

    creating, released = threading.Event(), threading.Event()

    async def held_create(request: Request, send: Send) -> Response:
        if request.method == "POST" and request.path.endswith("/suspensions"):
            creating.set()
            await asyncio.to_thread(released.wait)
        return await send(request)

    with kontinue_env.running(worker, intercept=held_create):
        try:
            name = kontinue_env.execute(nap, {})
            assert creating.wait(10), "the sleep never created its Suspension"
            kontinue_env.advance(timedelta(hours=1))
            assert woke.wait(10), "the sleep waited for its Suspension to be written"
            assert kontinue_env.get(name).status.phase != ExecutionPhase.COMPLETED
        finally:
            released.set()
        assert kontinue_env.wait(name).status.result == "rested"
        resumed = eventually(
            lambda: [s for s in kontinue_env.suspensions(name) if s.status.phase != "Waiting"],
            what="the Suspension to be created and marked resumed",
        )
    assert resumed[0].status.phase == "Resumed"
