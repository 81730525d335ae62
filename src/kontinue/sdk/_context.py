"""ExecutionContext: the durable primitives a workflow calls, found through a context variable.

Every method claims its step when it is *called* (see ``_replay``), then hands the work to the
engine that runs the workflow (the worker's run, behind the :class:`Runtime` protocol): the engine
creates children and Suspensions, records outcomes in the Execution's status, and waits without
holding a thread. The context's own job is the typed surface: names or function objects in,
typed results out, step options, and clear errors for misuse.

Plain ``def`` workflows receive a :class:`SyncExecutionContext` with the same methods, blocking.
Both classes live here, side by side, because they are one typed surface twice (a test keeps
their signatures equal); most of the length is their documentation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn, Protocol, TypeVar, overload

from kontinue.api import (
    Execution,
    ExecutionMutex,
    ExecutionRetry,
    ExecutionTimeout,
    StepKind,
    parse_duration,
    with_property_order,
)
from kontinue.api.labels import ANNOTATION_DESCRIPTION, ANNOTATION_DISPLAY_NAME

from ._functions import FunctionDef, function_def, parse_as
from ._jobs import JobRequest, JobResult, PodResult, check_pod_spec, script_pod_spec
from ._replay import StepClaim, StepLedger
from .errors import WorkflowError

__all__ = [
    "ChildRequest",
    "ContinueAsNew",
    "ExecutionContext",
    "OutsideWorkflow",
    "Runtime",
    "StepCall",
    "SuspendRequest",
    "SyncExecutionContext",
    "current_context",
    "current_step",
    "step_call",
    "whole_second_after",
]

T = TypeVar("T")
DurationLike = timedelta | float | int | str

_CURRENT: ContextVar[ExecutionContext | None] = ContextVar("kontinue_context", default=None)


class ContinueAsNew(BaseException):
    """Raised by :meth:`ExecutionContext.continue_as_new` through the workflow: the run ends
    this execution and starts the next of its chain with ``arguments``. A BaseException, so
    workflow code catching ``Exception`` does not swallow it."""

    def __init__(self, arguments: dict[str, Any]) -> None:
        super().__init__("continue as new")
        self.arguments = arguments


class OutsideWorkflow(WorkflowError):
    """A durable primitive was used outside a running workflow (or after its run ended)."""

    default_retryable = False


def current_context() -> ExecutionContext:
    """The context of the workflow running in this task (also inside tasks it spawned)."""
    ktx = _CURRENT.get()
    if ktx is None:
        raise OutsideWorkflow(
            "no workflow is running here: durable calls work only inside a function run by a "
            "kontinue worker (use the ktx argument it receives)"
        )
    return ktx


@dataclass(frozen=True)
class StepCall:
    """One call of a ``store`` callable, as :func:`current_step` tells it to the callable."""

    namespace: str
    execution: str
    uid: str
    """The Execution's uid: unlike its name, never reused."""
    step: str
    attempt: int
    """The execution's attempt: a new attempt calls every store again, under a new key."""
    call: int
    """1, or more when a crash or an API outage lost the outcome of the earlier calls of this
    step in this attempt: those may or may not have had their effects."""

    @property
    def idempotency_key(self) -> str:
        """The same for every call of this step in this attempt: hand it to the service the
        callable changes, so that a repeated call is not done twice."""
        return f"{self.uid}/{self.attempt}/{self.step}"


_STEP: ContextVar[StepCall | None] = ContextVar("kontinue_step", default=None)


def current_step() -> StepCall:
    """The ``store`` call running in this task: its step, and its idempotency key."""
    call = _STEP.get()
    if call is None:
        raise OutsideWorkflow(
            "no store callable is running here: current_step() works only inside the "
            "callable given to ktx.store"
        )
    return call


@contextmanager
def step_call(call: StepCall) -> Iterator[None]:
    """Make ``call`` what :func:`current_step` returns while the callable runs."""
    token = _STEP.set(call)
    try:
        yield
    finally:
        _STEP.reset(token)


def whole_second_after(when: datetime) -> datetime:
    """``when`` rounded up to a whole second: times are recorded with second precision (as
    Kubernetes records them), and a durable wait may end late by a fraction, never early."""
    if when.microsecond == 0:
        return when
    return when.replace(microsecond=0) + timedelta(seconds=1)


def to_timedelta(value: DurationLike, *, field: str) -> timedelta:
    """A duration given as a timedelta, seconds, or a string such as ``30s`` or ``2h``."""
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, str):
        result = parse_duration(value)
    elif isinstance(value, int | float):
        result = timedelta(seconds=value)
    else:
        raise TypeError(f"{field} must be a timedelta, seconds or a string like '5m'")
    if result < timedelta(0):
        raise ValueError(f"{field} must not be negative, got {value!r}")
    return result


@dataclass(frozen=True)
class ChildRequest:
    """A child execution to start (or find, on replay)."""

    function: str
    arguments: dict[str, Any]
    display_name: str | None = None
    description: str | None = None
    retry: ExecutionRetry | None = None
    timeout: ExecutionTimeout | None = None
    mutex: ExecutionMutex | None = None


@dataclass(frozen=True)
class SuspendRequest:
    """A Suspension to create: a sleep until ``resume_at`` or a manual wait."""

    resume_at: datetime | None = None
    message: str | None = None
    schema: dict[str, Any] | None = None


class Runtime(Protocol):
    """What runs a workflow: implemented by the worker's run of one execution attempt.

    Each coroutine returns the step's JSON value once the step is done (recorded or finished
    now) and raises the step's error as a :class:`WorkflowError`.
    """

    @property
    def execution(self) -> Execution: ...
    @property
    def ledger(self) -> StepLedger: ...
    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]: ...
    def now(self) -> datetime: ...
    def function(self, name: str) -> FunctionDef | None: ...
    async def child(self, claim: StepClaim, request: ChildRequest) -> Any: ...
    async def suspend(self, claim: StepClaim, request: SuspendRequest) -> Any: ...
    async def store(self, claim: StepClaim, compute: Callable[[], Any]) -> Any: ...
    def mark_version(self, claim: StepClaim) -> None: ...
    async def poll(
        self,
        claim: StepClaim,
        check: Callable[[], Any],
        interval: timedelta,
        limit: timedelta | None,
    ) -> Any: ...
    async def job(self, claim: StepClaim, request: JobRequest) -> Any: ...
    async def pod_logs(
        self, namespace: str, name: str, *, tail_lines: int, container: str | None
    ) -> str: ...
    def to_json(self, obj: Any) -> dict[str, Any]: ...


class ExecutionContext:
    """The first argument of every async workflow: durable calls and facts about the run."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    # Facts -------------------------------------------------------------------------------

    @property
    def execution(self) -> Execution:
        """The Execution resource as of the start of this run."""
        return self._runtime.execution

    @property
    def name(self) -> str:
        """The Execution's name."""
        return self._runtime.execution.metadata.name or ""

    @property
    def namespace(self) -> str:
        """The Execution's namespace (children and Suspensions are created there)."""
        return self._runtime.execution.metadata.namespace or ""

    @property
    def attempt(self) -> int:
        """The current attempt, 1-based (retries and reruns add attempts)."""
        return max(1, self._runtime.execution.status.attempt)

    @property
    def attempts(self) -> int:
        """How many attempts came before this one (0 in the first), as in Go kontinue."""
        return self.attempt - 1

    @property
    def resumptions(self) -> int:
        """How many times the execution resumed: replays (after a wait, a crash or a worker
        change, this run included) and retries (each attempt after the first), as in Go
        kontinue."""
        return self._runtime.execution.status.resumptions + self.attempts

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        """A logger whose records carry the execution's namespace, name and attempt."""
        return self._runtime.logger

    def now(self) -> datetime:
        """The engine's clock (the test clock in tests); not replayed: store it if it matters."""
        return self._runtime.now()

    # Durable calls -----------------------------------------------------------------------

    @overload
    def execute(
        self,
        function: Callable[..., Coroutine[Any, Any, T]],
        args: Any = ...,
        *,
        step: str | None = ...,
        display_name: str | None = ...,
        description: str | None = ...,
        retry: ExecutionRetry | None = ...,
        timeout: ExecutionTimeout | None = ...,
        mutex: str | None = ...,
        result_type: None = ...,
    ) -> Coroutine[Any, Any, T]: ...
    @overload
    def execute(
        self,
        function: str | Callable[..., Any],
        args: Any = ...,
        *,
        step: str | None = ...,
        display_name: str | None = ...,
        description: str | None = ...,
        retry: ExecutionRetry | None = ...,
        timeout: ExecutionTimeout | None = ...,
        mutex: str | None = ...,
        result_type: type[T],
    ) -> Coroutine[Any, Any, T]: ...
    @overload
    def execute(
        self,
        function: str | Callable[..., Any],
        args: Any = ...,
        *,
        step: str | None = ...,
        display_name: str | None = ...,
        description: str | None = ...,
        retry: ExecutionRetry | None = ...,
        timeout: ExecutionTimeout | None = ...,
        mutex: str | None = ...,
        result_type: None = ...,
    ) -> Coroutine[Any, Any, Any]: ...

    def execute(
        self,
        function: str | Callable[..., Any],
        args: Any = None,
        *,
        step: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        retry: ExecutionRetry | None = None,
        timeout: ExecutionTimeout | None = None,
        mutex: str | None = None,
        result_type: Any = None,
    ) -> Coroutine[Any, Any, Any]:
        """Run a child execution and return its result.

        ``function`` is a registered function object (its result type comes from its return
        annotation) or a function name (any worker group; give ``result_type`` for a typed
        result). A child's failure is raised here as :class:`~kontinue.sdk.ChildFailed`.
        """
        definition = function_def(function) if not isinstance(function, str) else None
        if not isinstance(function, str) and definition is None:
            raise TypeError(
                f"{getattr(function, '__qualname__', function)!r} is not a registered workflow: "
                "register it with @worker.function(...) or pass the function's name"
            )
        target = function if isinstance(function, str) else definition.name  # type: ignore[union-attr]
        claim = self._runtime.ledger.claim(StepKind.EXECUTE, target, name=step)
        known = definition or self._runtime.function(target)
        arguments = known.dump_arguments(args) if known else _plain_arguments(args)
        request = ChildRequest(
            function=target,
            arguments=arguments,
            display_name=display_name,
            description=description,
            retry=retry,
            timeout=timeout,
            mutex=ExecutionMutex(name=mutex) if mutex else None,
        )
        wanted = result_type if result_type is not None else (known.result_type if known else Any)
        return self._typed(self._runtime.child(claim, request), wanted, f"the result of {target}")

    def sleep(
        self, duration: DurationLike, *, step: str | None = None
    ) -> Coroutine[Any, Any, None]:
        """Wait durably: a worker restart neither restarts nor skips the sleep."""
        length = to_timedelta(duration, field="duration")
        claim = self._runtime.ledger.claim(StepKind.SLEEP, name=step)
        request = SuspendRequest(resume_at=whole_second_after(self._runtime.now() + length))
        return self._discard(self._runtime.suspend(claim, request))

    def sleep_until(self, when: datetime, *, step: str | None = None) -> Coroutine[Any, Any, None]:
        """Wait durably until ``when`` (timezone-aware)."""
        if when.tzinfo is None:
            raise ValueError("sleep_until needs a timezone-aware datetime")
        claim = self._runtime.ledger.claim(StepKind.SLEEP, name=step)
        request = SuspendRequest(resume_at=whole_second_after(when))
        return self._discard(self._runtime.suspend(claim, request))

    @overload
    def suspend(
        self, message: str | None = ..., *, data: type[T], step: str | None = ...
    ) -> Coroutine[Any, Any, T]: ...
    @overload
    def suspend(
        self, message: str | None = ..., *, data: None = ..., step: str | None = ...
    ) -> Coroutine[Any, Any, Any]: ...

    def suspend(
        self, message: str | None = None, *, data: Any = None, step: str | None = None
    ) -> Coroutine[Any, Any, Any]:
        """Wait until someone resumes the execution (an approval); returns the resume data.

        With ``data=SomeModel`` the Suspension publishes the model's JSON Schema, resume data
        is checked against it, and the validated model is returned.
        """
        claim = self._runtime.ledger.claim(StepKind.SUSPEND, name=step)
        schema = None
        if data is not None:
            from pydantic import TypeAdapter

            schema = with_property_order(TypeAdapter(data).json_schema())
        request = SuspendRequest(message=message, schema=schema)
        return self._typed(self._runtime.suspend(claim, request), data, "the resume data")

    def continue_as_new(self, args: Any = None) -> NoReturn:
        """End this execution and go on as a fresh one of the same function with ``args``.

        For workflows that loop for ever (a poller, a reconciler, a subscription): each
        execution of the chain starts with an empty history, so none grows without bound::

            if args.round < 1000:
                await ktx.sleep(timedelta(hours=1))
                ktx.continue_as_new(Rounds(round=args.round + 1))

        The execution completes with ``status.continuedAs`` naming the next one (``-run-N``
        after the first of the chain, labelled ``kontinue.cloud/lineage``); a parent waiting
        for it, ``kontinue wait`` and the client's ``wait`` follow the chain to its last
        execution's result. Stored values and children not yet on record are written first.
        Nothing after the call runs.
        """
        definition = self._runtime.function(self.execution.spec.function)
        arguments = definition.dump_arguments(args) if definition else dict(args or {})
        raise ContinueAsNew(arguments)

    def version(self, change: str) -> bool:
        """Whether this run takes the new path of a code change called ``change``.

        Guard a change to a workflow's durable calls with it, so that executions started on
        the old code replay unchanged::

            if ktx.version("express-shipping"):
                await ktx.execute(ship_express, order)
            else:
                await ktx.execute(ship, order)

        True for executions that reach this point on code that has it (a marker step is
        recorded, so their replays take the new path too); False for executions that passed
        this point before the change (they recorded another call here). Once no execution of
        the old path is left, remove the old branch and keep the call (or remove both, new
        executions no longer record the marker then).
        """
        claim = self._runtime.ledger.version(change)
        if claim is None:
            return False
        if claim.recorded is None:
            self._runtime.mark_version(claim)
        return True

    def store(
        self,
        compute: Callable[[], T | Awaitable[T]],
        *,
        step: str | None = None,
        type: Any = None,
    ) -> Coroutine[Any, Any, T]:
        """Run ``compute`` once per attempt and checkpoint its value; replays return it.

        Use it for anything not repeatable: random tokens, timestamps, calls with effects.
        The value must be JSON-compatible (or of ``type``). A value once recorded is never
        computed again. Each call is recorded before it runs, so none is ever made twice; but
        when a crash (or an API outage) loses a call's outcome, the replay makes a second call,
        and the first may or may not have had its effects. Inside ``compute``,
        :func:`current_step` tells which call it is and gives an idempotency key that is the
        same for all of them: pass it to the services you change.
        """
        claim = self._runtime.ledger.claim(StepKind.STORE, name=step)
        return self._typed(self._runtime.store(claim, compute), type, "the stored value")

    def poll(
        self,
        check: Callable[[], T | Awaitable[T | None] | None],
        *,
        interval: DurationLike = timedelta(seconds=10),
        timeout: DurationLike | None = None,
        step: str | None = None,
        type: Any = None,
    ) -> Coroutine[Any, Any, T]:
        """Call ``check`` every ``interval`` until it returns something other than None, and
        checkpoint that value; a :class:`~kontinue.sdk.ExecutionTimedOut` after ``timeout``."""
        every = to_timedelta(interval, field="interval")
        if every <= timedelta(0):
            raise ValueError("poll interval must be positive")
        limit = to_timedelta(timeout, field="timeout") if timeout is not None else None
        claim = self._runtime.ledger.claim(StepKind.POLL, name=step)
        return self._typed(self._runtime.poll(claim, check, every, limit), type, "the polled value")

    # Jobs, pods and scripts (seed 001) -------------------------------------------------------

    def run_job(
        self,
        spec: Any,
        *,
        step: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> Coroutine[Any, Any, JobResult]:
        """Run a Kubernetes Job (``spec``: a JobSpec as a dict or a model of the official
        client) and return its :class:`JobResult` once it completed or failed."""
        job_spec = dict(self._runtime.to_json(spec))
        template = dict(job_spec.get("template") or {})
        pod_spec = dict(template.get("spec") or {})
        check_pod_spec(pod_spec, "spec.template.spec")
        pod_spec.setdefault("restartPolicy", "Never")
        template["spec"] = pod_spec
        job_spec["template"] = template
        request = self._job_request(job_spec, "job", display_name, description, labels, annotations)
        claim = self._runtime.ledger.claim(StepKind.JOB, request.target, name=step)
        return self._typed(self._runtime.job(claim, request), JobResult, "the Job's result")

    def run_pod(
        self,
        spec: Any,
        *,
        step: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> Coroutine[Any, Any, PodResult]:
        """Run one pod (``spec``: a PodSpec) as a Job without retries, and return its
        :class:`PodResult`: phase, exit codes, logs."""
        pod_spec = dict(self._runtime.to_json(spec))
        check_pod_spec(pod_spec)
        return self._single_pod(
            pod_spec, StepKind.POD, step, display_name, description, labels, annotations
        )

    def run_script(
        self,
        image: str,
        command: str,
        *,
        shell: list[str] | tuple[str, ...] = ("/bin/sh", "-c"),
        env: dict[str, str] | None = None,
        step: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> Coroutine[Any, Any, PodResult]:
        """Run ``command`` through ``shell`` in a one-container pod of ``image``."""
        pod_spec = script_pod_spec(image, command, list(shell), env)
        return self._single_pod(
            pod_spec, StepKind.SCRIPT, step, display_name, description, labels, annotations
        )

    async def logs(
        self, pod: PodResult, *, tail_lines: int = 100, container: str | None = None
    ) -> str:
        """The last ``tail_lines`` log lines of a pod's container (its
        :attr:`~PodResult.default_container` unless ``container`` is given: a pod of several
        containers needs one named). Read from the API server now: not recorded, not
        replayed."""
        chosen = container or pod.default_container
        return await self._runtime.pod_logs(
            pod.namespace, pod.name, tail_lines=tail_lines, container=chosen
        )

    def _single_pod(
        self,
        pod_spec: dict[str, Any],
        kind: StepKind,
        step: str | None,
        display_name: str | None,
        description: str | None,
        labels: dict[str, str] | None,
        annotations: dict[str, str] | None,
    ) -> Coroutine[Any, Any, PodResult]:
        pod_spec["restartPolicy"] = "Never"
        job_spec = {"backoffLimit": 0, "template": {"spec": pod_spec}}
        request = self._job_request(
            job_spec, kind.value, display_name, description, labels, annotations
        )
        claim = self._runtime.ledger.claim(kind, request.target, name=step)
        return self._first_pod(self._runtime.job(claim, request))

    @staticmethod
    def _job_request(
        spec: dict[str, Any],
        kind: str,
        display_name: str | None,
        description: str | None,
        labels: dict[str, str] | None,
        annotations: dict[str, str] | None,
    ) -> JobRequest:
        extra = dict(annotations or {})
        if display_name:
            extra[ANNOTATION_DISPLAY_NAME] = display_name
        if description:
            extra[ANNOTATION_DESCRIPTION] = description
        containers = spec["template"]["spec"]["containers"]
        return JobRequest(
            spec=spec,
            kind=kind,
            target=str(containers[0].get("image") or ""),
            labels=dict(labels or {}),
            annotations=extra,
        )

    @staticmethod
    async def _first_pod(outcome: Awaitable[Any]) -> PodResult:
        result = JobResult.model_validate(await outcome)
        if result.pods:
            return result.pods[-1]
        return PodResult(
            name="", namespace="", phase="Failed", message=result.message or "no pod ran"
        )

    # Helpers -----------------------------------------------------------------------------

    @staticmethod
    async def _typed(outcome: Awaitable[Any], type_: Any, what: str) -> Any:
        value = await outcome
        return parse_as(type_, value, what=what) if type_ is not None else value

    @staticmethod
    async def _discard(outcome: Awaitable[Any]) -> None:
        await outcome


def _plain_arguments(args: Any) -> dict[str, Any]:
    if args is None:
        return {}
    from pydantic import BaseModel, TypeAdapter

    if isinstance(args, BaseModel):
        dumped = args.model_dump(mode="json", by_alias=True)
    else:
        dumped = TypeAdapter(type(args)).dump_python(args, mode="json")
    if not isinstance(dumped, dict):
        raise TypeError(f"child arguments must be an object, got {type(args).__name__}")
    return dumped


class SyncExecutionContext:
    """The context of a plain ``def`` workflow: the same calls, blocking its thread.

    Each method has the signature of its :class:`ExecutionContext` twin and returns what the
    twin's awaitable gives (a test compares the two classes).
    """

    def __init__(self, context: ExecutionContext, loop: asyncio.AbstractEventLoop) -> None:
        self._context = context
        self._loop = loop

    def _wait(self, call: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(call, self._loop).result()

    # Facts -------------------------------------------------------------------------------

    @property
    def execution(self) -> Execution:
        """See :attr:`ExecutionContext.execution`."""
        return self._context.execution

    @property
    def name(self) -> str:
        """See :attr:`ExecutionContext.name`."""
        return self._context.name

    @property
    def namespace(self) -> str:
        """See :attr:`ExecutionContext.namespace`."""
        return self._context.namespace

    @property
    def attempt(self) -> int:
        """See :attr:`ExecutionContext.attempt`."""
        return self._context.attempt

    @property
    def attempts(self) -> int:
        """See :attr:`ExecutionContext.attempts`."""
        return self._context.attempts

    @property
    def resumptions(self) -> int:
        """See :attr:`ExecutionContext.resumptions`."""
        return self._context.resumptions

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        """See :attr:`ExecutionContext.logger`."""
        return self._context.logger

    def now(self) -> datetime:
        """See :meth:`ExecutionContext.now`."""
        return self._context.now()

    # Durable calls -----------------------------------------------------------------------

    @overload
    def execute(
        self,
        function: Callable[..., Coroutine[Any, Any, T]],
        args: Any = ...,
        *,
        step: str | None = ...,
        display_name: str | None = ...,
        description: str | None = ...,
        retry: ExecutionRetry | None = ...,
        timeout: ExecutionTimeout | None = ...,
        mutex: str | None = ...,
        result_type: None = ...,
    ) -> T: ...
    @overload
    def execute(
        self,
        function: str | Callable[..., Any],
        args: Any = ...,
        *,
        step: str | None = ...,
        display_name: str | None = ...,
        description: str | None = ...,
        retry: ExecutionRetry | None = ...,
        timeout: ExecutionTimeout | None = ...,
        mutex: str | None = ...,
        result_type: type[T],
    ) -> T: ...
    @overload
    def execute(
        self,
        function: str | Callable[..., Any],
        args: Any = ...,
        *,
        step: str | None = ...,
        display_name: str | None = ...,
        description: str | None = ...,
        retry: ExecutionRetry | None = ...,
        timeout: ExecutionTimeout | None = ...,
        mutex: str | None = ...,
        result_type: None = ...,
    ) -> Any: ...

    def execute(
        self,
        function: str | Callable[..., Any],
        args: Any = None,
        *,
        step: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        retry: ExecutionRetry | None = None,
        timeout: ExecutionTimeout | None = None,
        mutex: str | None = None,
        result_type: Any = None,
    ) -> Any:
        """See :meth:`ExecutionContext.execute`."""
        return self._wait(
            self._context.execute(
                function,
                args,
                step=step,
                display_name=display_name,
                description=description,
                retry=retry,
                timeout=timeout,
                mutex=mutex,
                result_type=result_type,
            )
        )

    def sleep(self, duration: DurationLike, *, step: str | None = None) -> None:
        """See :meth:`ExecutionContext.sleep`."""
        self._wait(self._context.sleep(duration, step=step))

    def sleep_until(self, when: datetime, *, step: str | None = None) -> None:
        """See :meth:`ExecutionContext.sleep_until`."""
        self._wait(self._context.sleep_until(when, step=step))

    @overload
    def suspend(self, message: str | None = ..., *, data: type[T], step: str | None = ...) -> T: ...
    @overload
    def suspend(
        self, message: str | None = ..., *, data: None = ..., step: str | None = ...
    ) -> Any: ...

    def suspend(
        self, message: str | None = None, *, data: Any = None, step: str | None = None
    ) -> Any:
        """See :meth:`ExecutionContext.suspend`."""
        return self._wait(self._context.suspend(message, data=data, step=step))

    def continue_as_new(self, args: Any = None) -> NoReturn:
        """See :meth:`ExecutionContext.continue_as_new`."""
        self._context.continue_as_new(args)

    def version(self, change: str) -> bool:
        """See :meth:`ExecutionContext.version`."""
        return self._wait(self._version(change))

    async def _version(self, change: str) -> bool:
        return self._context.version(change)  # on the loop, where the run records its steps

    def store(
        self,
        compute: Callable[[], T | Awaitable[T]],
        *,
        step: str | None = None,
        type: Any = None,
    ) -> T:
        """See :meth:`ExecutionContext.store`."""
        return self._wait(self._context.store(compute, step=step, type=type))

    def poll(
        self,
        check: Callable[[], T | Awaitable[T | None] | None],
        *,
        interval: DurationLike = timedelta(seconds=10),
        timeout: DurationLike | None = None,
        step: str | None = None,
        type: Any = None,
    ) -> T:
        """See :meth:`ExecutionContext.poll`."""
        return self._wait(
            self._context.poll(check, interval=interval, timeout=timeout, step=step, type=type)
        )

    # Jobs, pods and scripts --------------------------------------------------------------

    def run_job(
        self,
        spec: Any,
        *,
        step: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> JobResult:
        """See :meth:`ExecutionContext.run_job`."""
        return self._wait(
            self._context.run_job(
                spec,
                step=step,
                display_name=display_name,
                description=description,
                labels=labels,
                annotations=annotations,
            )
        )

    def run_pod(
        self,
        spec: Any,
        *,
        step: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> PodResult:
        """See :meth:`ExecutionContext.run_pod`."""
        return self._wait(
            self._context.run_pod(
                spec,
                step=step,
                display_name=display_name,
                description=description,
                labels=labels,
                annotations=annotations,
            )
        )

    def run_script(
        self,
        image: str,
        command: str,
        *,
        shell: list[str] | tuple[str, ...] = ("/bin/sh", "-c"),
        env: dict[str, str] | None = None,
        step: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> PodResult:
        """See :meth:`ExecutionContext.run_script`."""
        return self._wait(
            self._context.run_script(
                image,
                command,
                shell=shell,
                env=env,
                step=step,
                display_name=display_name,
                description=description,
                labels=labels,
                annotations=annotations,
            )
        )

    def logs(self, pod: PodResult, *, tail_lines: int = 100, container: str | None = None) -> str:
        """See :meth:`ExecutionContext.logs`."""
        return self._wait(self._context.logs(pod, tail_lines=tail_lines, container=container))


def bind(context: ExecutionContext) -> Any:
    """Make ``context`` the current one in this task and the tasks it creates."""
    return _CURRENT.set(context)
