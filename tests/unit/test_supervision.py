"""The generic machinery under the worker: TaskSet, ReconcileQueue, and sleeps on any clock."""

from __future__ import annotations

import asyncio
import logging

import pytest

from kontinue.clock import ManualClock
from kontinue.kube.queueing import ReconcileQueue
from kontinue.tasks import TaskSet, restarting
from kontinue.timers import sleep, within

_log = logging.getLogger("tests.supervision")


def test_a_task_set_logs_failures_and_gives_a_grace_before_cancelling(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> tuple[list[str], int]:
        tasks = TaskSet(_log)
        done: list[str] = []

        async def quick() -> None:
            await asyncio.sleep(0.01)
            done.append("quick")

        async def forever() -> None:
            await asyncio.Event().wait()

        async def broken() -> None:
            raise RuntimeError("boom")

        tasks.spawn(quick(), "quick")
        tasks.spawn(forever(), "forever")
        tasks.spawn(broken(), "broken")
        await asyncio.sleep(0)
        await tasks.close(grace=0.2)  # quick ends in its grace; forever is cancelled
        return done, len(tasks)

    with caplog.at_level(logging.ERROR, logger="tests.supervision"):
        done, left = asyncio.run(scenario())
    assert done == ["quick"]
    assert left == 0
    assert [r.getMessage() for r in caplog.records] == ["broken failed"]


def test_a_reconcile_queue_runs_one_at_a_time_per_key_and_once_more_if_asked_meanwhile() -> None:
    async def scenario() -> list[str]:
        calls: list[str] = []
        gate, third = asyncio.Event(), asyncio.Event()

        async def reconcile(key: str) -> None:
            calls.append(key)
            if len(calls) == 1:
                await gate.wait()
            if len(calls) == 3:
                third.set()

        queue = ReconcileQueue(reconcile, TaskSet(_log), retry_delay=0.01, logger=_log)
        queue.enqueue("a")
        await asyncio.sleep(0)
        for _ in range(3):  # while "a" runs: one more run, not three, and never at once
            queue.enqueue("a")
        queue.enqueue("b")  # other keys do not wait
        await asyncio.sleep(0.01)
        assert calls == ["a", "b"]
        assert not queue.idle
        gate.set()
        await asyncio.wait_for(third.wait(), 5)
        await asyncio.sleep(0.01)
        assert queue.idle
        return calls

    assert asyncio.run(scenario()) == ["a", "b", "a"]


def test_a_failed_reconcile_is_tried_again_after_the_delay(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> int:
        attempts = 0
        fixed = asyncio.Event()

        async def reconcile(key: str) -> None:
            nonlocal attempts
            attempts += 1
            if attempts == 1:
                raise RuntimeError("the API is down")
            fixed.set()

        queue = ReconcileQueue(reconcile, TaskSet(_log), retry_delay=0.01, logger=_log)
        queue.enqueue("x")
        await asyncio.wait_for(fixed.wait(), 5)
        return attempts

    with caplog.at_level(logging.WARNING, logger="tests.supervision"):
        assert asyncio.run(scenario()) == 2
    assert "reconcile of x failed: the API is down" in caplog.text


def test_restarting_runs_a_loop_again_after_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> int:
        runs = 0

        async def loop() -> None:
            nonlocal runs
            runs += 1
            if runs < 3:
                raise RuntimeError("dropped")

        await restarting(loop, "watch", 0.0, _log)
        return runs

    with caplog.at_level(logging.ERROR, logger="tests.supervision"):
        assert asyncio.run(scenario()) == 3
    assert caplog.text.count("watch failed; starting it again in 0 s") == 2


def test_sleep_and_within_follow_a_manual_clock() -> None:
    clock = ManualClock()

    async def scenario() -> None:
        sleeper = asyncio.create_task(sleep(clock, 10))
        await asyncio.sleep(0.01)
        clock.advance(9)
        await asyncio.sleep(0.01)
        assert not sleeper.done()
        clock.advance(1)
        await asyncio.wait_for(sleeper, 1)

        blocked = asyncio.Event()
        limited = asyncio.create_task(within(clock, 5, blocked.wait()))
        await asyncio.sleep(0.01)
        clock.advance(5)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(limited, 1)
        assert await within(clock, 5, asyncio.sleep(0, result="on time")) == "on time"

    asyncio.run(scenario())
