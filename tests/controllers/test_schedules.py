"""ScheduledExecutions on the test clock: cadence, history, overlaps, downtime, suspension."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import kontinue
from kontinue.api import (
    API_VERSION,
    ExecutionPhase,
    ScheduledExecution,
    labels,
)
from kontinue.controllers import plan, run_name
from kontinue.testing import WorkflowEnvironment, eventually

SCHEDULES = "scheduledexecutions.kontinue.cloud"
EXECUTIONS = "executions.kontinue.cloud"


def _worker() -> kontinue.Worker:
    worker = kontinue.Worker(group="sched")

    @worker.function("tick")
    async def tick(ktx: kontinue.ExecutionContext, args: dict) -> str:
        return f"tick {args.get('n', 0)}"

    @worker.function("hang")
    async def hang(ktx: kontinue.ExecutionContext) -> None:
        await ktx.suspend("never")

    return worker


def _schedule(env: WorkflowEnvironment, name: str, function: str, **spec: Any) -> None:
    body = {
        "apiVersion": API_VERSION,
        "kind": "ScheduledExecution",
        "metadata": {"name": name},
        "spec": {"schedule": "*/5 * * * *", "function": function, **spec},
    }
    env.kube.create(body)


def _get(env: WorkflowEnvironment, name: str) -> ScheduledExecution:
    return ScheduledExecution.model_validate(env.kube.get(SCHEDULES, name))


def _runs(env: WorkflowEnvironment, name: str) -> list[dict[str, Any]]:
    items = env.kube.list(EXECUTIONS, label_selector=f"{labels.LABEL_SCHEDULED_EXECUTION}={name}")
    return sorted(items, key=lambda e: e["metadata"]["name"])


def _to_next_five_minutes(env: WorkflowEnvironment) -> datetime:
    now = env.clock.now()
    target = now.replace(second=0, microsecond=0) + timedelta(minutes=5 - now.minute % 5)
    env.clock.set(target)
    return target


def _all_done(env: WorkflowEnvironment, name: str, count: int) -> bool:
    runs = _runs(env, name)
    return len(runs) == count and all(
        (r.get("status") or {}).get("phase") == "Completed" for r in runs
    )


def test_a_schedule_runs_every_five_minutes_for_an_hour_and_keeps_its_history(
    kontinue_env: WorkflowEnvironment,
) -> None:
    with kontinue_env.running(_worker()):
        _schedule(kontinue_env, "every5", "tick", arguments={"n": 7}, historyLimit=3)
        started: list[str] = []
        for _ in range(12):
            due = _to_next_five_minutes(kontinue_env)
            expected = run_name("every5", due)
            eventually(
                lambda e=expected: (
                    kontinue_env.get(e).status.phase.is_terminal
                    if e in {r["metadata"]["name"] for r in _runs(kontinue_env, "every5")}
                    else False
                )
            )
            started.append(expected)
        eventually(lambda: len(_runs(kontinue_env, "every5")) == 3)
        status = eventually(
            lambda: (
                (s := _get(kontinue_env, "every5").status).last_successful_time
                and s.last_schedule_time == kontinue_env.clock.now()
                and not s.active
                and s
            )
        )
    kept = [r["metadata"]["name"] for r in _runs(kontinue_env, "every5")]
    assert kept == sorted(started[-3:])
    assert kontinue_env.get(kept[-1]).status.result == "tick 7"
    assert status.last_schedule_time == kontinue_env.clock.now()
    assert status.next_schedule_time == kontinue_env.clock.now() + timedelta(minutes=5)
    assert status.missed_runs == 0 and status.active == []


def test_forbid_skips_and_replace_cancels_overlapping_runs(
    kontinue_env: WorkflowEnvironment,
) -> None:
    with kontinue_env.running(_worker()):
        _schedule(kontinue_env, "forbid", "hang", concurrencyPolicy="Forbid")
        _schedule(kontinue_env, "replace", "hang", concurrencyPolicy="Replace")
        first = _to_next_five_minutes(kontinue_env)
        eventually(lambda: len(_runs(kontinue_env, "forbid")) == 1)
        eventually(lambda: len(_runs(kontinue_env, "replace")) == 1)
        kontinue_env.wait(run_name("replace", first), phases={ExecutionPhase.SUSPENDED})
        second = _to_next_five_minutes(kontinue_env)
        forbidden = eventually(
            lambda: (s := _get(kontinue_env, "forbid").status).missed_runs == 1 and s
        )
        eventually(lambda: len(_runs(kontinue_env, "replace")) == 2)
        replaced = kontinue_env.wait(run_name("replace", first))
        newest = kontinue_env.wait(run_name("replace", second), phases={ExecutionPhase.SUSPENDED})
    assert len(_runs(kontinue_env, "forbid")) == 1
    assert "concurrencyPolicy Forbid" in (forbidden.message or "")
    assert [a.name for a in forbidden.active] == [run_name("forbid", first)]
    assert replaced.status.phase == ExecutionPhase.CANCELED
    assert "replaced by a newer run" in (replaced.status.message or "")
    assert newest.status.phase == ExecutionPhase.SUSPENDED


def test_after_downtime_one_missed_run_starts_and_the_rest_are_counted(
    kontinue_env: WorkflowEnvironment,
) -> None:
    with kontinue_env.running(_worker()):
        _schedule(kontinue_env, "catchup", "tick")
        _schedule(kontinue_env, "deadline", "tick", startingDeadlineSeconds=60)
        _to_next_five_minutes(kontinue_env)
        eventually(lambda: _all_done(kontinue_env, "catchup", 1))
        eventually(lambda: _all_done(kontinue_env, "deadline", 1))
    kontinue_env.advance(timedelta(minutes=62))  # the worker is down for 12 due times
    with kontinue_env.running(_worker()):
        eventually(lambda: _all_done(kontinue_env, "catchup", 2))
        catchup = eventually(
            lambda: (s := _get(kontinue_env, "catchup").status).missed_runs == 11 and s
        )
        late = eventually(
            lambda: (s := _get(kontinue_env, "deadline").status).missed_runs == 12 and s
        )
        kontinue_env.settled()  # no further run is on its way
    assert len(_runs(kontinue_env, "catchup")) == 2  # never a burst of catch-up runs
    assert len(_runs(kontinue_env, "deadline")) == 1  # missed by more than its deadline
    assert catchup.last_schedule_time is not None
    assert late.last_schedule_time == catchup.last_schedule_time


def test_suspend_and_resume_and_invalid_schedules(kontinue_env: WorkflowEnvironment) -> None:
    with kontinue_env.running(_worker()):
        _schedule(kontinue_env, "paused", "tick", suspend=True, startingDeadlineSeconds=30)
        _schedule(kontinue_env, "broken", "tick", schedule="61 * * * *")
        _to_next_five_minutes(kontinue_env)
        broken = eventually(lambda: (s := _get(kontinue_env, "broken").status).message and s)
        _to_next_five_minutes(kontinue_env)
        paused = eventually(lambda: (s := _get(kontinue_env, "paused").status).message and s)
        assert _runs(kontinue_env, "paused") == []
        # resumed right at a due time: that run starts (within the 30 s deadline); the one due
        # while suspended is counted as missed, as a CronJob counts it
        kontinue_env.kube.patch(SCHEDULES, {"spec": {"suspend": False}}, name="paused")
        eventually(lambda: _all_done(kontinue_env, "paused", 1))
        resumed = eventually(lambda: (s := _get(kontinue_env, "paused").status).active == [] and s)
        _to_next_five_minutes(kontinue_env)
        eventually(lambda: _all_done(kontinue_env, "paused", 2))
    assert resumed.missed_runs == 1 and resumed.message is None
    assert paused.message == "suspended" and paused.next_schedule_time is None
    assert "invalid schedule '61 * * * *'" in (broken.message or "")
    stalled = {c.type: c.status.value for c in broken.conditions}
    assert stalled == {"Ready": "False", "Stalled": "True"}


def test_plan_is_pure_and_handles_time_zones() -> None:
    schedule = ScheduledExecution.model_validate(
        {
            "metadata": {"name": "tz"},
            "spec": {"schedule": "0 9 * * *", "function": "f", "timeZone": "Europe/Paris"},
        }
    )
    since = datetime(2030, 6, 1, 0, 0, tzinfo=UTC)
    decided = plan(schedule, datetime(2030, 6, 3, 8, 0, tzinfo=UTC), since)
    assert decided.start == datetime(2030, 6, 3, 7, 0, tzinfo=UTC)  # 09:00 in Paris (CEST)
    assert decided.missed == 2
    assert decided.next_time == datetime(2030, 6, 4, 7, 0, tzinfo=UTC)
    bad = schedule.model_copy(
        update={"spec": schedule.spec.model_copy(update={"time_zone": "X/Y"})}
    )
    assert "unknown time zone 'X/Y'" in (plan(bad, since, since).error or "")
