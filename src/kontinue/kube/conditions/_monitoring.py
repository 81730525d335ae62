"""Run a task and keep a status condition of an object telling how it goes.

The condition follows the task: ``Unknown`` (reason ``InProgress``) while it runs, then ``True``
(``Succeeded``) or ``False`` (``Failed``, with the exception's message).  These are the three
statuses ``metav1.Condition`` allows, unlike the seed's own ``InProgress/Success/Error`` statuses,
so kubectl, kstatus and ``kubectl wait --for=condition=X`` read them without special cases: an
``Unknown`` condition is "not decided yet", which is what a running task is.  The seed's status
lives on in the reason:

=============  ===========  ============================  =====================================
seed status    ``status``   ``reason`` (default)          also
=============  ===========  ============================  =====================================
InProgress     ``Unknown``  ``InProgress``                message empty
Success        ``True``     ``Succeeded``                 message empty
Error          ``False``    ``Failed``                    message: the error; a Warning Event
=============  ===========  ============================  =====================================

The reasons can be renamed (``in_progress_reason`` ...). :func:`monitor_condition` takes a task
without arguments; :class:`ConditionMonitor` has the seed's calling shape (one monitor for many
tasks, the task receives the object) and :class:`SyncConditionMonitor` is its blocking twin.

Writes go through the ``status`` subresource with optimistic concurrency: each write carries the
resourceVersion last seen, and on a 409 Conflict the object is read again and the condition set
anew on the fresh copy (a bounded number of times, with a little jitter).  So several monitors
may run on the same object at once, for example on different condition types: their writes are
serialized by the API server rather than forbidden, and none overwrites another's condition.
(The seed forbids parallel monitors because it writes blindly.)

The seed panics when it cannot write; here nothing does.  The task always runs, even when the
first write failed (the condition is bookkeeping, the task is the work), and its outcome wins:

* the task raised: its exception is re-raised unchanged, after a Warning Event was recorded;
  condition or event writes that failed are attached to it as notes (``add_note``);
* the task returned but a write failed: :class:`ConditionUpdateFailed` is raised, chained to the
  first failure, with the task's return value in ``result``;
* the task was cancelled (or interrupted): nothing more is written and the condition stays
  ``Unknown``, which is the truth: nobody knows how the work would have ended.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from kontinue.clock import Clock, SystemClock, format_time

from .._blocking import LoopThread, async_twin
from .._core import JSON, from_dict, to_dict
from ..errors import Conflict, KubeError
from ._recording import EventRecorder
from ._setting import set_condition

if TYPE_CHECKING:
    from ..client import AsyncKubeClient, KubeClient

__all__ = ["ConditionMonitor", "ConditionUpdateFailed", "SyncConditionMonitor", "monitor_condition"]

T = TypeVar("T")
Obj = TypeVar("Obj")

_WRITE_ATTEMPTS = 10  # per status write; each conflict means someone else just got through
_CONFLICT_BACKOFF = 0.01  # seconds times the attempt number, jittered, between retries


class ConditionUpdateFailed(KubeError):
    """The task succeeded, but its condition could not be written.

    Attributes:
        result: What the task returned (the work is done; only the bookkeeping failed).
        failures: The write errors in the order they happened (the first is ``__cause__``).
    """

    def __init__(self, message: str, result: Any, failures: list[KubeError]) -> None:
        super().__init__(message)
        self.result = result
        self.failures = failures


class _ConditionWriter:
    """Writes one condition type of one object, re-reading on conflicts; keeps failures."""

    def __init__(
        self, client: AsyncKubeClient, obj: JSON, condition_type: str, clock: Clock
    ) -> None:
        self.client = client
        self.current = obj
        self.condition_type = condition_type
        self.clock = clock
        self.failures: list[KubeError] = []
        self.generation: int | None = obj.get("metadata", {}).get("generation")

    async def write(self, status: str, reason: str, message: str) -> None:
        """Set the condition; a failure is remembered, not raised."""
        try:
            await self._write(status, reason, message)
        except KubeError as exc:
            self.failures.append(exc)

    async def _write(self, status: str, reason: str, message: str) -> None:
        if not self.current.get("metadata", {}).get("resourceVersion"):
            # Without a resourceVersion the PUT would be unconditional and could wipe out
            # conditions written since: start from the stored object instead.
            await self._reread()
        attempt = 1
        while True:
            try:
                self.current = await self.client.update_status(
                    self._with_condition(status, reason, message)
                )
                return
            except Conflict:
                if attempt == _WRITE_ATTEMPTS:
                    raise
            await asyncio.sleep(random.uniform(0, _CONFLICT_BACKOFF * attempt))
            attempt += 1
            await self._reread()

    async def _reread(self) -> None:
        self.current = await self.client.get(self.current)
        if self.generation is None:
            self.generation = self.current.get("metadata", {}).get("generation")

    def _with_condition(self, status: str, reason: str, message: str) -> JSON:
        current_status = self.current.get("status")
        current_status = current_status if isinstance(current_status, dict) else {}
        conditions = current_status.get("conditions")
        conditions = set_condition(
            conditions if isinstance(conditions, list) else [],
            self.condition_type,
            status,
            reason,
            message,
            # The generation the task started on: a spec changed meanwhile was not observed.
            observed_generation=self.generation,
            now=format_time(self.clock.now()),
        )
        return {**self.current, "status": {**current_status, "conditions": conditions}}

    def describe(self) -> str:
        meta = self.current.get("metadata", {})
        where = "/".join(str(p) for p in (meta.get("namespace"), meta.get("name")) if p)
        return f"the {self.condition_type} condition of {self.current.get('kind')} {where}"


class _Monitoring:
    """One monitored run, step by step, so a blocking caller can run the task in between."""

    def __init__(
        self,
        client: AsyncKubeClient,
        obj: Any,
        condition_type: str,
        recorder: EventRecorder | None,
        reasons: tuple[str, str, str],
        clock: Clock,
    ) -> None:
        self.writer = _ConditionWriter(client, to_dict(obj), condition_type, clock)
        self.client, self.recorder, self.clock = client, recorder, clock
        self.in_progress, self.success, self.error = reasons
        self.like = None if isinstance(obj, dict) else type(obj)

    async def begin(self) -> Any:
        """Set the condition ``Unknown``; returns the object as written (typed like the one
        given), which the task may work on."""
        await self.writer.write("Unknown", self.in_progress, "")
        return from_dict(self.writer.current, self.like)

    async def failed(self, exc: Exception) -> None:
        """The task raised ``exc``: set ``False``, record a Warning, note write failures."""
        writer = self.writer
        message = str(exc) or type(exc).__name__
        await writer.write("False", self.error, message)
        for failure in writer.failures:
            exc.add_note(f"while recording {writer.describe()}: {failure}")
        events = self.recorder or EventRecorder(self.client, clock=self.clock)
        try:
            await events.record(
                writer.current, "Warning", self.error, message, action=writer.condition_type
            )
        except KubeError as refused:
            exc.add_note(f"while recording a Warning event for {writer.describe()}: {refused}")

    async def succeeded(self, result: T) -> T:
        """The task returned ``result``: set ``True``; raise if a write failed."""
        writer = self.writer
        await writer.write("True", self.success, "")
        if writer.failures:
            raise ConditionUpdateFailed(
                f"{writer.describe()} could not be recorded: {writer.failures[0]}",
                result,
                writer.failures,
            ) from writer.failures[0]
        return result


async def monitor_condition(
    client: AsyncKubeClient,
    obj: Any,
    condition_type: str,
    task: Callable[[], Awaitable[T]],
    *,
    recorder: EventRecorder | None = None,
    in_progress_reason: str = "InProgress",
    success_reason: str = "Succeeded",
    error_reason: str = "Failed",
    clock: Clock | None = None,
) -> T:
    """Run ``task`` while ``status.conditions[condition_type]`` of ``obj`` follows it.

    ``obj`` (a dict or pydantic model; its kind needs a status subresource) is not modified.
    The condition goes ``Unknown``/``in_progress_reason`` -> ``True``/``success_reason`` or
    ``False``/``error_reason`` with the exception's message, and a Warning Event (reason
    ``error_reason``, action ``condition_type``) is recorded by ``recorder`` (by default an
    :class:`EventRecorder` for component ``kontinue``) when the task fails.  Conditions carry
    ``observedGeneration`` (the object's generation when the monitor started) and a
    ``lastTransitionTime`` that only moves when the status changes.

    Returns what the task returned, or re-raises what it raised; see the module docs for how
    write failures are reported (:class:`ConditionUpdateFailed`, or notes on the task's error).
    :class:`ConditionMonitor` is the seed's calling shape, where the task receives the object.
    """
    reasons = (in_progress_reason, success_reason, error_reason)
    run = _Monitoring(client, obj, condition_type, recorder, reasons, clock or SystemClock())
    await run.begin()
    try:
        result = await task()
    except Exception as exc:
        await run.failed(exc)
        raise
    return await run.succeeded(result)


class ConditionMonitor:
    """The seed's ``Client.MonitorCondition``: one client and Event recorder for many
    monitored tasks, each of which receives the object it works on.

    :meth:`monitor` sets the condition as :func:`monitor_condition` does, with the reasons and
    clock given here. The task gets the object as written with the ``Unknown`` condition (its
    new resourceVersion included, typed like the object given), so it can update it further.
    """

    def __init__(
        self,
        client: AsyncKubeClient,
        *,
        recorder: EventRecorder | None = None,
        in_progress_reason: str = "InProgress",
        success_reason: str = "Succeeded",
        error_reason: str = "Failed",
        clock: Clock | None = None,
    ) -> None:
        self.client = client
        self.clock: Clock = clock or SystemClock()
        self.recorder = recorder or EventRecorder(client, clock=self.clock)
        self.reasons = (in_progress_reason, success_reason, error_reason)

    async def monitor(
        self, obj: Obj, condition_type: str, task: Callable[[Obj], Awaitable[T]]
    ) -> T:
        """Run ``task(obj)`` while the ``condition_type`` condition of ``obj`` follows it;
        returns or raises what the task did (see :func:`monitor_condition`)."""
        run = _Monitoring(self.client, obj, condition_type, self.recorder, self.reasons, self.clock)
        subject = await run.begin()
        try:
            result = await task(subject)
        except Exception as exc:
            await run.failed(exc)
            raise
        return await run.succeeded(result)


class SyncConditionMonitor:
    """:class:`ConditionMonitor` for blocking code: the task is a plain function, run in the
    calling thread; the condition and Event writes go through an async client for
    ``client``'s connection on a private event loop thread. :meth:`close` it (or use
    ``with``) when done. An interrupted task (KeyboardInterrupt) leaves the condition
    ``Unknown``, as a cancelled one does.
    """

    def __init__(
        self,
        client: KubeClient,
        *,
        component: str = "kontinue",
        in_progress_reason: str = "InProgress",
        success_reason: str = "Succeeded",
        error_reason: str = "Failed",
        clock: Clock | None = None,
    ) -> None:
        self._loop = LoopThread("kontinue-conditions")
        self._client = async_twin(client)
        self.clock: Clock = clock or SystemClock()
        recorder = EventRecorder(self._client, component=component, clock=self.clock)
        self._monitor = ConditionMonitor(
            self._client,
            recorder=recorder,
            in_progress_reason=in_progress_reason,
            success_reason=success_reason,
            error_reason=error_reason,
            clock=self.clock,
        )

    def monitor(self, obj: Obj, condition_type: str, task: Callable[[Obj], T]) -> T:
        """Run ``task(obj)`` while the ``condition_type`` condition of ``obj`` follows it;
        returns or raises what the task did (see :func:`monitor_condition`)."""
        monitor = self._monitor
        run = _Monitoring(
            monitor.client, obj, condition_type, monitor.recorder, monitor.reasons, self.clock
        )
        subject = self._loop.call(run.begin())
        try:
            result = task(subject)
        except Exception as exc:
            self._loop.call(run.failed(exc))
            raise
        return self._loop.call(run.succeeded(result))

    def close(self) -> None:
        """Stop the thread (and close its client)."""
        try:
            self._loop.call(self._client.close())
        finally:
            self._loop.close()

    def __enter__(self) -> SyncConditionMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
