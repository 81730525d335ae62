"""ScheduledExecution: start executions of a function on a cron schedule, like a CronJob.

The fields mirror ``batch/v1`` CronJob where the meaning is the same (``timeZone``, ``suspend``,
``concurrencyPolicy``, ``startingDeadlineSeconds``), so its users know what to expect about
overlapping runs and runs missed while the controller was down.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import Field

from ._meta import Condition, KontinueModel, Resource, ResourceNames, Time
from .executions import ExecutionMutex, ExecutionRetry, ExecutionTimeout, ExecutionTTL

__all__ = [
    "ActiveRun",
    "ConcurrencyPolicy",
    "ExecutionDefaults",
    "ScheduledExecution",
    "ScheduledExecutionSpec",
    "ScheduledExecutionStatus",
]


class ConcurrencyPolicy(StrEnum):
    """What to do when a run is due while the previous one still runs: Allow starts it anyway,
    Forbid skips it, Replace cancels the running one and starts the new one."""

    ALLOW = "Allow"
    FORBID = "Forbid"
    REPLACE = "Replace"


class ExecutionDefaults(KontinueModel):
    """Options of every execution the schedule starts (absent ones: the function's defaults)."""

    retry: ExecutionRetry | None = None
    """Retries of failed attempts."""
    timeout: ExecutionTimeout | None = None
    """Attempt and overall time limits."""
    ttl: ExecutionTTL | None = None
    """Archiving and deletion of finished executions."""
    mutex: ExecutionMutex | None = None
    """A named mutex each execution holds while it runs."""


class ScheduledExecutionSpec(KontinueModel):
    """When to start executions, of what, and how to handle overlaps."""

    schedule: str = Field(min_length=1)
    """Cron expression with 5 fields (minute hour day-of-month month day-of-week), or a
    macro such as ``@hourly``."""
    time_zone: str | None = None
    """IANA time zone of the schedule, e.g. ``Europe/Paris``; absent: UTC."""
    function: str = Field(min_length=1)
    """Name of the function to run."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """Arguments of every execution (JSON)."""
    execution_defaults: ExecutionDefaults | None = None
    """Retry, timeout, TTL and mutex options of every execution."""
    history_limit: int = Field(default=5, ge=0)
    """Finished executions kept; older ones are deleted."""
    suspend: bool = False
    """True stops starting new executions (running ones are not affected)."""
    concurrency_policy: ConcurrencyPolicy = ConcurrencyPolicy.ALLOW
    """Allow, Forbid or Replace a run that is due while the previous one still runs."""
    starting_deadline_seconds: int | None = Field(default=None, ge=0)
    """A run missed by more than this many seconds (e.g. while the controller was down) is
    skipped and counted in ``status.missedRuns``; absent: the latest missed run still starts."""


class ActiveRun(KontinueModel):
    """An execution the schedule started that has not finished."""

    name: str
    """Name of the Execution."""
    scheduled_time: Time | None = None
    """The schedule time it was started for."""


class ScheduledExecutionStatus(KontinueModel):
    """What the schedule did, written by the schedule controller."""

    active: list[ActiveRun] = Field(default_factory=list)
    """Executions started by the schedule that are still running."""
    last_schedule_time: Time | None = None
    """The schedule time of the latest started execution."""
    last_successful_time: Time | None = None
    """When the latest execution that completed successfully finished."""
    next_schedule_time: Time | None = None
    """When the next execution is due."""
    missed_runs: int = Field(default=0, ge=0)
    """Runs skipped because they were missed by more than the starting deadline or forbidden
    by the concurrency policy."""
    message: str | None = None
    """Human-readable state, e.g. an invalid schedule or time zone."""
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    """Standard conditions, for generic status tools."""


class ScheduledExecution(Resource):
    """Executions of a function started on a cron schedule.

    Executions it starts carry the ``kontinue.cloud/scheduled-execution`` label.
    """

    names: ClassVar[ResourceNames] = ResourceNames(
        "ScheduledExecution", "scheduledexecutions", "scheduledexecution", ("sched",)
    )

    kind: Literal["ScheduledExecution"] = "ScheduledExecution"
    """The kind of this object."""
    spec: ScheduledExecutionSpec
    """When to start executions, of what, and how to handle overlaps."""
    status: ScheduledExecutionStatus = Field(default_factory=ScheduledExecutionStatus)
    """What the schedule did."""
