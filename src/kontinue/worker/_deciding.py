"""What a reconcile of one execution should do, decided without doing anything.

:func:`decide` looks at the execution and at what the worker knows about it (:class:`Facts`:
the time, its function, whether a run holds it, the worker's limits) and answers one
:class:`Decision`: an action and the times to look again. The engine carries it out. Keeping
the two apart lets every branch be tested by a table, and keeps the engine's reconcile short.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kontinue.api import (
    RERUNNABLE_PHASES,
    ErrorKind,
    Execution,
    ExecutionError,
    ExecutionPhase,
    ExecutionTimeout,
)
from kontinue.api.bodies import execution_labels
from kontinue.api.labels import LABEL_PARENT, LABEL_ROOT
from kontinue.sdk._functions import FunctionDef

__all__ = [
    "Action",
    "Adopt",
    "AttemptTimedOut",
    "Decision",
    "End",
    "Facts",
    "Hold",
    "Nothing",
    "Rerun",
    "Start",
    "Throttle",
    "UnknownFunction",
    "WaitForVersion",
    "decide",
]

_NEW_ATTEMPT_PHASES = (ExecutionPhase.PENDING, ExecutionPhase.BACKOFF)


@dataclass(frozen=True)
class Facts:
    """What the worker knows about an execution besides the object itself."""

    now: datetime
    group: str
    definition: FunctionDef | None
    running: bool = False
    run_attempt_started: datetime | None = None
    """The running attempt's start as its run knows it (its first write may be pending)."""
    parked: bool = False
    parked_ready: bool = False
    stalled: bool = False
    code_version: str = ""
    run_other_versions: bool = True
    free_slots: int | None = None
    """Runs this worker may still start (None: no limit)."""
    max_runs: int | None = None
    backlogged: bool = False
    """The client has as many requests in flight as the worker allows."""


@dataclass(frozen=True)
class Nothing:
    """Nothing to do now (a wake-up may be due)."""


@dataclass(frozen=True)
class Rerun:
    """An ended execution was asked to run again."""


@dataclass(frozen=True)
class End:
    """End the execution from outside its run (cancel, skip, overall timeout)."""

    phase: ExecutionPhase
    message: str
    result: Any = None
    error: ExecutionError | None = None


@dataclass(frozen=True)
class Adopt:
    """Label an execution made without the client (kubectl) as the client would."""

    labels: dict[str, str]


@dataclass(frozen=True)
class AttemptTimedOut:
    """The running attempt outlived its limit: stop it and record the failure."""

    limit: timedelta


@dataclass(frozen=True)
class UnknownFunction:
    """No function of this worker runs it: wait for one a while, then fail it."""


@dataclass(frozen=True)
class WaitForVersion:
    """It started on other code: leave it to a worker of that version, saying so."""

    message: str


@dataclass(frozen=True)
class Throttle:
    """The worker runs as many executions as it may: wait for a slot, saying so."""

    message: str


@dataclass(frozen=True)
class Hold:
    """Start it once the client's backlog of requests shrinks (nothing written)."""


@dataclass(frozen=True)
class Start:
    """Start a run (a new attempt, or a replay of the current one)."""

    new_attempt: bool
    timeout: ExecutionTimeout | None


Action = (
    Nothing
    | Rerun
    | End
    | Adopt
    | AttemptTimedOut
    | UnknownFunction
    | WaitForVersion
    | Throttle
    | Hold
    | Start
)


@dataclass(frozen=True)
class Decision:
    """The action, the times to reconcile again, and whether a parked run may be replayed."""

    action: Action
    wake_at: tuple[datetime, ...] = field(default=())
    unpark: bool = False


def missing_labels(execution: Execution, group: str) -> dict[str, str]:
    """The labels the client would have set that ``execution`` lacks."""
    name = execution.metadata.name or ""
    wanted = execution_labels(execution.spec.function, group, name=name)
    current = execution.metadata.labels or {}
    if LABEL_PARENT in current:
        del wanted[LABEL_ROOT]  # a child's root is its parent's
    return {key: value for key, value in wanted.items() if key not in current}


def decide(execution: Execution, facts: Facts) -> Decision:
    """What to do about ``execution`` now (see the module doc)."""
    status = execution.status
    if execution.is_terminal:
        rerun = execution.rerun_requested and status.phase in RERUNNABLE_PHASES
        return Decision(Rerun() if rerun else Nothing())
    if execution.spec.cancel is not None:
        return Decision(End(ExecutionPhase.CANCELED, execution.spec.cancel.reason or "canceled"))
    if execution.spec.skip is not None:
        skip = execution.spec.skip
        return Decision(End(ExecutionPhase.SKIPPED, skip.reason or "skipped", skip.result))
    definition = facts.definition
    if definition is not None and (labels := missing_labels(execution, facts.group)):
        return Decision(Adopt(labels))
    wakes: list[datetime] = []
    timeout = execution.spec.timeout or (
        definition.defaults.timeout if definition and definition.defaults else None
    )
    if timeout is not None and timeout.overall is not None and status.started_at is not None:
        deadline = status.started_at + timeout.overall
        if facts.now >= deadline:
            error = ExecutionError(
                kind=ErrorKind.TIMEOUT,
                message=f"the overall timeout of {timeout.overall} expired",
                retryable=False,
            )
            return Decision(End(ExecutionPhase.FAILED, error.message, error=error))
        wakes.append(deadline)
    if facts.running:
        started = status.attempt_started_at or facts.run_attempt_started
        if timeout is not None and timeout.attempt is not None and started is not None:
            deadline = started + timeout.attempt
            if facts.now >= deadline:
                return Decision(AttemptTimedOut(timeout.attempt), tuple(wakes))
            wakes.append(deadline)
        return Decision(Nothing(), tuple(wakes))
    if facts.parked and not facts.parked_ready:
        return Decision(Nothing(), tuple(wakes))
    unpark = facts.parked
    waiting_until = status.next_attempt_at
    if status.phase == ExecutionPhase.BACKOFF and waiting_until and facts.now < waiting_until:
        return Decision(Nothing(), (*wakes, waiting_until), unpark)
    if definition is None:
        return Decision(UnknownFunction(), tuple(wakes), unpark)
    if facts.stalled:
        return Decision(Nothing(), tuple(wakes), unpark)
    started_on = status.code_version
    if (
        not facts.run_other_versions
        and started_on is not None
        and started_on != facts.code_version
        and status.phase not in _NEW_ATTEMPT_PHASES
    ):
        message = (
            f"waiting for a worker of code version {started_on} (this worker runs "
            f"{facts.code_version} and leaves other versions' executions)"
        )
        return Decision(WaitForVersion(message), tuple(wakes), unpark)
    if facts.free_slots is not None and facts.free_slots <= 0:
        message = f"waiting: this worker runs at most {facts.max_runs} executions at once"
        return Decision(Throttle(message), tuple(wakes), unpark)
    new_attempt = status.phase in _NEW_ATTEMPT_PHASES or status.attempt == 0
    if new_attempt and facts.backlogged:
        return Decision(Hold(), tuple(wakes), unpark)
    return Decision(Start(new_attempt, timeout), tuple(wakes), unpark)
