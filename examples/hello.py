"""Hello world: the smallest durable workflow.

Run it on the embedded dev server::

    kontinue dev --worker examples.hello:worker
    # in another shell (KUBECONFIG as printed by kontinue dev):
    kubectl create -f examples/hello-execution.yaml
    kubectl get executions

The greeting waits a (durable) second between its steps: stop the dev server in the middle and
start it again, and the execution carries on where it was.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field

import kontinue

worker = kontinue.Worker(group="examples")


class Greeting(BaseModel):
    """Who to greet, and how."""

    name: str = Field(default="world", description="Who to greet")
    excited: bool = Field(default=False, description="End with an exclamation mark")


@worker.function("hello", description="Greets someone, durably.")
async def hello(ktx: kontinue.ExecutionContext, args: Greeting) -> str:
    """Greets someone after a durable one-second pause."""
    ktx.logger.info("greeting %s", args.name)
    started = await ktx.store(lambda: ktx.now().isoformat())
    await ktx.sleep(timedelta(seconds=1))
    return f"hello {args.name}{'!' if args.excited else ''} (started {started})"
