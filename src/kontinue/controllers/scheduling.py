"""ScheduledExecutions: start executions on a cron schedule, the way CronJob users expect.

The leader of the worker group that runs a schedule's function owns the schedule. At each due
time it creates one Execution named ``<schedule>-<minutes since the epoch>``: a second leader (or
a retry) asking for the same run gets AlreadyExists, so a run never starts twice. After
downtime, at most the latest missed run starts (unless it is older than the starting deadline);
the others are counted in ``status.missedRuns``. Overlaps follow ``concurrencyPolicy``: Allow,
Forbid (the new run is skipped and counted) or Replace (the running ones are canceled).
Finished executions beyond ``historyLimit`` are deleted, oldest first.

:func:`plan` decides without I/O; :class:`ScheduleController` carries it out.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from kontinue.api import (
    TERMINAL_PHASES,
    ConcurrencyPolicy,
    ExecutionPhase,
    ScheduledExecution,
    format_time,
    labels,
    parse_time,
)
from kontinue.api.bodies import execution_body
from kontinue.api.resources import EXECUTIONS, SCHEDULES
from kontinue.kube import AlreadyExists, Conflict, NotFound
from kontinue.kube.informing import Informer

if TYPE_CHECKING:
    from ._host import ControllerHost

__all__ = ["Plan", "ScheduleController", "plan", "run_name"]

JSON = dict[str, Any]
_TERMINAL = {p.value for p in TERMINAL_PHASES}
_COUNT_LIMIT = 10_000
_log = logging.getLogger("kontinue.controllers")


@dataclass(frozen=True)
class Plan:
    """What a schedule should do now."""

    start: datetime | None
    """The due time to start a run for (None: nothing to start now)."""
    latest: datetime | None
    """The latest due time passed (started or not), which becomes ``lastScheduleTime``."""
    missed: int
    """Due times passed over (missed while down, beyond the deadline)."""
    next_time: datetime | None
    """The next due time after now."""
    error: str | None = None
    """Why the schedule cannot run (bad cron expression or time zone)."""


def run_name(schedule: str, due: datetime) -> str:
    """The Execution name of the run due at ``due``: deterministic, so never created twice."""
    return f"{schedule[:240]}-{int(due.timestamp()) // 60}"


def _zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or "UTC")


def plan(schedule: ScheduledExecution, now: datetime, since: datetime) -> Plan:
    """The runs due in ``(since, now]`` for ``schedule``: the latest one to start (if within
    the starting deadline) and how many were passed over."""
    spec = schedule.spec
    if not croniter.is_valid(spec.schedule):
        return Plan(
            None,
            None,
            0,
            None,
            f"invalid schedule {spec.schedule!r}: use 5 cron fields "
            "(minute hour day-of-month month day-of-week) or @hourly/@daily/@weekly/@monthly",
        )
    try:
        zone = _zone(spec.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return Plan(None, None, 0, None, f"unknown time zone {spec.time_zone!r}: use an IANA name")
    local_since = since.astimezone(zone)
    cron = croniter(spec.schedule, local_since)
    due: list[datetime] = []
    count = 0
    while count < _COUNT_LIMIT:
        moment = cron.get_next(datetime).astimezone(UTC)
        if moment > now:
            break
        count += 1
        due = [moment]
    if count >= _COUNT_LIMIT:  # very long downtime: jump to the latest due time
        due = [croniter(spec.schedule, now.astimezone(zone)).get_prev(datetime).astimezone(UTC)]
    next_time = croniter(spec.schedule, now.astimezone(zone)).get_next(datetime).astimezone(UTC)
    if spec.suspend or not due:  # suspended: due runs wait, as a CronJob's do
        return Plan(None, None, 0, next_time)
    latest = due[0]
    missed = count - 1
    deadline = spec.starting_deadline_seconds
    if deadline is not None and now - latest > timedelta(seconds=deadline):
        return Plan(None, latest, missed + 1, next_time)
    return Plan(latest, latest, missed, next_time)


def _phase(obj: JSON) -> str:
    return str((obj.get("status") or {}).get("phase") or "Pending")


class ScheduleController:
    """Runs the schedules of one worker group (on its leader), with the engine's informers."""

    def __init__(self, engine: ControllerHost) -> None:

        self.engine = engine
        self.schedules = Informer(engine.client, SCHEDULES, engine.namespace, self._on_schedule)
        self._timers: dict[str, Any] = {}
        self._busy: set[str] = set()
        self._again: set[str] = set()

    # Events -----------------------------------------------------------------------------------

    def _on_schedule(self, event: str, obj: JSON) -> None:
        self.enqueue(str(obj["metadata"]["name"]))

    def execution_changed(self, obj: JSON) -> None:
        """An Execution changed: its schedule's status (active, history) may change too."""
        owner = ((obj.get("metadata") or {}).get("labels") or {}).get(
            labels.LABEL_SCHEDULED_EXECUTION
        )
        if owner:
            self.enqueue(owner)

    def leading(self) -> None:
        """This replica became the leader: look at every schedule."""
        for name in list(self.schedules.cache):
            self.enqueue(name)

    def enqueue(self, name: str) -> None:
        """Reconcile the schedule ``name`` soon (on the leader only)."""
        if not self.engine.leader.is_leader:
            return
        if name in self._busy:
            self._again.add(name)
            return
        self._busy.add(name)
        self.engine.spawn(self._loop(name), f"kontinue-schedule:{name}")

    async def _loop(self, name: str) -> None:
        try:
            while True:
                try:
                    await self._reconcile(name)
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    _log.warning("schedule %s: %s", name, error)
                    asyncio.get_running_loop().call_later(
                        self.engine.settings.retry_delay, self.enqueue, name
                    )
                if name not in self._again:
                    return
                self._again.discard(name)
        finally:
            self._busy.discard(name)

    # Reconciling ------------------------------------------------------------------------------

    def _owned(self, schedule: ScheduledExecution) -> bool:
        function = schedule.spec.function
        if function in self.engine.functions:
            return True
        # nobody publishes it: any leader may say so (identical writes, conflicts are harmless)
        return self.engine.group_of(function) is None

    async def _reconcile(self, name: str) -> None:
        obj = self.schedules.cache.get(name)
        if obj is None or not self.engine.leader.is_leader:
            return
        schedule = ScheduledExecution.model_validate(obj)
        if not self._owned(schedule):
            return
        runs = [
            e
            for e in self.engine.executions.cache.values()
            if ((e.get("metadata") or {}).get("labels") or {}).get(labels.LABEL_SCHEDULED_EXECUTION)
            == name
        ]
        active = [e for e in runs if _phase(e) not in _TERMINAL]
        now = self.engine.clock.now()
        status = schedule.status
        since = status.last_schedule_time or schedule.metadata.creation_timestamp or now
        decision = plan(schedule, now, since)
        patch: JSON = {}
        missed = status.missed_runs + decision.missed
        # a skip notice stays until the next run starts (other passes change nothing)
        message: str | None = status.message if status.message != "suspended" else None
        if decision.error is None and schedule.spec.function not in self.engine.functions:
            decision = Plan(None, None, 0, decision.next_time, None)
            message = f"no worker group publishes function {schedule.spec.function!r}"
        if decision.start is not None:
            policy = schedule.spec.concurrency_policy
            if active and policy == ConcurrencyPolicy.FORBID:
                missed += 1
                message = (
                    f"skipped the run due at {format_time(decision.start)}: "
                    f"{len(active)} still running (concurrencyPolicy Forbid)"
                )
            else:
                if active and policy == ConcurrencyPolicy.REPLACE:
                    for running in active:
                        await self._cancel(running, name)
                message = None
                created = await self._start(schedule, decision.start)
                if created is not None:
                    runs.append(created)
                    active = [e for e in runs if _phase(e) not in _TERMINAL]
        if decision.latest is not None:
            patch["lastScheduleTime"] = format_time(decision.latest)
        await self._prune(schedule, runs)
        succeeded = [
            parse_time((e.get("status") or {}).get("finishedAt"))
            for e in runs
            if _phase(e) == ExecutionPhase.COMPLETED.value
        ]
        finished = [t for t in succeeded if t is not None]
        patch.update(
            active=[
                _active_entry(e) for e in sorted(active, key=lambda e: str(e["metadata"]["name"]))
            ],
            nextScheduleTime=(
                format_time(decision.next_time)
                if decision.next_time and not schedule.spec.suspend
                else None
            ),
            missedRuns=missed,
            message=decision.error
            or ("suspended" if schedule.spec.suspend else None)
            or (message if message and not message.startswith("invalid schedule") else None),
        )
        if finished:
            patch["lastSuccessfulTime"] = format_time(max(finished))
        patch["conditions"] = _conditions(decision.error, status.conditions, now)
        await self._write(obj, patch)
        if decision.next_time is not None and not schedule.spec.suspend:
            self._wake(name, decision.next_time)

    def _wake(self, name: str, when: datetime) -> None:
        current = self._timers.get(name)
        if current is not None and not current.cancelled and current.when == when:
            return
        if current is not None:
            current.cancel()
        self._timers[name] = self.engine.timers.at(when, lambda: self.enqueue(name))

    async def _start(self, schedule: ScheduledExecution, due: datetime) -> JSON | None:
        name = schedule.metadata.name or ""
        execution_name = run_name(name, due)
        defaults = schedule.spec.execution_defaults
        body = execution_body(
            name=execution_name,
            namespace=self.engine.namespace,
            function=schedule.spec.function,
            arguments=schedule.spec.arguments,
            group=self.engine.group,
            retry=defaults.retry if defaults else None,
            timeout=defaults.timeout if defaults else None,
            ttl=defaults.ttl if defaults else None,
            mutex=defaults.mutex if defaults else None,
            extra_labels={labels.LABEL_SCHEDULED_EXECUTION: name},
            annotations={labels.ANNOTATION_SCHEDULED_TIME: format_time(due)},
        )
        try:
            created: JSON = await self.engine.client.create(body)
        except AlreadyExists:
            return None
        self.engine.observed(created)
        self.engine.record_event(
            schedule.model_dump(mode="json", by_alias=True, exclude_none=True),
            "Normal",
            "Started",
            f"started {execution_name} for {format_time(due)}",
        )
        return created

    async def _cancel(self, running: JSON, schedule: str) -> None:
        request = {
            "reason": f"replaced by a newer run of schedule {schedule}",
            "requestedAt": format_time(self.engine.clock.now()),
        }
        try:
            await self.engine.client.patch(
                EXECUTIONS,
                {"spec": {"cancel": request}},
                name=running["metadata"]["name"],
                namespace=self.engine.namespace,
            )
        except NotFound:
            pass

    async def _prune(self, schedule: ScheduledExecution, runs: list[JSON]) -> None:
        finished = sorted(
            (e for e in runs if _phase(e) in _TERMINAL),
            key=lambda e: (
                str((e.get("status") or {}).get("finishedAt") or ""),
                str(e["metadata"]["name"]),
            ),
        )
        excess = len(finished) - schedule.spec.history_limit
        for old in finished[: max(0, excess)]:
            try:
                await self.engine.client.delete(
                    EXECUTIONS,
                    old["metadata"]["name"],
                    namespace=self.engine.namespace,
                    propagation="Background",
                )
            except NotFound:
                pass
            runs.remove(old)

    async def _write(self, obj: JSON, patch: JSON) -> None:
        current = obj.get("status") or {}
        if all(current.get(k) == v for k, v in patch.items() if k != "conditions") and (
            _same_conditions(current.get("conditions") or [], patch["conditions"])
        ):
            return
        body = {
            "metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
            "status": patch,
        }
        try:
            answer = await self.engine.client.patch(
                SCHEDULES,
                body,
                name=obj["metadata"]["name"],
                namespace=self.engine.namespace,
                status=True,
            )
        except Conflict:
            fresh = await self.engine.client.get(
                SCHEDULES, obj["metadata"]["name"], namespace=self.engine.namespace
            )
            self.schedules.observe(fresh)
            self.enqueue(str(obj["metadata"]["name"]))
            return
        except NotFound:
            return
        self.schedules.observe(answer)


def _same_conditions(old: list[JSON], new: list[JSON]) -> bool:
    def key(items: list[JSON]) -> list[tuple[Any, ...]]:
        return sorted((c.get("type"), c.get("status"), c.get("reason")) for c in items)

    return key(old) == key(new)


def _conditions(error: str | None, previous: Any, now: datetime) -> list[JSON]:
    ready = "False" if error else "True"
    reason = "InvalidSchedule" if error else "Scheduled"
    since = format_time(now)
    for condition in previous or []:
        if condition.type == "Ready" and condition.status.value == ready:
            since = format_time(condition.last_transition_time or now)
    conditions = [
        {
            "type": "Ready",
            "status": ready,
            "reason": reason,
            "message": error or "the schedule is valid",
            "lastTransitionTime": since,
        }
    ]
    if error:
        conditions.append(
            {
                "type": "Stalled",
                "status": "True",
                "reason": reason,
                "message": error,
                "lastTransitionTime": since,
            }
        )
    return conditions


def _active_entry(execution: JSON) -> JSON:
    """A running execution as the schedule's status lists it (with the time it was due)."""
    meta = execution["metadata"]
    due = (meta.get("annotations") or {}).get(labels.ANNOTATION_SCHEDULED_TIME)
    return {"name": meta["name"], **({"scheduledTime": due} if due is not None else {})}
