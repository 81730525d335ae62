"""The pure parts of the engine: function definitions, child policies, conditions, timers."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from kontinue.api import (
    ChildPolicy,
    ExecutionPhase,
    ExecutionStep,
    StepKind,
    StepState,
    conditions_for,
)
from kontinue.clock import ManualClock
from kontinue.sdk import ValidationFailed
from kontinue.sdk._functions import define, function_def
from kontinue.timers import Timers
from kontinue.worker._steps import resource_name, steps_to_clear

T0 = datetime(2030, 1, 1, tzinfo=UTC)


class Args(BaseModel):
    count: int
    label: str = "x"


@dataclasses.dataclass
class Point:
    x: int
    y: int


def test_a_definition_reads_the_annotations() -> None:
    async def scale(ktx: Any, args: Args) -> Point:
        """Scales things."""
        return Point(args.count, 0)

    definition = define(scale)
    assert definition.name == "scale" and definition.is_async
    assert definition.description == "Scales things."
    assert definition.argument_schema["required"] == ["count"]
    assert definition.parse_arguments({"count": "3"}) == Args(count=3)
    assert definition.dump_result(Point(1, 2)) == {"x": 1, "y": 2}
    assert definition.parse_result({"x": 1, "y": 2}) == Point(1, 2)
    assert function_def(scale) is definition
    with pytest.raises(ValidationFailed, match="count: Input should be a valid integer"):
        definition.parse_arguments({"count": "many"})


def test_workflows_without_arguments_and_bad_signatures() -> None:
    def ping(ktx: Any) -> str:
        return "pong"

    definition = define(ping, "ping-it")
    assert definition.name == "ping-it" and not definition.is_async
    assert definition.parse_arguments({"ignored": 1}) is None
    assert definition.argument_schema == {"type": "object", "properties": {}}

    def too_many(ktx: Any, a: int, b: int) -> None:
        return None

    with pytest.raises(TypeError, match="takes 3 parameters"):
        define(too_many)


def test_results_that_are_not_json_are_a_validation_error() -> None:
    def odd(ktx: Any) -> Any:
        return object()

    with pytest.raises(ValidationFailed, match="cannot be stored as JSON"):
        define(odd).dump_result(object())


def _step(kind: StepKind, state: StepState = StepState.DONE) -> ExecutionStep:
    return ExecutionStep(kind=kind, state=state)


@pytest.mark.parametrize(
    ("policy", "cleared"),
    [
        (ChildPolicy.NONE, ["store", "sleep"]),
        (ChildPolicy.RETRY_FAILED, ["failed", "store", "sleep"]),
        (ChildPolicy.RETRY_ALL, ["done", "failed", "running", "store", "sleep"]),
    ],
)
def test_child_policies_choose_the_steps_a_new_attempt_repeats(
    policy: ChildPolicy, cleared: list[str]
) -> None:
    steps = {
        "done": _step(StepKind.EXECUTE),
        "failed": _step(StepKind.EXECUTE, StepState.FAILED),
        "running": _step(StepKind.EXECUTE, StepState.PENDING),
        "store": _step(StepKind.STORE),
        "sleep": _step(StepKind.SLEEP, StepState.PENDING),
    }
    assert steps_to_clear(steps, policy) == cleared


def test_resources_of_later_attempts_get_new_names() -> None:
    assert resource_name("deploy", "0", 1) == "deploy-0"
    second = resource_name("deploy", "0", 2)
    assert second.startswith("deploy-0-2-") and second != resource_name("deploy", "0", 3)


def test_conditions_follow_the_phase_and_keep_transition_times() -> None:
    running = conditions_for(ExecutionPhase.EXECUTING, None, [], T0, 1)
    assert {c["type"]: c["status"] for c in running} == {"Ready": "False", "Reconciling": "True"}
    later = conditions_for(ExecutionPhase.SUSPENDED, "waiting", running, T0 + timedelta(1), 1)
    assert later[0]["lastTransitionTime"] == running[0]["lastTransitionTime"]
    done = conditions_for(ExecutionPhase.COMPLETED, None, later, T0 + timedelta(2), 2)
    assert done == [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Completed",
            "message": "Completed",
            "lastTransitionTime": "2030-01-03T00:00:00Z",
            "observedGeneration": 2,
        }
    ]
    failed = conditions_for(ExecutionPhase.FAILED, "boom", [], T0, 1)
    assert {c["type"]: c["status"] for c in failed} == {"Ready": "False", "Stalled": "True"}


def test_timers_fire_when_a_manual_clock_reaches_them() -> None:
    async def scenario() -> list[str]:
        clock = ManualClock(T0)
        timers = Timers(clock)
        fired: list[str] = []
        task = asyncio.create_task(timers.run())
        timers.at(T0 + timedelta(hours=2), lambda: fired.append("2h"))
        timers.at(T0 + timedelta(hours=1), lambda: fired.append("1h"))
        cancelled = timers.at(T0 + timedelta(minutes=30), lambda: fired.append("never"))
        cancelled.cancel()
        await asyncio.sleep(0.01)
        assert fired == []
        clock.advance(timedelta(hours=1))
        await asyncio.sleep(0.01)
        assert fired == ["1h"]
        sleeper = asyncio.create_task(timers.sleep_until(T0 + timedelta(hours=3)))
        clock.advance(timedelta(hours=2))
        await asyncio.wait_for(sleeper, 1)
        task.cancel()
        return fired

    assert asyncio.run(scenario()) == ["1h", "2h"]


def test_a_work_queue_stops_even_when_woken_at_the_same_moment() -> None:
    from kontinue.devserver._work import WorkQueue

    async def scenario() -> None:
        for _ in range(20):
            queue: WorkQueue[str, None] = WorkQueue("test", lambda key, value: None, tick=0.05)
            queue.start()
            await asyncio.sleep(0.01)
            queue.add("key", None)  # completes the loop's wait in the same step as the cancel
            started = asyncio.get_running_loop().time()
            stopping = asyncio.create_task(queue.stop())
            await asyncio.wait({stopping}, timeout=1)
            assert stopping.done(), "the queue ignored its cancellation"
            assert asyncio.get_running_loop().time() - started < 1

    asyncio.run(scenario())


def test_durable_waits_round_up_to_whole_seconds() -> None:
    from kontinue.sdk._context import whole_second_after

    assert whole_second_after(T0) == T0
    assert whole_second_after(T0 + timedelta(milliseconds=1)) == T0 + timedelta(seconds=1)
    assert whole_second_after(T0 + timedelta(seconds=1, milliseconds=999)) == T0 + timedelta(
        seconds=2
    )
