"""Execution: one run of a function, the record that makes it durable.

The spec says what to run and how (arguments, retries, timeouts, TTL, mutex); a client changes
the course of a run with plain API writes to the spec (``cancel``, ``skip``, ``rerun``), so
``kubectl patch`` and RBAC work the same as the CLI.  The status is owned by the worker running
the execution: the phase, result or error, previous attempts, and the recorded outcome of every
durable step, which is what lets another worker replay the function without repeating work.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import Field

from kontinue.kube.conditions._setting import set_condition

from ._durations import Duration
from ._meta import Condition, KontinueModel, Resource, ResourceNames, Time, format_time

__all__ = [
    "RERUNNABLE_PHASES",
    "TERMINAL_PHASES",
    "TRACEBACK_LIMIT",
    "CancelRequest",
    "ChildPolicy",
    "ErrorKind",
    "Execution",
    "ExecutionAttempt",
    "ExecutionError",
    "ExecutionMutex",
    "ExecutionParent",
    "ExecutionPhase",
    "ExecutionRetry",
    "ExecutionSpec",
    "ExecutionStatus",
    "ExecutionStep",
    "ExecutionTTL",
    "ExecutionTimeout",
    "RerunRequest",
    "SkipRequest",
    "StepKind",
    "StepState",
    "conditions_for",
]


TRACEBACK_LIMIT = 4096
"""Characters of a recorded traceback (its end, where the error was raised, is kept)."""


class ExecutionPhase(StrEnum):
    """Where an execution is in its life: Pending, Executing, Suspended, Backoff, or a terminal
    phase (Completed, Failed, Canceled, Skipped)."""

    PENDING = "Pending"
    EXECUTING = "Executing"
    SUSPENDED = "Suspended"
    BACKOFF = "Backoff"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"
    SKIPPED = "Skipped"

    @property
    def is_terminal(self) -> bool:
        """True when the execution will not run again unless a rerun is requested."""
        return self in TERMINAL_PHASES


TERMINAL_PHASES: frozenset[ExecutionPhase] = frozenset(
    {
        ExecutionPhase.COMPLETED,
        ExecutionPhase.FAILED,
        ExecutionPhase.CANCELED,
        ExecutionPhase.SKIPPED,
    }
)
"""Phases an execution stays in: waiting for one of them is waiting for the execution to end."""

RERUNNABLE_PHASES: frozenset[ExecutionPhase] = frozenset(
    {ExecutionPhase.FAILED, ExecutionPhase.CANCELED}
)
"""Phases from which a client may ask for another run (``spec.rerun``)."""


class ChildPolicy(StrEnum):
    """What happens to the children of an execution when it runs again: None keeps every
    recorded child, RetryFailed runs failed and canceled children again, RetryAll runs all."""

    NONE = "None"
    RETRY_FAILED = "RetryFailed"
    RETRY_ALL = "RetryAll"


class ErrorKind(StrEnum):
    """Why an execution failed; decides whether it is retried and how callers handle it.

    Infrastructure: the platform failed (retryable).  Validation: the arguments or result do not
    match the function's schema.  ChildFailed/ChildCanceled: a child execution ended so.  Timeout:
    the attempt or overall timeout expired.  Internal: a bug or an inconsistency in kontinue
    itself.  Execution: raised by the workflow code; its ``retryable`` flag decides.
    """

    INFRASTRUCTURE = "Infrastructure"
    VALIDATION = "Validation"
    CHILD_FAILED = "ChildFailed"
    CHILD_CANCELED = "ChildCanceled"
    TIMEOUT = "Timeout"
    INTERNAL = "Internal"
    EXECUTION = "Execution"


class StepKind(StrEnum):
    """The durable call that recorded a step, compared on replay to catch non-determinism."""

    EXECUTE = "execute"
    SLEEP = "sleep"
    SUSPEND = "suspend"
    STORE = "store"
    POLL = "poll"
    JOB = "job"
    POD = "pod"
    SCRIPT = "script"
    VERSION = "version"
    """A marker: the run took the new path of ``ktx.version(change)`` here."""


class StepState(StrEnum):
    """The outcome of a step so far: Pending (started, not finished), Done or Failed."""

    PENDING = "Pending"
    DONE = "Done"
    FAILED = "Failed"


class ExecutionRetry(KontinueModel):
    """How failed attempts are retried.  Absent: the function's defaults apply."""

    retries: int = Field(default=0, ge=0)
    """Attempts after the first one fails with a retryable error (0: no retry)."""
    backoff: Duration = timedelta(seconds=5)
    """Wait between a failed attempt and the next one (phase Backoff), e.g. ``30s``."""
    child_policy: ChildPolicy = ChildPolicy.NONE
    """What happens to the children recorded by the failed attempt: None, RetryFailed or
    RetryAll."""


class ExecutionTimeout(KontinueModel):
    """Time limits.  Absent: the function's defaults apply; no limit when both are absent."""

    attempt: Duration | None = None
    """Limit of each attempt; expiry fails the attempt with a retryable Timeout error."""
    overall: Duration | None = None
    """Limit of the whole execution from its start, retries and waits included; expiry fails
    the execution with a non-retryable Timeout error."""


class ExecutionTTL(KontinueModel):
    """Clean-up of a finished root execution and its tree (ignored on children)."""

    archive_after: Duration | None = None
    """After the execution ends, its tree is stored in an ArchivedExecution and removed."""
    delete_after: Duration | None = None
    """After the execution ends, it (or its archive) is deleted for good."""


class ExecutionMutex(KontinueModel):
    """A named lock per namespace: one holder at a time, waiters run in arrival order."""

    name: str = Field(min_length=1)
    """Name of the mutex; executions with the same name in the namespace exclude each other."""


class ExecutionParent(KontinueModel):
    """The execution and step that started this one (set on children only)."""

    name: str = Field(min_length=1)
    """Name of the parent Execution in the same namespace."""
    step: str = Field(min_length=1)
    """Id of the parent's step this execution is the child of."""


class ContinuedFrom(KontinueModel):
    """The execution this one continues (``ktx.continue_as_new``): a chain of executions with
    fresh histories that together make one logical run."""

    name: str = Field(min_length=1)
    """The execution that continued as this one."""
    lineage: str = Field(min_length=1)
    """The first execution of the chain (its logical name)."""
    run: int = Field(ge=2)
    """This execution's place in the chain (the first is 1)."""


class CancelRequest(KontinueModel):
    """A client's request to cancel: the worker cancels the running children, suspensions and
    Jobs, then moves the execution to Canceled.  Ignored once the execution has ended."""

    reason: str | None = None
    """Why the execution is canceled; becomes its message."""
    requested_at: Time | None = None
    """When the request was made."""


class SkipRequest(KontinueModel):
    """A client's request to skip: the execution ends as Skipped and hands ``result`` to the
    waiting parent as if the function had returned it.  Ignored once the execution has ended."""

    result: Any = None
    """The result the parent receives (any JSON; absent: null)."""
    reason: str | None = None
    """Why the execution is skipped; becomes its message."""
    requested_at: Time | None = None
    """When the request was made."""


class RerunRequest(KontinueModel):
    """A client's request for another run of a Failed or Canceled execution.

    A client increments ``count``; whenever it is above ``status.reruns`` the worker starts a
    new attempt and sets ``status.reruns`` to it, so a request is handled exactly once.
    """

    count: int = Field(default=0, ge=0)
    """Number of reruns requested over the life of the execution."""
    child_policy: ChildPolicy = ChildPolicy.NONE
    """What happens to the children of the previous run: None, RetryFailed or RetryAll."""
    requested_at: Time | None = None
    """When the latest request was made."""


class ExecutionSpec(KontinueModel):
    """What to run and how; the ``cancel``, ``skip`` and ``rerun`` fields are client requests."""

    function: str = Field(min_length=1)
    """Name of the function to run, as registered by a worker (its Function's ``spec.name``)."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """Arguments of the function (JSON), validated against and merged with the Function's
    schema and defaults."""
    retry: ExecutionRetry | None = None
    """Retries of failed attempts; absent: the function's defaults."""
    timeout: ExecutionTimeout | None = None
    """Attempt and overall time limits; absent: the function's defaults."""
    ttl: ExecutionTTL | None = None
    """Archiving and deletion after the end (root executions only)."""
    mutex: ExecutionMutex | None = None
    """A named mutex held while the execution runs."""
    parent: ExecutionParent | None = None
    """The parent execution and step (set on children)."""
    continued_from: ContinuedFrom | None = None
    """The execution this one continues, when it was started by ``ktx.continue_as_new``."""
    cancel: CancelRequest | None = None
    """Set by a client to cancel the execution."""
    skip: SkipRequest | None = None
    """Set by a client to end the execution as Skipped with a given result."""
    rerun: RerunRequest | None = None
    """Incremented by a client to run a Failed or Canceled execution again."""


class ExecutionError(KontinueModel):
    """Why an execution (or one of its attempts) failed."""

    kind: ErrorKind
    """Category of the error; decides retries and how the parent sees it."""
    message: str
    """Human-readable description."""
    retryable: bool = False
    """Whether another attempt may succeed (retries are used only for retryable errors)."""
    details: Any = None
    """Structured details (any JSON), e.g. the validation errors or the child's error."""
    type: str | None = Field(default=None, max_length=256)
    """The exception's type (``module.Name``; builtins by name alone) when workflow code
    raised it."""
    traceback: str | None = Field(default=None, max_length=TRACEBACK_LIMIT)
    """Where workflow code raised it: the formatted traceback, its innermost frames kept."""


class ExecutionAttempt(KontinueModel):
    """A finished attempt, kept in the history when the execution is retried or rerun."""

    attempt: int = Field(ge=1)
    """Number of the attempt (1-based)."""
    phase: ExecutionPhase
    """How the attempt ended."""
    error: ExecutionError | None = None
    """The error that ended the attempt, if any."""
    started_at: Time | None = None
    """When the attempt started."""
    finished_at: Time | None = None
    """When the attempt ended."""


class ExecutionStep(KontinueModel):
    """The recorded outcome of one durable call; replay returns it instead of calling again.

    Steps are kept in ``status.steps`` under their id (assigned in program order, or the explicit
    step name), so recording one more step is a small merge patch.
    """

    kind: StepKind
    """The durable call: execute, sleep, suspend, store, poll, job, pod or script."""
    name: str | None = None
    """What the step calls (the function of an ``execute`` step, the Job or script name
    otherwise); a different value on replay is a non-determinism error."""
    child: str | None = None
    """Name of the resource the step created (Execution, Suspension, Job or Pod)."""
    state: StepState = StepState.PENDING
    """Pending while the step runs, then Done or Failed."""
    value: Any = None
    """The recorded value (any JSON): the child's result, the stored value, the exit status."""
    external: bool | None = None
    """True when the value is a child's result too large to copy here: replay reads it from
    the child Execution (which lives as long as the tree)."""
    error: ExecutionError | None = None
    """For a Failed step: the error replay raises again."""
    resume_at: Time | None = None
    """For a sleep: when it ends; for a poll: when the condition is checked next."""
    started_at: Time | None = None
    """When the step was first called (a poll's timeout counts from here)."""
    attempt: int | None = Field(default=None, ge=1)
    """The attempt of the execution that recorded the step (for child policies on retry)."""
    calls: int | None = Field(default=None, ge=1)
    """For a store: how many calls of its callable this attempt began. Each call is recorded
    before it runs, so a call whose outcome a crash (or an API outage) lost is never repeated
    under the same number: replay makes the next call. Above 1, the earlier calls may or may not
    have had their effects (see ``kontinue.current_step``)."""


class ExecutionStatus(KontinueModel):
    """The state of the run, written by the worker that owns it."""

    phase: ExecutionPhase = ExecutionPhase.PENDING
    """Pending, Executing, Suspended, Backoff, Completed, Failed, Canceled or Skipped."""
    message: str | None = None
    """Human-readable state, e.g. why it waits (mutex held, concurrency limit) or failed."""
    result: Any = None
    """The function's result (any JSON) once Completed, or the given result once Skipped."""
    error: ExecutionError | None = None
    """The error that failed the execution."""
    attempt: int = Field(default=0, ge=0)
    """Number of the current attempt (1-based; 0 before the first attempt starts)."""
    attempts: list[ExecutionAttempt] = Field(default_factory=list)
    """Previous attempts, oldest first."""
    resumptions: int = Field(default=0, ge=0)
    """How many times the function was replayed (after a wait or a worker change)."""
    code_version: str | None = Field(default=None, max_length=128)
    """The code version of the worker that started the current attempt (``WorkerSettings``)."""
    started_at: Time | None = None
    """When the first attempt started (the overall timeout counts from here)."""
    attempt_started_at: Time | None = None
    """When the current attempt started (the attempt timeout counts from here)."""
    finished_at: Time | None = None
    """When the execution reached a terminal phase."""
    next_attempt_at: Time | None = None
    """In Backoff: when the next attempt starts."""
    reruns: int = Field(default=0, ge=0)
    """Number of rerun requests handled (compared with ``spec.rerun.count``)."""
    continued_as: str | None = None
    """Completed by continuing as a fresh execution (``ktx.continue_as_new``): its name. The
    chain's result is its last execution's."""
    steps: dict[str, ExecutionStep] = Field(default_factory=dict)
    """The durable steps recorded so far by the current attempt, keyed by step id, in program
    order."""
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    """Standard conditions, so generic status tools (kstatus) can read the execution."""
    observed_generation: int | None = None
    """The ``metadata.generation`` this status reflects."""


class Execution(Resource):
    """One run of a function: its arguments and options, its progress, and its outcome.

    Children of an execution carry an ownerReference to it and the ``kontinue.cloud/parent`` and
    ``kontinue.cloud/root`` labels, so deleting a root deletes its tree.
    """

    names: ClassVar[ResourceNames] = ResourceNames(
        "Execution", "executions", "execution", ("ex", "exec")
    )

    kind: Literal["Execution"] = "Execution"
    """The kind of this object."""
    spec: ExecutionSpec
    """What to run and how, plus client requests (cancel, skip, rerun)."""
    status: ExecutionStatus = Field(default_factory=ExecutionStatus)
    """The state of the run, owned by the worker."""

    @property
    def is_terminal(self) -> bool:
        """True once the execution has ended (Completed, Failed, Canceled or Skipped)."""
        return self.status.phase in TERMINAL_PHASES

    @property
    def is_root(self) -> bool:
        """True for an execution started by a client or schedule, not by a parent."""
        return self.spec.parent is None

    @property
    def rerun_requested(self) -> bool:
        """True when a client asked for a rerun the worker has not handled yet."""
        rerun = self.spec.rerun
        return rerun is not None and rerun.count > self.status.reruns


def _wanted(phase: ExecutionPhase, message: str | None) -> list[tuple[str, str, str, str]]:
    reason = phase.value
    text = message or phase.value
    if phase in (ExecutionPhase.COMPLETED, ExecutionPhase.SKIPPED):
        return [("Ready", "True", reason, text)]
    if phase in (ExecutionPhase.FAILED, ExecutionPhase.CANCELED):
        return [("Ready", "False", reason, text), ("Stalled", "True", reason, text)]
    return [("Ready", "False", reason, text), ("Reconciling", "True", reason, text)]


def conditions_for(
    phase: ExecutionPhase,
    message: str | None,
    previous: list[dict[str, Any]],
    now: datetime,
    generation: int,
) -> list[dict[str, Any]]:
    """The conditions of an execution in ``phase``, keeping transition times that still hold.

    They follow the kstatus conventions so generic tools (``kontinue.kube.status``, ``kubectl
    wait --for=condition=Ready``) read an execution correctly: ``Reconciling`` while it has not
    ended, ``Stalled`` when it failed or was canceled, ``Ready`` once it completed or was skipped.
    """
    before = {str(c.get("type")): c for c in previous if isinstance(c, dict)}
    stamp = format_time(now)
    conditions: list[dict[str, Any]] = []
    for kind, status, reason, text in _wanted(phase, message):  # the others no longer hold
        old = [before[kind]] if kind in before else []
        conditions += set_condition(
            old, kind, status, reason, text, observed_generation=generation, now=stamp
        )
    return conditions
