"""Failures: retries with backoff, typed child errors, bad input, and replay mistakes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

import orjson
import pytest
from pydantic import BaseModel

import kontinue
from kontinue.api import (
    TRACEBACK_LIMIT,
    ChildPolicy,
    ErrorKind,
    ExecutionPhase,
    ExecutionRetry,
    StepState,
)
from kontinue.kube import Request, Response
from kontinue.sdk import ChildFailed, NonRetryableError
from kontinue.testing import WorkflowEnvironment

from ..kubectl_writes import create_execution

Send = Callable[[Request], Awaitable[Response]]


class Args(BaseModel):
    replicas: int
    env: str = "dev"


def test_plain_errors_are_retried_with_backoff_and_attempts_are_kept(
    kontinue_env: WorkflowEnvironment,
) -> None:
    worker = kontinue.Worker(group="failures")
    calls: list[int] = []
    resumptions: list[int] = []

    @worker.function("flaky", retry=ExecutionRetry(retries=2, backoff=timedelta(minutes=1)))
    async def flaky(ktx: kontinue.ExecutionContext, args: dict) -> str:
        calls.append(ktx.attempt)
        assert ktx.attempts == ktx.attempt - 1  # previous attempts, as in Go kontinue
        resumptions.append(ktx.resumptions)
        if ktx.attempt < 3:
            raise ConnectionError("network down")
        return "ok"

    with kontinue_env.running(worker):
        name = kontinue_env.execute(flaky, {})
        backoff = kontinue_env.wait(name, phases={ExecutionPhase.BACKOFF})
        assert "attempt 1 failed: ConnectionError: network down" in (backoff.status.message or "")
        assert backoff.status.next_attempt_at is not None
        kontinue_env.advance(timedelta(minutes=1))
        kontinue_env.wait(
            name, phases={ExecutionPhase.BACKOFF}, until=lambda ex: ex.status.attempt == 2
        )
        kontinue_env.advance(timedelta(minutes=1))
        done = kontinue_env.wait(name)
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status
    assert calls == [1, 2, 3]
    assert resumptions == [0, 1, 2]  # retries count as resumptions
    assert [a.attempt for a in done.status.attempts] == [1, 2]
    assert all(a.error and a.error.kind == ErrorKind.EXECUTION for a in done.status.attempts)


def test_non_retryable_errors_fail_at_once(kontinue_env: WorkflowEnvironment) -> None:
    worker = kontinue.Worker(group="failures")

    @worker.function("refuse", retry=ExecutionRetry(retries=5))
    async def refuse(ktx: kontinue.ExecutionContext, args: dict) -> None:
        raise NonRetryableError("bad request", details={"why": "prod is frozen"})

    with kontinue_env.running(worker):
        done = kontinue_env.wait(kontinue_env.execute(refuse, {}))
    assert done.status.phase == ExecutionPhase.FAILED
    assert done.status.error is not None
    assert done.status.error.message == "bad request"
    assert done.status.error.retryable is False
    assert done.status.error.details == {"why": "prod is frozen"}
    assert done.status.attempts == []


def test_a_child_failure_is_a_typed_exception_in_the_parent(
    kontinue_env: WorkflowEnvironment,
) -> None:
    worker = kontinue.Worker(group="failures")
    seen: list[ChildFailed] = []

    @worker.function("breaks")
    async def breaks(ktx: kontinue.ExecutionContext, args: dict) -> None:
        raise NonRetryableError("disk full")

    @worker.function("catches")
    async def catches(ktx: kontinue.ExecutionContext, args: dict) -> str:
        try:
            await ktx.execute(breaks, {})
        except ChildFailed as failure:
            seen.append(failure)
            return f"recovered from {failure.child_error.message if failure.child_error else ''}"
        return "unreachable"

    with kontinue_env.running(worker):
        done = kontinue_env.wait(kontinue_env.execute(catches, {}))
    assert done.status.result == "recovered from disk full"
    assert seen[0].child.endswith("-0")
    assert seen[0].kind == ErrorKind.CHILD_FAILED


def test_invalid_arguments_fail_with_a_validation_error_naming_the_field(
    kontinue_env: WorkflowEnvironment,
) -> None:
    worker = kontinue.Worker(group="failures")

    @worker.function("scale")
    async def scale(ktx: kontinue.ExecutionContext, args: Args) -> int:
        return args.replicas

    with kontinue_env.running(worker):
        bad = kontinue_env.wait(
            create_execution(kontinue_env, "scale", {"replicas": "many"}, group="failures")
        )
        good = kontinue_env.wait(kontinue_env.execute("scale", {"replicas": 3}))
    assert bad.status.phase == ExecutionPhase.FAILED
    assert bad.status.error is not None and bad.status.error.kind == ErrorKind.VALIDATION
    assert "replicas" in bad.status.error.message
    assert bad.status.error.details[0]["field"] == "replicas"
    assert good.status.result == 3


def test_an_unknown_function_fails_after_a_grace_period(kontinue_env: WorkflowEnvironment) -> None:
    worker = kontinue.Worker(group="failures")

    @worker.function("known")
    async def known(ktx: kontinue.ExecutionContext) -> None:
        return None

    with kontinue_env.running(worker):
        name = create_execution(kontinue_env, "nope", group="failures")
        waiting = kontinue_env.wait(
            name,
            phases={ExecutionPhase.PENDING},
            until=lambda ex: "waiting for a worker" in (ex.status.message or ""),
        )
        assert "waiting for a worker that runs function 'nope'" in (waiting.status.message or "")
        kontinue_env.advance(timedelta(seconds=11))
        done = kontinue_env.wait(name)
    assert done.status.phase == ExecutionPhase.FAILED
    assert done.status.error is not None and done.status.error.kind == ErrorKind.VALIDATION
    assert "runs function 'nope'" in done.status.error.message
    assert "known" in done.status.error.message


def test_an_oversized_result_fails_cleanly(kontinue_env: WorkflowEnvironment) -> None:
    worker = kontinue.Worker(group="failures")

    @worker.function("huge")
    async def huge(ktx: kontinue.ExecutionContext) -> str:
        return "x" * (1024 * 1024 + 10)

    with kontinue_env.running(worker):
        done = kontinue_env.wait(kontinue_env.execute(huge, {}))
    assert done.status.phase == ExecutionPhase.FAILED
    assert done.status.error is not None and done.status.error.retryable is False
    assert "byte limit" in done.status.error.message


def test_a_reused_step_name_is_an_error(kontinue_env: WorkflowEnvironment) -> None:
    worker = kontinue.Worker(group="failures")

    @worker.function("twice")
    async def twice(ktx: kontinue.ExecutionContext) -> None:
        await ktx.store(lambda: 1, step="token")
        await ktx.store(lambda: 2, step="token")

    with kontinue_env.running(worker):
        done = kontinue_env.wait(kontinue_env.execute(twice, {}))
    assert done.status.phase == ExecutionPhase.FAILED
    assert done.status.error is not None and done.status.error.kind == ErrorKind.INTERNAL
    assert "'token' is used twice" in done.status.error.message


@pytest.mark.parametrize(
    "policy", [ChildPolicy.NONE, ChildPolicy.RETRY_FAILED, ChildPolicy.RETRY_ALL]
)
def test_child_policies_decide_which_children_run_again(
    kontinue_env: WorkflowEnvironment, policy: ChildPolicy
) -> None:
    worker = kontinue.Worker(group="failures")
    runs: dict[str, int] = {"good": 0, "bad": 0}

    @worker.function("good")
    async def good(ktx: kontinue.ExecutionContext) -> str:
        runs["good"] += 1
        return "fine"

    @worker.function("bad")
    async def bad(ktx: kontinue.ExecutionContext) -> str:
        runs["bad"] += 1
        if runs["bad"] == 1:
            raise NonRetryableError("first time fails")
        return "fixed"

    @worker.function(
        "pipeline",
        retry=ExecutionRetry(retries=1, backoff=timedelta(seconds=5), child_policy=policy),
    )
    async def pipeline(ktx: kontinue.ExecutionContext) -> list[str]:
        first = await ktx.execute(good)
        try:
            second = await ktx.execute(bad)
        except ChildFailed as failure:
            raise kontinue.RetryableError("bad child") from failure
        return [first, second]

    with kontinue_env.running(worker):
        name = kontinue_env.execute(pipeline, {})
        kontinue_env.wait(name, phases={ExecutionPhase.BACKOFF})
        kontinue_env.advance(timedelta(seconds=5))
        done = kontinue_env.wait(name)
    assert runs["good"] == (2 if policy == ChildPolicy.RETRY_ALL else 1)
    if policy == ChildPolicy.NONE:
        assert done.status.phase == ExecutionPhase.FAILED  # the failed child is kept too
        assert runs["bad"] == 1
    else:
        assert done.status.phase == ExecutionPhase.COMPLETED, done.status
        assert done.status.result == ["fine", "fixed"]
        assert runs["bad"] == 2


def test_a_refused_status_write_interrupts_the_run_instead_of_failing_it(
    kontinue_env: WorkflowEnvironment,
) -> None:
    """A kube-apiserver that just restarted answers 403 until its authorizer has synced (and
    a missing permission can be granted): the run is replayed, the execution does not fail."""
    worker = kontinue.Worker(group="failures")

    @worker.function("steps")
    async def steps(ktx: kontinue.ExecutionContext) -> int:
        first = await ktx.store(lambda: 1)
        second = await ktx.store(lambda: 2)
        return first + second

    refused: list[str] = []

    async def refusing(request: Request, send: Send) -> Response:
        if request.method == "PATCH" and request.path.endswith("/status") and len(refused) < 3:
            refused.append(request.path)
            body = orjson.dumps(
                {
                    "kind": "Status",
                    "status": "Failure",
                    "reason": "Forbidden",
                    "code": 403,
                    "message": "executions.kontinue.cloud is forbidden: RBAC: not synced",
                }
            )
            return Response(403, {"Content-Type": "application/json"}, body)
        return await send(request)

    with kontinue_env.running(worker, intercept=refusing):
        done = kontinue_env.wait(kontinue_env.execute(steps, {}), timeout=30)
    assert len(refused) == 3
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status
    assert done.status.result == 3


def test_a_status_too_large_for_the_server_fails_the_execution_clearly(
    kontinue_env: WorkflowEnvironment,
) -> None:
    worker = kontinue.Worker(group="failures")

    @worker.function("hoarder")
    async def hoarder(ktx: kontinue.ExecutionContext) -> int:
        first = await ktx.store(lambda: "a" * 900_000)
        second = await ktx.store(lambda: "b" * 900_000)
        return len(first) + len(second)

    with kontinue_env.running(worker):
        done = kontinue_env.wait(kontinue_env.execute(hoarder, {}))
    assert done.status.phase == ExecutionPhase.FAILED
    assert done.status.error is not None and done.status.error.retryable is False
    assert "refused the status" in done.status.error.message
    assert "too large" in done.status.error.message
    # what was recorded before is kept; the second call is on record, its value is not
    assert done.status.steps["0"].state == StepState.DONE
    assert done.status.steps["1"].state == StepState.PENDING


def _deep(n: int) -> None:
    if n == 0:
        raise ValueError("bad input at the bottom")
    _deep(n - 1)


def test_a_failed_attempt_records_its_exception_type_and_traceback(
    kontinue_env: WorkflowEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    """Failures used to carry only a message: where it was raised was lost."""
    worker = kontinue.Worker(group="failures")

    @worker.function("shallow", retry=ExecutionRetry(retries=1, backoff=timedelta(seconds=5)))
    async def shallow(ktx: kontinue.ExecutionContext) -> None:
        _deep(1)

    @worker.function("deep")
    async def deep(ktx: kontinue.ExecutionContext) -> None:
        raise ValueError("x" * 3 * TRACEBACK_LIMIT + " end")

    with caplog.at_level(logging.WARNING, logger="kontinue"), kontinue_env.running(worker):
        name = kontinue_env.execute(shallow, {})
        kontinue_env.wait(name, phases={ExecutionPhase.BACKOFF})
        kontinue_env.advance(timedelta(seconds=5))
        failed = kontinue_env.wait(name)
        deep_failed = kontinue_env.wait(kontinue_env.execute(deep, {}))
    error = failed.status.error
    assert error is not None and error.type == "ValueError"
    assert error.traceback is not None
    lines = error.traceback.splitlines()
    assert lines[0] == "Traceback (most recent call last):", lines  # no worker frames above
    assert "in shallow" in lines[1] and "_runs.py" not in error.traceback
    assert lines[-2].strip() == 'raise ValueError("bad input at the bottom")'
    assert lines[-1] == "ValueError: bad input at the bottom"
    first = failed.status.attempts[0].error
    assert first is not None and first.traceback == error.traceback
    long = deep_failed.status.error
    assert long is not None and long.traceback is not None
    assert len(long.traceback) <= TRACEBACK_LIMIT
    assert long.traceback.startswith("(earlier lines left out)")
    assert long.traceback.endswith("xxx end")
    logged = [r for r in caplog.records if "attempt 1 failed: ValueError" in r.getMessage()]
    assert logged and all(r.exc_info for r in logged)
