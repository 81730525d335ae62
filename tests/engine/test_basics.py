"""The engine end to end: a worker on the dev server runs workflows to their result."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field

import kontinue
from kontinue.api import ExecutionPhase
from kontinue.testing import WorkflowEnvironment


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
