"""kontinue.testing's environment itself: the product's client, the settled barrier, calls on
the worker's loop and intercepted requests."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

import kontinue
from kontinue.api import ExecutionPhase
from kontinue.client import Client, InvalidArguments
from kontinue.kube import Request, Response
from kontinue.testing import WorkflowEnvironment

Send = Callable[[Request], Awaitable[Response]]


def _napper() -> kontinue.Worker:
    worker = kontinue.Worker(group="environment")

    @worker.function("nap")
    async def nap(ktx: kontinue.ExecutionContext, args: dict) -> str:
        await ktx.sleep(timedelta(hours=1))
        return "rested"

    return worker


def test_executions_start_through_the_products_client(kontinue_env: WorkflowEnvironment) -> None:
    assert isinstance(kontinue_env.client, Client)
    with kontinue_env.running(_napper()):
        with pytest.raises(InvalidArguments):  # refused by the client: nothing is created
            kontinue_env.execute("nap", [1, 2])
        name = kontinue_env.execute("nap", {"why": "tired"})
        execution = kontinue_env.get(name)
    assert execution.spec.arguments == {"why": "tired"}
    assert kontinue_env.client.list(root=name)[0].metadata.name == name


def test_settled_returns_once_the_worker_acted_on_a_clock_move(
    kontinue_env: WorkflowEnvironment,
) -> None:
    """No waiting for a phase: once settled, what the worker does about the clock is done,
    and until the clock moves, nothing happens."""
    with kontinue_env.running(_napper()):
        name = kontinue_env.execute("nap", {})
        kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED})
        kontinue_env.advance(timedelta(minutes=59))
        kontinue_env.settled()
        assert kontinue_env.get(name).status.phase == ExecutionPhase.SUSPENDED
        kontinue_env.advance(timedelta(minutes=1))
        kontinue_env.settled()
        assert kontinue_env.get(name).status.phase == ExecutionPhase.COMPLETED


def test_a_callable_runs_on_the_workers_loop(kontinue_env: WorkflowEnvironment) -> None:
    with kontinue_env.running(_napper()) as running:
        where = running.call(lambda: threading.current_thread().name)
        assert where == "kontinue-worker"
        assert running.call(lambda a, b: a + b, 2, 3) == 5


def test_intercept_sees_the_workers_requests_and_may_answer_them(
    kontinue_env: WorkflowEnvironment,
) -> None:
    """The first status write is refused (a 409, as when the object changed): the worker
    reads the execution again and goes on."""
    seen: list[str] = []

    async def refuse_once(request: Request, send: Send) -> Response:
        seen.append(f"{request.method} {request.path}")
        if request.path.endswith("/status") and not any("refused" in s for s in seen):
            seen.append("refused")
            body = b'{"kind":"Status","code":409,"reason":"Conflict","message":"changed"}'
            return Response(409, {"Content-Type": "application/json"}, body)
        return await send(request)

    with kontinue_env.running(_napper(), intercept=refuse_once):
        name = kontinue_env.execute("nap", {})
        kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED})
    assert "refused" in seen
    assert any(s.startswith("POST") and s.endswith("/suspensions") for s in seen)
