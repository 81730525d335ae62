"""Client requests made with plain API writes: cancel, skip, rerun, resume; and timeouts."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta

from pydantic import BaseModel

import kontinue
from kontinue.api import (
    ChildPolicy,
    ErrorKind,
    ExecutionPhase,
    ExecutionTimeout,
    SuspensionPhase,
)
from kontinue.sdk import ChildCanceled
from kontinue.testing import WorkflowEnvironment, eventually

from ..kubectl_writes import request_resume

ALL_PHASES = frozenset(ExecutionPhase)


class Approval(BaseModel):
    approved: bool
    by: str


def test_cancel_reaches_the_running_task_children_and_suspensions(
    kontinue_env: WorkflowEnvironment,
) -> None:
    worker = kontinue.Worker(group="control")
    cancelled: list[str] = []

    @worker.function("slow-child")
    async def slow_child(ktx: kontinue.ExecutionContext) -> None:
        await ktx.suspend("never resumed")

    @worker.function("busy")
    async def busy(ktx: kontinue.ExecutionContext) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(ktx.name)
            raise

    @worker.function("tree")
    async def tree(ktx: kontinue.ExecutionContext) -> None:
        await asyncio.gather(ktx.execute(slow_child), ktx.suspend("approve?"))

    with kontinue_env.running(worker):
        running = kontinue_env.execute(busy, {})
        kontinue_env.wait(running, phases={ExecutionPhase.EXECUTING})
        kontinue_env.cancel(running, "not needed")
        stopped = kontinue_env.wait(running)

        root = kontinue_env.execute(tree, {})
        kontinue_env.wait(
            root,
            phases={ExecutionPhase.EXECUTING, ExecutionPhase.SUSPENDED},
            until=lambda ex: len(ex.status.steps) == 2,
        )
        [child] = kontinue_env.children(root)
        kontinue_env.wait(child.metadata.name or "", phases={ExecutionPhase.SUSPENDED})
        kontinue_env.cancel(root, "stop everything")
        ended = kontinue_env.wait(root)
        child_done = kontinue_env.wait(child.metadata.name or "")
        eventually(
            lambda: not any(s.is_waiting for s in kontinue_env.suspensions()),
            what="every suspension to end",
        )
        suspensions = kontinue_env.suspensions()
    assert stopped.status.phase == ExecutionPhase.CANCELED
    assert stopped.status.message == "not needed"
    assert cancelled == [running]
    assert ended.status.phase == ExecutionPhase.CANCELED
    assert child_done.status.phase == ExecutionPhase.CANCELED
    assert {s.status.phase for s in suspensions} == {SuspensionPhase.CANCELED}


def test_skip_hands_the_given_result_to_the_parent(kontinue_env: WorkflowEnvironment) -> None:
    worker = kontinue.Worker(group="control")

    @worker.function("stuck")
    async def stuck(ktx: kontinue.ExecutionContext) -> int:
        await ktx.suspend("waiting forever")
        return 1

    @worker.function("caller")
    async def caller(ktx: kontinue.ExecutionContext) -> int:
        return await ktx.execute(stuck) + 100

    with kontinue_env.running(worker):
        root = kontinue_env.execute(caller, {})
        kontinue_env.wait(
            root, phases={ExecutionPhase.EXECUTING}, until=lambda ex: bool(ex.status.steps)
        )
        [child] = kontinue_env.children(root)
        kontinue_env.wait(child.metadata.name or "", phases={ExecutionPhase.SUSPENDED})
        kontinue_env.skip(child.metadata.name or "", result=41, reason="done by hand")
        done = kontinue_env.wait(root)
        skipped = kontinue_env.get(child.metadata.name or "")
    assert skipped.status.phase == ExecutionPhase.SKIPPED
    assert skipped.status.result == 41
    assert done.status.result == 141


def test_a_canceled_child_is_a_typed_exception(kontinue_env: WorkflowEnvironment) -> None:
    worker = kontinue.Worker(group="control")

    @worker.function("waits")
    async def waits(ktx: kontinue.ExecutionContext) -> None:
        await ktx.suspend()

    @worker.function("parent")
    async def parent(ktx: kontinue.ExecutionContext) -> str:
        try:
            await ktx.execute(waits)
        except ChildCanceled as error:
            return error.message
        return "no"

    with kontinue_env.running(worker):
        root = kontinue_env.execute(parent, {})
        kontinue_env.wait(
            root, until=lambda ex: bool(ex.status.steps), phases={ExecutionPhase.EXECUTING}
        )
        [child] = kontinue_env.children(root)
        kontinue_env.cancel(child.metadata.name or "")
        done = kontinue_env.wait(root)
    assert done.status.result == f"child execution {child.metadata.name} (waits) was canceled"


def test_rerun_of_a_failed_execution_starts_a_new_attempt(
    kontinue_env: WorkflowEnvironment,
) -> None:
    worker = kontinue.Worker(group="control")
    outcomes = iter([RuntimeError("broken"), "fixed"])

    @worker.function("once-broken")
    async def once_broken(ktx: kontinue.ExecutionContext) -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise kontinue.NonRetryableError(str(outcome))
        return outcome

    with kontinue_env.running(worker):
        name = kontinue_env.execute(once_broken, {})
        failed = kontinue_env.wait(name)
        assert failed.status.phase == ExecutionPhase.FAILED
        kontinue_env.retry(name)
        done = kontinue_env.wait(name, until=lambda ex: ex.status.reruns == 1)
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status
    assert done.status.result == "fixed"
    assert done.status.attempt == 2
    assert [a.phase for a in done.status.attempts] == [ExecutionPhase.FAILED]


def test_retry_failed_runs_again_the_children_a_cancel_canceled(
    kontinue_env: WorkflowEnvironment,
) -> None:
    """Canceling a parent cancels its waiting child, but the parent's step for it stays
    Pending (its run was stopped): RetryFailed kept that step and the retry failed at once
    with 'child execution ... was canceled' instead of running the child again."""
    worker = kontinue.Worker(group="control")

    @worker.function("ask")
    async def ask(ktx: kontinue.ExecutionContext) -> str:
        await ktx.suspend("go on?")
        return "answered"

    @worker.function("asker")
    async def asker(ktx: kontinue.ExecutionContext) -> str:
        return await ktx.execute(ask, result_type=str)

    with kontinue_env.running(worker):
        name = kontinue_env.execute(asker, {})
        kontinue_env.wait(name, phases={ExecutionPhase.EXECUTING, ExecutionPhase.SUSPENDED},
                          until=lambda e: "0" in e.status.steps)  # fmt: skip
        first_child = kontinue_env.get(name).status.steps["0"].child
        assert first_child is not None
        kontinue_env.wait(first_child, phases={ExecutionPhase.SUSPENDED})
        kontinue_env.cancel(name)
        assert kontinue_env.wait(first_child).status.phase == ExecutionPhase.CANCELED
        assert kontinue_env.wait(name).status.phase == ExecutionPhase.CANCELED
        kontinue_env.retry(name, ChildPolicy.RETRY_FAILED)
        again = kontinue_env.wait(
            name,
            phases={ExecutionPhase.EXECUTING, ExecutionPhase.SUSPENDED},
            until=lambda e: (
                e.status.reruns == 1
                and (e.status.steps.get("0") or e).child not in (None, first_child)
            ),
        )
        second_child = again.status.steps["0"].child
        assert second_child is not None
        [suspension] = [s for s in kontinue_env.suspensions(second_child) if s.is_waiting]
        kontinue_env.resume(suspension.metadata.name or "")
        done = kontinue_env.wait(name)
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status
    assert done.status.result == "answered"


def test_a_manual_suspension_returns_validated_resume_data(
    kontinue_env: WorkflowEnvironment,
) -> None:
    worker = kontinue.Worker(group="control")

    @worker.function("gate")
    async def gate(ktx: kontinue.ExecutionContext) -> str:
        approval = await ktx.suspend("Approve prod?", data=Approval)
        return f"{approval.by}:{approval.approved}"

    with kontinue_env.running(worker):
        name = kontinue_env.execute(gate, {})
        suspended = kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED})
        assert "Approve prod?" in (suspended.status.message or "")
        suspension = kontinue_env.wait_for_suspension(name)
        assert suspension.spec.data_schema is not None
        assert suspension.spec.data_schema["required"] == ["approved", "by"]
        request_resume(kontinue_env, suspension.metadata.name or "", {"approved": "maybe"})
        rejected = eventually(
            lambda: next((s for s in kontinue_env.suspensions(name) if s.status.message), None),
            what="the resume data to be rejected",
        )
        assert rejected.is_waiting
        assert "resume data rejected" in (rejected.status.message or "")
        kontinue_env.resume(
            suspension.metadata.name or "", {"approved": True, "by": "ana"}, by="ana"
        )
        done = kontinue_env.wait(name)
    assert done.status.result == "ana:True"


def test_poll_checks_until_a_value_and_times_out(kontinue_env: WorkflowEnvironment) -> None:
    worker = kontinue.Worker(group="control")
    checks: list[int] = []

    @worker.function("until-ready")
    async def until_ready(ktx: kontinue.ExecutionContext) -> str:
        def check() -> str | None:
            checks.append(1)
            return "ready" if len(checks) >= 3 else None

        return await ktx.poll(check, interval=timedelta(minutes=1))

    @worker.function("never-ready")
    async def never_ready(ktx: kontinue.ExecutionContext) -> str:
        return await ktx.poll(lambda: None, interval="1m", timeout="5m")

    with kontinue_env.running(worker):
        name = kontinue_env.execute(until_ready, {})
        kontinue_env.wait(
            name, phases={ExecutionPhase.EXECUTING}, until=lambda ex: bool(ex.status.steps)
        )
        kontinue_env.advance(timedelta(minutes=1))
        kontinue_env.wait(
            name, phases={ExecutionPhase.EXECUTING}, until=lambda ex: len(checks) >= 2
        )
        kontinue_env.advance(timedelta(minutes=1))
        done = kontinue_env.wait(name)
        never = kontinue_env.execute(never_ready, {})
        kontinue_env.wait(
            never, phases={ExecutionPhase.EXECUTING}, until=lambda ex: bool(ex.status.steps)
        )
        for _ in range(5):
            kontinue_env.advance(timedelta(minutes=1))
        timed_out = kontinue_env.wait(never)
    assert done.status.result == "ready"
    assert len(checks) == 3
    assert timed_out.status.phase == ExecutionPhase.FAILED
    assert timed_out.status.error is not None
    assert timed_out.status.error.kind == ErrorKind.TIMEOUT


def _at_half_second(env: WorkflowEnvironment) -> datetime:
    """Move the test clock to the middle of a second (where rounding to seconds shows)."""
    now = env.clock.now()
    return env.advance(timedelta(microseconds=(1_500_000 - now.microsecond) % 1_000_000))


def test_poll_keeps_its_interval_however_late_a_check_wakes(
    kontinue_env: WorkflowEnvironment,
) -> None:
    """interval=1s checks once a second; it used to round each next check up past a whole
    second after now + interval, so checks that woke late came every 2 s."""
    worker = kontinue.Worker(group="control")
    checks: list[datetime] = []

    @worker.function("every-second")
    async def every_second(ktx: kontinue.ExecutionContext) -> int:
        def check() -> int | None:
            checks.append(kontinue_env.clock.now())
            return len(checks) if len(checks) >= 8 else None

        return await ktx.poll(check, interval=timedelta(seconds=1))

    _at_half_second(kontinue_env)
    with kontinue_env.running(worker):
        name = kontinue_env.execute(every_second, {})
        kontinue_env.wait(name, phases={ExecutionPhase.EXECUTING}, until=lambda _: bool(checks))
        grid = checks[0].replace(microsecond=0) + timedelta(seconds=1)
        due = grid + timedelta(seconds=1)
        while len(checks) < 8:
            seen = len(checks)
            now = kontinue_env.advance(timedelta(milliseconds=300))
            if now >= due:
                kontinue_env.wait(
                    name,
                    phases={ExecutionPhase.EXECUTING, ExecutionPhase.COMPLETED},
                    until=lambda _, seen=seen: len(checks) > seen,  # type: ignore[misc]
                    timeout=10,
                )
                while due <= now:
                    due += timedelta(seconds=1)
        done = kontinue_env.wait(name)
    assert done.status.result == 8
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(checks)]
    assert max(gaps[1:]) <= 1.3, gaps


def test_a_poll_timeout_never_ends_early_after_a_replay(
    kontinue_env: WorkflowEnvironment,
) -> None:
    """A poll's start is recorded in whole seconds; a replay used to count the timeout from the
    truncated start, so it ended up to a second early."""
    worker = kontinue.Worker(group="control")
    checks: list[datetime] = []

    def check() -> None:
        checks.append(kontinue_env.clock.now())

    @worker.function("never-ready-soon")
    async def never_ready(ktx: kontinue.ExecutionContext) -> str:
        return await ktx.poll(check, interval="1s", timeout="3s")

    started = _at_half_second(kontinue_env)
    with kontinue_env.running(worker):
        name = kontinue_env.execute(never_ready, {})
        kontinue_env.wait(
            name, phases={ExecutionPhase.EXECUTING}, until=lambda ex: bool(ex.status.steps)
        )
    kontinue_env.advance(timedelta(milliseconds=300))
    with kontinue_env.running(worker):
        kontinue_env.wait(
            name, phases={ExecutionPhase.EXECUTING}, until=lambda ex: ex.status.resumptions > 0
        )
        kontinue_env.wait(name, phases={ExecutionPhase.EXECUTING}, until=lambda _: len(checks) > 1)
        kontinue_env.advance(timedelta(milliseconds=2400))  # 2.7 s after the start
        kontinue_env.wait(name, phases=ALL_PHASES, until=lambda _: len(checks) > 2)
        kontinue_env.advance(timedelta(milliseconds=900))
        ended = kontinue_env.wait(name)
    assert ended.status.phase == ExecutionPhase.FAILED
    assert checks[-1] >= started + timedelta(seconds=3), checks  # the check before it gave up


def test_attempt_and_overall_timeouts(kontinue_env: WorkflowEnvironment) -> None:
    worker = kontinue.Worker(group="control")

    @worker.function("sleepy")
    async def sleepy(ktx: kontinue.ExecutionContext) -> None:
        await ktx.sleep(timedelta(hours=2))

    with kontinue_env.running(worker):
        per_attempt = kontinue_env.execute(
            sleepy, {}, timeout=ExecutionTimeout(attempt=timedelta(minutes=30))
        )
        overall = kontinue_env.execute(
            sleepy, {}, timeout=ExecutionTimeout(overall=timedelta(hours=1))
        )
        kontinue_env.wait(per_attempt, phases={ExecutionPhase.SUSPENDED})
        kontinue_env.wait(overall, phases={ExecutionPhase.SUSPENDED})
        kontinue_env.advance(timedelta(minutes=31))
        attempt_failed = kontinue_env.wait(per_attempt)
        kontinue_env.advance(timedelta(minutes=30))
        overall_failed = kontinue_env.wait(overall)
    assert attempt_failed.status.phase == ExecutionPhase.FAILED
    assert attempt_failed.status.error is not None
    assert attempt_failed.status.error.kind == ErrorKind.TIMEOUT
    assert attempt_failed.status.error.retryable is True  # no retries configured: it fails
    assert overall_failed.status.error is not None
    assert overall_failed.status.error.kind == ErrorKind.TIMEOUT
    assert overall_failed.status.error.retryable is False


def test_a_status_edited_by_another_writer_is_re_read_and_the_run_goes_on(
    kontinue_env: WorkflowEnvironment,
) -> None:
    """The run's next write conflicts with the edit: it replays from what is there instead
    of stopping as if another worker had taken over."""
    worker = kontinue.Worker(group="control")

    @worker.function("gate")
    async def gate(ktx: kontinue.ExecutionContext) -> str:
        approval = await ktx.suspend("Approve prod?", data=Approval)
        return approval.by

    with kontinue_env.running(worker):
        name = kontinue_env.execute(gate, {})
        kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED})
        kontinue_env.admin.patch(
            "executions.kontinue.cloud",
            {"status": {"message": "edited by hand"}},
            name=name,
            status=True,
        )
        suspension = kontinue_env.wait_for_suspension(name)
        kontinue_env.resume(suspension.metadata.name or "", {"approved": True, "by": "ana"})
        done = kontinue_env.wait(name, timeout=20)
    assert done.status.result == "ana"
