"""The workflow code the chart's end-to-end test deploys (``tests.deploy.workflows:worker``)."""

from __future__ import annotations

from pydantic import BaseModel

import kontinue

worker = kontinue.Worker(group="deployed")


class Greeting(BaseModel):
    name: str = "world"


@worker.function("greet", description="Greets someone.")
async def greet(ktx: kontinue.ExecutionContext, args: Greeting) -> str:
    return f"hello {args.name}"


@worker.function("gate", description="Waits for an approval, then says who gave it.")
async def gate(ktx: kontinue.ExecutionContext) -> str:
    approval = await ktx.suspend("approve the rollout")
    return f"approved by {approval['by']}"
