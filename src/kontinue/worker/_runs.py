"""One run of one execution attempt: the workflow function replayed against its recorded steps.

A run starts the function from the top. Each durable call either finds its step recorded (and
returns the recorded value without doing anything) or does the work: creates the child
Execution or Suspension under a deterministic name (finding the existing one after a crash),
runs the ``store`` callable, checks the ``poll`` condition. While an async run waits, it stays
in memory as a suspended coroutine (no thread) and continues the moment the worker sees the
child finish or the Suspension resume; the worker may evict it to save memory, and a plain
``def`` workflow always parks (its thread unwinds), and then the next run replays from the top.

Status changes are gathered into one JSON patch and written (through the worker's
:class:`~._status.StatusWriter`) with the resourceVersion the run last saw: when the run blocks,
when it ends, and before a ``store`` or ``poll`` value is returned (a value that is not
repeatable must be durable before the code that uses it runs). A 409 is retried only if the
status is still the one this run wrote; anything else means another worker took over, and this
run stops without writing.

:class:`Run` implements the sdk's ``Runtime`` protocol, one method per durable call. They stay
in one class because they share the run's step ledger and the ordering of its writes (a stored
value is written before a child made from it, a sleep's Suspension before the status that
names it); the pure parts live in ``_steps``, how a run stops early in ``_signals``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import Executor
from datetime import datetime, timedelta
from typing import Any, Protocol

from kontinue.api import (
    API_VERSION,
    ChildPolicy,
    ContinuedFrom,
    Execution,
    ExecutionError,
    ExecutionPhase,
    ExecutionRetry,
    ExecutionStep,
    StepKind,
    StepState,
    SuspensionKind,
    format_time,
    labels,
    parse_time,
)
from kontinue.api.bodies import ParentRef, child_labels, execution_body, owner_reference
from kontinue.api.resources import EXECUTIONS
from kontinue.clock import Clock
from kontinue.kube import (
    AlreadyExists,
    ApiError,
    AsyncKubeClient,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TooLarge,
    to_dict,
)
from kontinue.kube.conditions import set_condition
from kontinue.sdk._context import (
    ChildRequest,
    ContinueAsNew,
    ExecutionContext,
    StepCall,
    SuspendRequest,
    SyncExecutionContext,
    bind,
    step_call,
    whole_second_after,
)
from kontinue.sdk._functions import RESULT_LIMIT, FunctionDef
from kontinue.sdk._jobs import JobRequest
from kontinue.sdk._replay import JOB_NAME_LIMIT, StepClaim, StepLedger, child_name
from kontinue.sdk.errors import (
    ChildCanceled,
    ChildFailed,
    ExecutionTimedOut,
    InfrastructureError,
    InternalError,
    NonDeterminismError,
    ValidationFailed,
    WorkflowError,
    error_record,
)
from kontinue.timers import Timers

from ._jobs import job_result, read_logs
from ._signals import TRANSIENT, Parked, RunInterrupted, RunLost, StatusRejected
from ._status import StatusWriter, dump_error, dump_step
from ._steps import (
    CHILD_INLINE_LIMIT,
    json_value,
    merge_patches,
    next_on_grid,
    outcome,
    parent_of,
    resource_name,
    steps_to_clear,
    value_size,
)
from .settings import WorkerSettings

__all__ = ["Run", "RunHost"]

JSON = dict[str, Any]
_log = logging.getLogger("kontinue.worker")

_TIME_IS_UP: JSON = {}
"""What :meth:`Run._wait` returns when its ``until`` came before the object resolved."""


class RunHost(Protocol):
    """What a run needs from the worker that hosts it: the facilities it uses, what it waits
    on, and each way it can end. The engine implements it; a run never reaches further."""

    # Facilities -------------------------------------------------------------------------------

    @property
    def clock(self) -> Clock: ...
    @property
    def timers(self) -> Timers: ...
    @property
    def settings(self) -> WorkerSettings: ...
    @property
    def client(self) -> AsyncKubeClient: ...
    @property
    def status(self) -> StatusWriter: ...
    @property
    def threads(self) -> Executor:
        """Where plain-``def`` workflows and blocking store callables run."""
        ...

    @property
    def namespace(self) -> str: ...
    @property
    def group(self) -> str: ...
    @property
    def code_version(self) -> str: ...
    @property
    def functions(self) -> Mapping[str, FunctionDef]: ...
    def group_of(self, function: str) -> str | None:
        """The worker group that publishes ``function`` in this namespace."""
        ...

    def retry_policy(self, execution: Execution, definition: FunctionDef | None) -> ExecutionRetry:
        """The retries of ``execution``: its own, else its function's defaults."""
        ...

    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]: ...
    def observed(self, obj: JSON) -> None:
        """A write succeeded: the caches take its answer."""
        ...

    def record_event(self, obj: JSON, type: str, reason: str, message: str) -> None: ...

    # What a run waits on ----------------------------------------------------------------------

    def cached(self, kind: str, name: str) -> JSON | None:
        """The watched ``execution``, ``suspension`` or ``job`` called ``name``, if known."""
        ...

    def resolved(self, kind: str, name: str) -> tuple[JSON | None] | None:
        """``(obj,)`` once it resolved (``(None,)``: it is gone), else None."""
        ...

    def child_phase(self, name: str) -> str | None:
        """The phase of the watched execution ``name`` (None when it is not known)."""
        ...

    def waiter(self, kind: str, name: str) -> asyncio.Future[JSON | None]:
        """A future the watch resolves with the object once it resolves."""
        ...

    def blocked(self, run: Run) -> None:
        """The run started waiting (it may be evicted to save memory)."""
        ...

    def unblocked(self, run: Run) -> None: ...

    # How a run ends ---------------------------------------------------------------------------

    def finished(
        self, run: Run, phase: ExecutionPhase, error: ExecutionError | None = None
    ) -> None:
        """It recorded its outcome."""
        ...

    def backing_off(self, run: Run, policy: ChildPolicy) -> None:
        """The attempt failed and another follows after the backoff."""
        ...

    def parked(self, run: Run) -> None:
        """A plain-``def`` run unwound to wait: replay it when what it waits for happens."""
        ...

    def stalled(self, run: Run, message: str) -> None:
        """Its replay no longer matched its history: leave it for matching code."""
        ...

    def abandoned(self, run: Run, *, replay: bool) -> None:
        """It stopped without an outcome (another writer, or the API failed)."""
        ...


class Run:
    """Runs one attempt of an execution on the worker's event loop (see the module doc)."""

    def __init__(
        self,
        engine: RunHost,
        obj: JSON,
        definition: FunctionDef,
        *,
        new_attempt: bool,
        execution: Execution | None = None,
    ) -> None:
        self.engine = engine
        self.definition = definition
        self.raw = obj
        self._execution = execution if execution is not None else Execution.model_validate(obj)
        meta = self._execution.metadata
        self.name = meta.name or ""
        self.namespace = meta.namespace or engine.namespace
        self.uid = meta.uid or ""
        self.rv = meta.resource_version or ""
        self.persisted: JSON = dict(obj.get("status") or {})
        status = self._execution.status
        now = engine.clock.now()
        self.patch: JSON = {}
        if new_attempt:
            self.attempt = status.attempt + 1
            self.patch.update(
                phase=ExecutionPhase.EXECUTING.value,
                attempt=self.attempt,
                attemptStartedAt=format_time(now),
                nextAttemptAt=None,
                error=None,
                message=None,
            )
            if status.started_at is None:
                self.patch["startedAt"] = format_time(now)
            self.patch["codeVersion"] = engine.code_version
            self._execution.status.attempt = self.attempt
            self._execution.status.attempt_started_at = now
            self._execution.status.started_at = status.started_at or now
        else:
            self.attempt = max(1, status.attempt)
            self.patch["resumptions"] = status.resumptions + 1
            self._execution.status.resumptions = status.resumptions + 1
        self.steps: dict[str, ExecutionStep] = dict(status.steps)
        self.ledger = StepLedger(self.steps)
        self.waits: dict[tuple[str, str], str] = {}
        """What the run waits on now: (kind, name) -> a description for the message."""
        self.wake_at: datetime | None = None
        self.task: asyncio.Task[None] | None = None
        self.evicting = False
        self.blocked_since: datetime | None = None
        self._waits_ended = 0
        """Counts the waits that ended: an eviction stops only a run still in the same wait."""
        self._write_lock = asyncio.Lock()
        self._flush_scheduled = False
        self._ending = False
        self._announce = False
        """A new attempt's Started event is due with its first intermediate write (a run that
        ends in one go only gets its outcome's event: fewer writes per short execution)."""
        """Set once the run records its outcome: only that final write may follow."""
        self._stopped = False
        self._flushes: set[asyncio.Task[None]] = set()
        self._creating: set[asyncio.Task[datetime | None]] = set()
        """Suspensions of sleeps being created while their timers run (see :meth:`suspend`)."""
        self._stores_recorded = 0
        self._stores_written = 0
        """Store calls and values recorded, and how many of them the API has: every call is on
        record before it runs, and every value before anything else can depend on it."""
        self._rejected: StatusRejected | None = None
        """A write the API server refused in the background: the run fails with it at its next
        durable call or at its end, never completes without what was refused."""
        self.logger = logging.LoggerAdapter(
            logging.getLogger("kontinue.workflow"),
            {"namespace": self.namespace, "execution": self.name, "attempt": self.attempt},
        )

    # Runtime protocol (kontinue.sdk._context.Runtime) ---------------------------------------

    @property
    def execution(self) -> Execution:
        return self._execution

    def now(self) -> datetime:
        return self.engine.clock.now()

    def function(self, name: str) -> FunctionDef | None:
        return self.engine.functions.get(name)

    @property
    def is_sync(self) -> bool:
        return not self.definition.is_async

    def start(self) -> asyncio.Task[None]:
        self.task = asyncio.get_running_loop().create_task(
            self._main(), name=f"kontinue-run:{self.namespace}/{self.name}"
        )
        return self.task

    # The run ---------------------------------------------------------------------------------

    async def _main(self) -> None:
        try:
            await self._run_function()
        except asyncio.CancelledError:
            if self.evicting:
                return
            raise
        except RunLost:
            # Another writer changed the status: a worker that took over (then this one is no
            # longer leader and the replay does not run), a person, or a write of ours whose
            # answer was lost. Replay from what is there.
            _log.info(
                "run of %s/%s stopped: its status was changed by another writer; replaying it",
                self.namespace,
                self.name,
            )
            self.engine.abandoned(self, replay=True)
        except (RunInterrupted, Exception) as error:
            if isinstance(error.__cause__, Forbidden):
                _log.error(
                    "run of %s/%s interrupted: %s (the worker's RBAC must allow it: "
                    "kontinue install --rbac-only --role worker -n %s)",
                    self.namespace,
                    self.name,
                    error,
                    self.namespace,
                )
            else:
                _log.warning("run of %s/%s interrupted: %s", self.namespace, self.name, error)
            self.engine.abandoned(self, replay=True)

    async def _run_function(self) -> None:
        context = ExecutionContext(self)
        bind(context)
        self._announce = self.patch.get("phase") == ExecutionPhase.EXECUTING.value
        self._schedule_flush(self.engine.settings.status_delay)
        try:
            arguments = self.definition.parse_arguments(self._execution.spec.arguments)
            if self.definition.is_async:
                call = (
                    self.definition.fn(context, arguments)
                    if self.definition.takes_arguments
                    else self.definition.fn(context)
                )
                value = await call
            else:
                value = await self._call_sync(context, arguments)
            result = self.definition.dump_result(value)
            size = value_size(result)
            if size > RESULT_LIMIT:
                raise ValidationFailed(
                    f"the result of {self.definition.name} is {size} bytes encoded, more than "
                    f"the {RESULT_LIMIT} byte limit of an execution: store large data elsewhere "
                    "(a ConfigMap, object storage) and return a reference to it"
                )
        except Parked:
            if self.ledger.diverged is None:
                await self._flush()
                self.engine.parked(self)
                return
        except ContinueAsNew as request:
            if self.ledger.diverged is None:
                try:
                    await self._continue_as_new(request.arguments)
                except WorkflowError as error:  # the next execution's name is taken
                    await self._failed(error_record(error))
                return
        except Exception as error:
            if self.ledger.diverged is not None:
                await self._stall(self.ledger.diverged)
                return
            record = error_record(error)
            self.logger.warning(
                "attempt %d failed: %s", self.attempt, record.message, exc_info=error
            )
            await self._failed(record)
            return
        if self.ledger.diverged is not None:  # the workflow caught it and went on
            await self._stall(self.ledger.diverged)
            return
        try:
            await self._finish(ExecutionPhase.COMPLETED, result=result)
        except StatusRejected as rejected:
            for key in ("result", "finishedAt", "phase"):
                self.patch.pop(key, None)
            await self._failed(rejected.to_record())

    async def _stall(self, error: NonDeterminismError) -> None:
        """Park the execution where it is: its replay no longer matches what it recorded (the
        code changed). Nothing recorded is lost or canceled; its phase stays, a Stalled
        condition and an Event say why, and a worker with matching code resumes it."""
        self._ending = True
        now = self.now()
        message = (
            f"stalled on code version {self.engine.code_version}: {error.message}; deploy code "
            "that matches its history and it resumes by itself"
        )
        patch, self.patch = self.patch, {}
        patch = self.engine.status.with_conditions(
            self.raw, self.persisted, {**patch, "message": message}
        )
        patch["conditions"] = set_condition(
            patch["conditions"],
            "Stalled",
            "True",
            "NonDeterminism",
            message,
            observed_generation=patch["observedGeneration"],
            now=format_time(now),
        )
        self.waits.clear()
        try:
            await self._write(patch)
        finally:
            self.engine.stalled(self, message)

    async def _call_sync(self, context: ExecutionContext, arguments: Any) -> Any:
        loop = asyncio.get_running_loop()
        sync = SyncExecutionContext(context, loop)

        def call() -> Any:
            bind(context)
            if self.definition.takes_arguments:
                return self.definition.fn(sync, arguments)
            return self.definition.fn(sync)

        import contextvars

        ctx = contextvars.copy_context()
        return await loop.run_in_executor(self.engine.threads, ctx.run, call)

    # Ending ------------------------------------------------------------------------------------

    async def _finish(
        self, phase: ExecutionPhase, *, result: Any = None, message: str | None = None
    ) -> None:
        self._ending = True
        if self._rejected is not None:
            raise self._rejected
        now = self.now()
        self.patch.update(
            phase=phase.value,
            result=result,
            message=message,
            finishedAt=format_time(now),
        )
        self.waits.clear()
        await self._flush(final=True)
        self.engine.finished(self, phase)

    async def _continue_as_new(self, arguments: JSON) -> None:
        """Complete this execution as continued by the next of its chain, which is created
        first (under a deterministic name: a crash in between finds it on the replay)."""
        await self._write_stores()  # the arguments may come from a stored value
        spec = self._execution.spec
        previous = spec.continued_from
        lineage = previous.lineage if previous else self.name
        place = (previous.run if previous else 1) + 1
        name = child_name(lineage, f"run-{place}")
        notes = self._execution.metadata.annotations or {}
        body = execution_body(
            name=name,
            namespace=self.namespace,
            function=spec.function,
            arguments=arguments,
            group=self.engine.group,
            parent=self._parent_of_chain(),
            retry=spec.retry,
            timeout=spec.timeout,
            ttl=spec.ttl,
            mutex=spec.mutex,
            display_name=notes.get(labels.ANNOTATION_DISPLAY_NAME),
            description=notes.get(labels.ANNOTATION_DESCRIPTION),
            continued_from=ContinuedFrom(name=self.name, lineage=lineage, run=place),
        )
        try:
            created = await self.engine.client.create(body, namespace=self.namespace)
        except AlreadyExists:
            created = await self.engine.client.get(EXECUTIONS, name, namespace=self.namespace)
            origin = ((created.get("spec") or {}).get("continuedFrom") or {}).get("name")
            if origin != self.name:
                raise InternalError(
                    f"execution {name} exists but does not continue {self.name}; delete it "
                    "to let this execution continue"
                ) from None
        except TRANSIENT as error:
            raise RunInterrupted(f"creating execution {name} failed: {error}") from error
        self.engine.observed(created)
        self.patch["continuedAs"] = name
        await self._finish(ExecutionPhase.COMPLETED, message=f"continued as {name}")
        self.engine.record_event(self.raw, "Normal", "ContinuedAsNew", f"continued as {name}")

    def _parent_of_chain(self) -> ParentRef | None:
        """This execution's parent (and step), which the next of its chain keeps."""
        parent = self._execution.spec.parent
        if parent is None:
            return None
        owner = next((o for o in self._execution.metadata.owner_references if o.controller), None)
        root = self._execution.metadata.labels.get(labels.LABEL_ROOT, parent.name)
        return ParentRef(parent.name, owner.uid if owner else "", parent.step, root)

    async def _failed(self, record: ExecutionError) -> None:
        self._ending = True
        retry = self.engine.retry_policy(self._execution, self.definition)
        now = self.now()
        if record.retryable and self.attempt <= retry.retries:
            when = whole_second_after(now + retry.backoff)
            self.patch.update(
                phase=ExecutionPhase.BACKOFF.value,
                error=dump_error(record),
                message=f"attempt {self.attempt} failed: {record.message}; "
                f"attempt {self.attempt + 1} starts at {format_time(when)}",
                nextAttemptAt=format_time(when),
                attempts=[
                    *self.persisted.get("attempts", []),
                    self._attempt_record(ExecutionPhase.FAILED, record, now),
                ],
            )
            self._clear_steps(retry.child_policy)
            self.waits.clear()
            await self._flush(final=True)
            self.engine.record_event(self.raw, "Warning", "Retrying", self.patch_message(record))
            self.engine.backing_off(self, retry.child_policy)
            return
        self.patch.update(
            phase=ExecutionPhase.FAILED.value,
            error=dump_error(record),
            message=record.message,
            finishedAt=format_time(now),
        )
        self.waits.clear()
        await self._flush(final=True)
        self.engine.finished(self, ExecutionPhase.FAILED, record)

    def patch_message(self, record: ExecutionError) -> str:
        return f"attempt {self.attempt} failed: {record.message}"

    def _attempt_record(self, phase: ExecutionPhase, error: ExecutionError, now: datetime) -> JSON:
        started = self._execution.status.attempt_started_at
        entry: JSON = {
            "attempt": self.attempt,
            "phase": phase.value,
            "error": dump_error(error),
            "finishedAt": format_time(now),
        }
        if started is not None:
            entry["startedAt"] = format_time(started)
        return entry

    def _clear_steps(self, policy: ChildPolicy) -> None:
        """Forget the steps the next attempt must run again (see :func:`steps_to_clear`)."""
        steps = self.patch.setdefault("steps", {})
        for step_id in steps_to_clear(self.steps, policy, self.engine.child_phase):
            steps[step_id] = None
            self.steps.pop(step_id, None)

    # Writing -----------------------------------------------------------------------------------

    def _record(self, step_id: str, step: ExecutionStep) -> None:
        self.steps[step_id] = step
        self.patch.setdefault("steps", {})[step_id] = dump_step(step)
        if step.kind == StepKind.STORE:
            self._stores_recorded += 1

    async def _write_stores(self) -> None:
        """Write the store calls and values recorded so far, unless the API has them already:
        before a store's callable runs, and before an effect (a child, a Suspension, a Job)
        that may depend on a stored value."""
        if self._rejected is not None:
            raise self._rejected
        needed = self._stores_recorded
        if self._stores_written >= needed:
            return
        await self._flush()
        if self._stores_written < needed:
            raise RunInterrupted("the run stopped before its stored values were written")

    def _schedule_flush(self, delay: float = 0.0) -> None:
        """Write the pending changes soon (after ``delay`` seconds), coalescing the calls made
        meanwhile: the sibling calls of a ``gather`` land in one patch."""
        if delay:

            async def later() -> None:
                await asyncio.sleep(delay)
                self._schedule_flush()

            self._track(self.engine.spawn(later(), f"kontinue-flush-later:{self.name}"))
            return
        if self._flush_scheduled:
            return
        self._flush_scheduled = True

        async def soon() -> None:
            try:
                await asyncio.sleep(0)  # let sibling calls of a gather add their steps
            finally:
                self._flush_scheduled = False
            try:
                await self._flush()
            except (RunLost, RunInterrupted, StatusRejected, asyncio.CancelledError):
                pass  # a refused status fails the run at its next durable call or its end
            except Exception as error:
                _log.warning("status of %s/%s not written: %s", self.namespace, self.name, error)

        self._track(self.engine.spawn(soon(), f"kontinue-flush:{self.name}"))

    def _track(self, task: asyncio.Task[None]) -> None:
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    def _waiting_phase(self) -> tuple[ExecutionPhase, str | None]:
        if not self.waits:
            return ExecutionPhase.EXECUTING, None
        kinds = {kind for kind, _ in self.waits}
        descriptions = sorted(set(self.waits.values()))
        message = "waiting for " + ", ".join(descriptions[:3])
        if len(descriptions) > 3:
            message += f" and {len(descriptions) - 3} more"
        if kinds == {"suspension"}:
            return ExecutionPhase.SUSPENDED, message
        return ExecutionPhase.EXECUTING, message

    async def _flush(self, *, final: bool = False) -> None:
        async with self._write_lock:
            await self._settle()  # under the lock: a sleep may start while a flush waits
            if self._stopped:
                return  # stopped (canceled, evicted, stale): it writes nothing more
            if not final and (self._ending or (self.task is not None and self.task.done())):
                return  # the outcome is being recorded: that final write carries it all
            if not final:
                if self._announce:
                    self._announce = False
                    self.engine.record_event(
                        self.raw, "Normal", "Started", f"attempt {self.attempt}"
                    )
                phase, message = self._waiting_phase()
                if self.persisted.get("phase") != phase.value:
                    self.patch["phase"] = phase.value
                if self.persisted.get("message") != message:
                    self.patch["message"] = message
            if not self.patch:
                return
            patch = self.engine.status.with_conditions(self.raw, self.persisted, self.patch)
            self.patch = {}
            stores = self._stores_recorded
            try:
                await self._write(patch)
            except StatusRejected as error:
                # what was refused is dropped; the steps recorded before stay on the server
                kept = {k: v for k, v in patch.items() if k not in ("steps", "result")}
                self.patch = merge_patches(kept, self.patch)
                self._rejected = error
                raise
            except BaseException:
                self.patch = merge_patches(patch, self.patch)  # keep it for the next try
                raise
            self._stores_written = max(self._stores_written, stores)

    async def _write(self, patch: JSON) -> None:
        """Write ``patch`` over the status this run last saw; a 409 is retried only while the
        status is still that one (anything else: another writer took over, :class:`RunLost`)."""
        writer = self.engine.status
        for _ in range(8):
            current = self.persisted if "status" in self.raw else None
            try:
                answer = await writer.send(self.name, current, patch, self.rv)
            except Conflict:
                fresh = await writer.get(self.name)
                if fresh is None or (fresh.get("status") or {}) != self.persisted:
                    raise RunLost(self.name) from None  # the replay starts from what is there
                self.rv = str(fresh["metadata"]["resourceVersion"])
                self.raw = fresh
                continue
            except NotFound:
                raise RunLost(self.name) from None
            except TRANSIENT as error:
                raise RunInterrupted(f"status write failed: {error}") from error
            except (TooLarge, Invalid) as error:
                raise StatusRejected(
                    f"the API server refused the status of {self.name}: {error.message}; "
                    "record less (smaller results and stored values, fewer steps)"
                ) from None
            self.rv = str(answer["metadata"]["resourceVersion"])
            self.persisted = dict(answer.get("status") or {})
            self.raw = answer
            return
        raise RunLost(self.name)

    # Waiting -----------------------------------------------------------------------------------

    async def _wait(
        self,
        kind: str,
        name: str,
        description: str,
        until: datetime | None = None,
        creating: asyncio.Task[datetime | None] | None = None,
    ) -> JSON | None:
        """Wait until the object resolves (a child ends, a Suspension stops waiting), or
        until the clock reaches ``until``: then :data:`_TIME_IS_UP`, without waiting for the
        object to say so (a sleep wakes on this worker's clock, not after a write).
        ``creating`` is the object's creation still under way: its failure ends the wait,
        and an earlier time it finds replaces ``until``."""
        found = self.engine.resolved(kind, name)
        if found is not None:
            return found[0]
        if until is not None and self.now() >= until:
            return _TIME_IS_UP
        key = (kind, name)
        self.waits[key] = description
        if until is not None:
            self.wake_at = until if self.wake_at is None else min(self.wake_at, until)
        if self.is_sync:
            raise Parked(name)
        future = self.engine.waiter(kind, name)
        timer = None
        if until is not None:

            def time_is_up() -> None:
                if not future.done():
                    future.set_result(_TIME_IS_UP)

            timer = self.engine.timers.at(until, time_is_up)
            if creating is not None:

                def created(task: asyncio.Task[datetime | None]) -> None:
                    nonlocal timer
                    if future.done() or task.cancelled():
                        return
                    error = task.exception()
                    if error is not None:
                        future.set_exception(error)
                    elif (earlier := task.result()) is not None and timer is not None:
                        timer.cancel()
                        timer = self.engine.timers.at(earlier, time_is_up)

                creating.add_done_callback(created)
        self._blocked()
        try:
            return await future
        finally:
            if timer is not None:
                timer.cancel()
                self.wake_at = None
            self.waits.pop(key, None)
            self._unblocked()

    def _blocked(self) -> None:
        if self.blocked_since is None:
            self.blocked_since = self.now()
            self.engine.blocked(self)
        self._schedule_flush()

    def _unblocked(self) -> None:
        self._waits_ended += 1
        if not self.waits and self.wake_at is None:
            self.blocked_since = None
            self.engine.unblocked(self)

    def _parent(self, step_id: str) -> ParentRef:
        """This execution as the parent of what step ``step_id`` creates."""
        root = self._execution.metadata.labels.get(labels.LABEL_ROOT, self.name)
        return ParentRef(self.name, self.uid, step_id, root)

    def _child_meta(self, name: str, step_id: str) -> JSON:
        """The metadata of a Suspension or Job that step ``step_id`` creates."""
        return {
            "name": name,
            "namespace": self.namespace,
            "labels": child_labels(self._parent(step_id), self.engine.group),
            "ownerReferences": [owner_reference(self.name, self.uid)],
        }

    async def _create(self, body: JSON, step_id: str) -> JSON:
        try:
            return await self._create_once(body, step_id)
        except TRANSIENT as error:
            raise RunInterrupted(f"creating {body['kind']} failed: {error}") from error
        except ApiError as error:
            raise InfrastructureError(
                f"cannot create {body['kind']} {body['metadata']['name']}: {error}"
            ) from error

    async def _create_once(self, body: JSON, step_id: str) -> JSON:
        try:
            created: JSON = await self.engine.client.create(body, namespace=self.namespace)
        except AlreadyExists:
            kind, name = body["kind"], body["metadata"]["name"]
            existing = await self.engine.client.get(kind, name, namespace=self.namespace)
            theirs = (existing.get("metadata") or {}).get("labels") or {}
            if theirs.get(labels.LABEL_PARENT) != self.name:
                raise InternalError(
                    f"{kind} {name} exists but does not belong to execution {self.name} "
                    f"(step {step_id}); delete it or rename the step"
                ) from None
            created = existing
        self.engine.observed(created)
        return created

    async def _ensure(self, kind: str, body: JSON, step_id: str) -> JSON:
        """The object a pending step waits for: from the cache, or created (again). A step
        may be recorded before its object was created (a concurrent status write won the race
        with a crash): replay must then create it, never wait for something that is not
        there."""
        existing = self.engine.cached(kind, body["metadata"]["name"])
        if existing is not None:
            return existing
        return await self._create(body, step_id)

    # Durable calls -----------------------------------------------------------------------------

    async def child(self, claim: StepClaim, request: ChildRequest) -> Any:
        recorded = claim.recorded
        if recorded is not None and recorded.external and recorded.child:
            return await self._child_result(recorded.child)
        if recorded is not None and recorded.state != StepState.PENDING:
            return outcome(recorded)
        await self._write_stores()  # its arguments may come from a stored value
        if recorded is not None and recorded.child:
            name = recorded.child
            group = self.engine.group_of(request.function) or self.engine.group
            body = self._child_body(name, claim.id, group, request)
            await self._ensure("execution", body, claim.id)
        else:
            name = resource_name(self.name, claim.id, self.attempt)
            found = self.engine.group_of(request.function)
            if found is None:
                raise ValidationFailed(
                    f"no worker group publishes function {request.function!r} in namespace "
                    f"{self.namespace}: check the name, or start a worker that registers it"
                )
            step = ExecutionStep(
                kind=StepKind.EXECUTE,
                name=request.function,
                child=name,
                attempt=self.attempt,
                started_at=self.now(),
            )
            self._record(claim.id, step)
            await self._create(self._child_body(name, claim.id, found, request), claim.id)
        obj = await self._wait("execution", name, f"child {name}")
        while obj is not None and (following := _continued_as(obj)) is not None:
            name = following  # the child continued as a fresh execution: its result counts
            obj = await self._wait("execution", name, f"child {name}")
        step = self.steps.get(claim.id) or ExecutionStep(
            kind=StepKind.EXECUTE, name=request.function, child=name, attempt=self.attempt
        )
        error: WorkflowError
        if obj is None:
            error = ChildCanceled(f"child execution {name} ({request.function}) was deleted")
            self._record(
                claim.id,
                step.model_copy(update={"state": StepState.FAILED, "error": error.to_record()}),
            )
            raise error
        child_status = obj.get("status") or {}
        phase = child_status.get("phase")
        if phase in (ExecutionPhase.COMPLETED.value, ExecutionPhase.SKIPPED.value):
            value = child_status.get("result")
            done: dict[str, Any] = {"state": StepState.DONE, "value": value}
            if value_size(value) > CHILD_INLINE_LIMIT:
                done = {"state": StepState.DONE, "value": None, "external": True}
            self._record(claim.id, step.model_copy(update=done))
            return value
        if phase == ExecutionPhase.CANCELED.value:
            error = ChildCanceled.of(name, request.function)
        else:
            child_error = child_status.get("error")
            error = ChildFailed.of(
                name,
                request.function,
                ExecutionError.model_validate(child_error) if child_error else None,
            )
        self._record(
            claim.id,
            step.model_copy(update={"state": StepState.FAILED, "error": error.to_record()}),
        )
        raise error

    async def _child_result(self, name: str) -> Any:
        """The result of a finished child whose value the parent did not copy (the last
        execution's, when the child continued as new ones)."""
        while True:
            obj = self.engine.cached("execution", name)
            if obj is None:
                try:
                    obj = await self.engine.client.get(EXECUTIONS, name, namespace=self.namespace)
                except NotFound:
                    raise InternalError(
                        f"child execution {name} is gone, and its result was too large to be "
                        "recorded in the parent"
                    ) from None
            following = _continued_as(obj)
            if following is None:
                return (obj.get("status") or {}).get("result")
            name = following

    def _child_body(self, name: str, step_id: str, group: str, request: ChildRequest) -> JSON:
        return execution_body(
            name=name,
            namespace=self.namespace,
            function=request.function,
            arguments=request.arguments,
            group=group,
            parent=self._parent(step_id),
            retry=request.retry,
            timeout=request.timeout,
            mutex=request.mutex,
            display_name=request.display_name,
            description=request.description,
        )

    async def suspend(self, claim: StepClaim, request: SuspendRequest) -> Any:
        recorded = claim.recorded
        if recorded is not None and recorded.state != StepState.PENDING:
            return outcome(recorded)
        await self._write_stores()  # its time or message may come from a stored value
        sleep = request.resume_at is not None
        creating: asyncio.Task[datetime | None] | None = None
        if recorded is not None and recorded.child:
            name = recorded.child
            if recorded.resume_at is not None:  # the recorded wake-up, not a new one
                request = SuspendRequest(recorded.resume_at, request.message, request.schema)
            await self._ensure(
                "suspension", self._suspension_body(name, claim.id, request), claim.id
            )
        else:
            name = resource_name(self.name, claim.id, self.attempt)
            known = self.engine.cached("suspension", name) if sleep else None
            if known is not None and parent_of(known) == self.name:
                # made before a crash that lost its step: its time holds, nothing to create
                earlier = parse_time((known.get("spec") or {}).get("resumeAt"))
                request = SuspendRequest(earlier or request.resume_at, request.message, None)
            else:
                known = None
            step = ExecutionStep(
                kind=claim.kind,
                child=name,
                resume_at=request.resume_at,
                attempt=self.attempt,
                started_at=self.now(),
            )
            self._record(claim.id, step)
            body = self._suspension_body(name, claim.id, request)
            if known is None and sleep and not self.is_sync:
                # The sleep starts now, on this worker's clock; its Suspension is written
                # meanwhile, so a backlog of API writes cannot make the wake-up late.
                creating = asyncio.get_running_loop().create_task(
                    self._create_sleep(body, claim.id), name=f"kontinue-sleep:{name}"
                )
                self._creating.add(creating)
            elif known is None:
                made = await self._create(body, claim.id)
                existing = self._recorded_time(claim.id, made)
                if existing is not None:
                    request = SuspendRequest(existing, request.message, request.schema)
        resume_at = recorded.resume_at if recorded is not None else request.resume_at
        what = (
            f"sleep until {format_time(resume_at)}"
            if sleep and resume_at is not None
            else f"resume of {name}" + (f" ({request.message})" if request.message else "")
        )
        obj = await self._wait("suspension", name, what, resume_at if sleep else None, creating)
        step = (
            self.steps[claim.id]
            if claim.id in self.steps
            else ExecutionStep(kind=claim.kind, child=name, attempt=self.attempt)
        )
        if obj is _TIME_IS_UP:  # the engine marks the Suspension Resumed on its own time
            self._record(claim.id, step.model_copy(update={"state": StepState.DONE}))
            return None
        status = (obj or {}).get("status") or {}
        if obj is None or status.get("phase") == "Canceled":
            error = WorkflowError(f"suspension {name} was canceled", retryable=False)
            self._record(
                claim.id,
                step.model_copy(update={"state": StepState.FAILED, "error": error.to_record()}),
            )
            raise error
        value = None if sleep else status.get("data")
        self._record(claim.id, step.model_copy(update={"state": StepState.DONE, "value": value}))
        return value

    async def _create_sleep(self, body: JSON, step_id: str) -> datetime | None:
        """Create a sleep's Suspension; the earlier time it already had, if any."""
        return self._recorded_time(step_id, await self._create(body, step_id))

    def _recorded_time(self, step_id: str, made: JSON) -> datetime | None:
        """The time of a sleep's Suspension that existed already (a crash before its step was
        recorded): that time holds, and the step now says so."""
        existing = parse_time((made.get("spec") or {}).get("resumeAt"))
        step = self.steps.get(step_id)
        if existing is None or step is None or existing == step.resume_at:
            return None
        self._record(step_id, step.model_copy(update={"resume_at": existing}))
        return existing

    async def _settle(self) -> None:
        """Wait for the Suspensions of sleeps still being created (raising what failed): the
        status never gets ahead of them."""
        for task in list(self._creating):
            await task
            self._creating.discard(task)

    def _suspension_body(self, name: str, step_id: str, request: SuspendRequest) -> JSON:
        spec: JSON = {
            "execution": self.name,
            "step": step_id,
            "kind": (SuspensionKind.SLEEP if request.resume_at else SuspensionKind.MANUAL).value,
        }
        if request.resume_at is not None:
            spec["resumeAt"] = format_time(request.resume_at)
        if request.message:
            spec["message"] = request.message
        if request.schema:
            spec["schema"] = request.schema
        meta = self._child_meta(name, step_id)
        return {"apiVersion": API_VERSION, "kind": "Suspension", "metadata": meta, "spec": spec}

    def mark_version(self, claim: StepClaim) -> None:
        """Record that this run took the new path of ``ktx.version(change)``: its replays
        find the marker and take it again (written with the next write, as a store's value)."""
        step = ExecutionStep(
            kind=StepKind.VERSION,
            name=claim.target,
            state=StepState.DONE,
            attempt=self.attempt,
            started_at=self.now(),
        )
        self._record(claim.id, step)

    async def store(self, claim: StepClaim, compute: Callable[[], Any]) -> Any:
        """Record the call, then make it, then record its value. A call whose outcome a crash
        lost is never made again under its number: the replay makes the next call. The value
        is written with the next write (the next call's, or a Suspension's), never later than
        anything that could depend on it."""
        recorded = claim.recorded
        if recorded is not None and recorded.state == StepState.DONE:
            return recorded.value
        calls = 1 if recorded is None else (recorded.calls or 1) + 1
        call = ExecutionStep(
            kind=StepKind.STORE,
            calls=calls,
            attempt=self.attempt,
            started_at=self.now(),
        )
        self._record(claim.id, call)
        await self._write_stores()
        about = StepCall(self.namespace, self.name, self.uid, claim.id, self.attempt, calls)
        if calls > 1:
            self.logger.warning(
                "step %s: call %d of its store (the outcome of call %d was lost to a crash)",
                claim.id,
                calls,
                calls - 1,
            )
        with step_call(about):
            value = await self._compute(compute)
        stored = json_value(value, what=f"the value stored at step {claim.id}")
        self._record(claim.id, call.model_copy(update={"state": StepState.DONE, "value": stored}))
        self._schedule_flush()
        return stored

    async def _compute(self, compute: Callable[[], Any]) -> Any:
        if self.is_sync and not inspect.iscoroutinefunction(compute):
            import contextvars

            loop = asyncio.get_running_loop()
            value = await loop.run_in_executor(
                self.engine.threads, contextvars.copy_context().run, compute
            )
        else:
            value = compute()
        if inspect.isawaitable(value):
            value = await value
        return value

    async def poll(
        self,
        claim: StepClaim,
        check: Callable[[], Any],
        interval: timedelta,
        limit: timedelta | None,
    ) -> Any:
        recorded = claim.recorded
        if recorded is not None and recorded.state != StepState.PENDING:
            return outcome(recorded)
        # Recorded times have whole seconds: the start rounds up (a timeout counted from it never
        # ends early after a replay), and checks keep to the grid ``started + k * interval``.
        started = (recorded.started_at if recorded else None) or whole_second_after(self.now())
        step = recorded or ExecutionStep(
            kind=StepKind.POLL, attempt=self.attempt, started_at=started
        )
        while True:
            value = await self._compute(check)
            if value is not None:
                stored = json_value(value, what=f"the value polled at step {claim.id}")
                done = step.model_copy(
                    update={"state": StepState.DONE, "value": stored, "resume_at": None}
                )
                self._record(claim.id, done)
                await self._flush()
                return stored
            now = self.now()
            if limit is not None and now >= started + limit:
                error = ExecutionTimedOut(
                    f"poll at step {claim.id} gave no value within {limit}", retryable=True
                )
                self._record(
                    claim.id,
                    step.model_copy(update={"state": StepState.FAILED, "error": error.to_record()}),
                )
                raise error
            when = next_on_grid(started, interval, now)
            if limit is not None:
                when = min(when, started + limit)
            step = step.model_copy(update={"resume_at": when})
            self._record(claim.id, step)
            await self._sleep_in_memory(when, f"poll at step {claim.id}")

    async def _sleep_in_memory(self, when: datetime, description: str) -> None:
        key = ("timer", description)
        self.waits[key] = description
        self.wake_at = when if self.wake_at is None else min(self.wake_at, when)
        if self.is_sync:
            raise Parked(description)
        self._blocked()
        try:
            await self.engine.timers.sleep_until(when)
        finally:
            self.waits.pop(key, None)
            self.wake_at = None
            self._unblocked()

    # Jobs, pods and scripts -------------------------------------------------------------------

    def to_json(self, obj: Any) -> JSON:
        return to_dict(obj)

    async def job(self, claim: StepClaim, request: JobRequest) -> Any:
        recorded = claim.recorded
        if recorded is not None and recorded.state != StepState.PENDING:
            return outcome(recorded)
        await self._write_stores()  # its spec may come from a stored value
        if recorded is not None and recorded.child:
            name = recorded.child
            await self._ensure("job", self._job_body(name, claim.id, request), claim.id)
        else:
            name = resource_name(self.name, claim.id, self.attempt, limit=JOB_NAME_LIMIT)
            step = ExecutionStep(
                kind=claim.kind,
                name=request.target,
                child=name,
                attempt=self.attempt,
                started_at=self.now(),
            )
            self._record(claim.id, step)
            await self._create(self._job_body(name, claim.id, request), claim.id)
        obj = await self._wait("job", name, f"Job {name}")
        step = self.steps.get(claim.id) or ExecutionStep(
            kind=claim.kind, name=request.target, child=name, attempt=self.attempt
        )
        if obj is None:
            error = InfrastructureError(f"Job {name} was deleted before it finished")
            self._record(
                claim.id,
                step.model_copy(update={"state": StepState.FAILED, "error": error.to_record()}),
            )
            raise error
        try:
            result = await job_result(self.engine.client, obj)
        except TRANSIENT as error:
            raise RunInterrupted(f"reading the pods of Job {name} failed: {error}") from error
        value = result.model_dump(mode="json")
        self._record(claim.id, step.model_copy(update={"state": StepState.DONE, "value": value}))
        return value

    def _job_body(self, name: str, step_id: str, request: JobRequest) -> JSON:
        meta = self._child_meta(name, step_id)
        job_labels = meta["labels"] = {**request.labels, **meta["labels"]}
        spec = dict(request.spec)
        template = dict(spec.get("template") or {})
        template_meta = dict(template.get("metadata") or {})
        template_meta["labels"] = {**(template_meta.get("labels") or {}), **job_labels}
        template["metadata"] = template_meta
        spec["template"] = template
        if request.annotations:
            meta["annotations"] = dict(request.annotations)
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": spec}

    async def pod_logs(
        self, namespace: str, name: str, *, tail_lines: int, container: str | None
    ) -> str:
        return await read_logs(self.engine.client, namespace, name, tail_lines, container)

    # Stopping ------------------------------------------------------------------------------------

    async def stop(self) -> None:
        """Cancel the workflow's task (it writes nothing more) and wait for it to end."""
        self._stopped = True
        for flush in list(self._flushes):
            flush.cancel()
        for creating in self._creating:  # they land on their own; nobody awaits them now
            creating.add_done_callback(_retrieve)
        task = self.task
        if task is None or task.done():
            return
        self.evicting = True
        task.cancel()
        try:
            await task
        except BaseException:
            pass

    async def evict(self) -> bool:
        """Drop the waiting coroutine to save memory (the next run replays it); False when
        its state could not be written first, or when what it waited for came while it was
        written (it goes on in memory; if it waits again, it is evicted again)."""
        waiting = self._waits_ended
        try:
            await self._flush()
        except RunLost:
            await self.stop()  # stale: replayed from what the other writer left
            self.engine.abandoned(self, replay=True)
            return True
        except (RunInterrupted, Exception):
            return False
        if self._waits_ended != waiting or self._stopped:
            return False
        await self.stop()
        return True


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.debug("%s failed after its run stopped: %s", task.get_name(), task.exception())


def _continued_as(obj: JSON) -> str | None:
    """The next execution of a chain that ``obj`` completed by continuing as."""
    status = obj.get("status") or {}
    if status.get("phase") != ExecutionPhase.COMPLETED.value:
        return None
    following = status.get("continuedAs")
    return str(following) if following else None
