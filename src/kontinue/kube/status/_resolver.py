"""Reading live objects and waiting until they reach a status (kstatus ``wait``, after cli-utils).

:func:`compute_status` says what status an object is in; a deploy tool, a workflow step that
created resources or a test needs the question asked of the cluster: "are all these objects
``Current`` yet?".  :class:`Resolver` answers it once (:meth:`Resolver.fetch_and_resolve`) or keeps
answering until the answer is yes (:meth:`Resolver.wait_for_status`).

Unlike the Go package, which polls, waiting follows each object with a watch narrowed by a
``metadata.name`` field selector: a change is seen as soon as the server commits it, and an idle
wait costs the server nothing.  Each watch starts from a *list* rather than a get, because a list
carries a resourceVersion even when the object does not exist yet (or any more), so the watch can
start from there without missing its creation or deletion.  A watch that breaks
(:class:`~kontinue.kube.errors.ConnectionFailed`), expires (:class:`~kontinue.kube.errors.Gone`)
or is refused is re-established from a fresh list; one that simply ends resumes from the last
version seen.

Some rules depend on time as well as on the object (a Pod unschedulable for 15 seconds is
``Failed``): when a status says it will change by itself (:attr:`StatusResult.changes_at`), the
object is judged again at that time on the resolver's clock, without waiting for an event.
:class:`SyncResolver` is the blocking twin, for scripts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from kontinue.clock import Clock, SystemClock
from kontinue.timers import sleep

from .._blocking import LoopThread, async_twin
from .._core import identity, to_dict
from ..errors import KubeError, NotFound
from ._model import Status, StatusResult
from ._rules import aggregate_status, compute_status

if TYPE_CHECKING:
    from collections.abc import Generator

    from ..client import AsyncKubeClient, KubeClient

__all__ = [
    "EventResource",
    "EventType",
    "Resolver",
    "ResourceIdentifier",
    "ResourceResult",
    "SyncResolver",
    "WaitEvent",
]

_WATCH_SECONDS = 300
"""Server-side lifetime of one watch request; the stream is then resumed from the last version.

Bounded, like client-go's reflectors, so a stream that silently died on some proxy gets replaced.
"""

_FIRST_RETRY = 0.1
"""Seconds before reading an object again after a failure; doubles per failure in a row."""

_MAX_RETRY = 5.0
"""Upper bound of the pause between attempts, so a recovered server is noticed quickly."""

_TASK_PREFIX = "kontinue.status.follow"
"""Name prefix of the background tasks of a wait (one per object), to spot them in a dump."""


@dataclass(frozen=True)
class ResourceIdentifier:
    """Which object to look at: its ``apiVersion``, ``kind``, ``name`` and ``namespace``.

    An empty ``namespace`` means the client's namespace for a namespaced kind, and nothing for a
    cluster-scoped one (where any namespace given is ignored).
    """

    api_version: str
    kind: str
    name: str
    namespace: str = ""

    @property
    def group(self) -> str:
        """The API group (``""`` for the core group): what identity depends on, not the version."""
        return self.api_version.rpartition("/")[0]

    def equals(
        self,
        other: ResourceIdentifier,
        *,
        namespaced: bool | None = None,
        default_namespace: str = "default",
    ) -> bool:
        """Whether both identify the same object, which ``==`` cannot always tell.

        The version is ignored (the server serves one object at every version of its group).  An
        empty namespace stands for ``default_namespace`` when the kind is namespaced, so an
        identifier written by hand matches the one read back from the server.  ``namespaced``
        is the kind's scope, which only discovery knows (:meth:`Resolver.namespaced` asks it):
        ``False`` ignores namespaces altogether; ``None`` (unknown) treats the kind as namespaced,
        as Go's ``Equals`` does.
        """
        if (self.group, self.kind, self.name) != (other.group, other.kind, other.name):
            return False
        if namespaced is False:
            return True
        return (self.namespace or default_namespace) == (other.namespace or default_namespace)

    @classmethod
    def of(cls, obj: Any) -> ResourceIdentifier:
        """The identifier of an object given as a dict or a pydantic model.

        Raises :class:`ValueError` when it lacks ``apiVersion``, ``kind`` or a name.
        """
        api_version, kind, namespace, name = identity(to_dict(obj))
        if not name:
            raise ValueError(f"the {kind} has no metadata.name")
        return cls(api_version, kind, name, namespace)

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind}.{self.api_version} {where}"


@dataclass(frozen=True)
class ResourceResult:
    """The status of one object as read, or why it could not be read.

    Exactly one of ``result`` and ``error`` is set.  A missing object is not an error: its result
    is ``NotFound``.  ``error`` is any other :class:`~kontinue.kube.errors.KubeError` (forbidden,
    server unreachable...), in which case the status is ``Unknown``.
    """

    identifier: ResourceIdentifier
    result: StatusResult | None
    error: Exception | None = None

    @property
    def status(self) -> Status:
        """The status, ``Unknown`` when the object could not be read."""
        return self.result.status if self.result is not None else Status.UNKNOWN

    @property
    def message(self) -> str:
        """The status message, or the error when the object could not be read."""
        return self.result.message if self.result is not None else str(self.error)


class EventType(StrEnum):
    """What a :class:`WaitEvent` reports (the strings Go's ``wait.EventType`` uses)."""

    RESOURCE_UPDATE = "ResourceUpdate"
    """The status or message of one object changed (or was read for the first time)."""
    COMPLETED = "Completed"
    """Every object reached the desired status; the wait is over."""
    ABORTED = "Aborted"
    """The wait timed out or was cancelled before every object reached the desired status; it
    is over."""


@dataclass(frozen=True)
class EventResource:
    """The object a ``ResourceUpdate`` is about, and its new status."""

    identifier: ResourceIdentifier
    status: Status
    message: str
    error: Exception | None = None


@dataclass(frozen=True)
class WaitEvent:
    """One step of :meth:`Resolver.wait_for_status`.

    ``aggregate_status`` folds the latest status of every object (:func:`aggregate_status`), so a
    consumer can show overall progress without keeping state; ``resource`` is only set on
    ``ResourceUpdate`` events.
    """

    type: EventType
    aggregate_status: Status
    resource: EventResource | None = None


_Report = tuple[int, ResourceResult] | Exception
"""What a follower task tells the wait: a new reading of object ``i``, or the bug it died of."""

_Reading = Callable[[ResourceResult, Any], None]
"""How a watch passes on a reading: the result, and the object it was computed from (or None)."""


class Resolver:
    """Reads objects from the cluster and resolves their kstatus status, once or until reached.

    ``desired`` is the status a wait waits for: ``Current`` (the default) to wait for objects to be
    reconciled, ``NotFound`` to wait for them to be deleted.  ``clock`` is what time-based rules
    are judged by (the wall clock by default; a test's ManualClock moves them on).
    """

    def __init__(
        self,
        client: AsyncKubeClient,
        *,
        desired: Status = Status.CURRENT,
        clock: Clock | None = None,
    ) -> None:
        self._client = client
        self.desired = desired
        self.clock: Clock = clock or SystemClock()

    # One-shot ------------------------------------------------------------------------------

    async def fetch_and_resolve(self, ids: Sequence[ResourceIdentifier]) -> list[ResourceResult]:
        """The status of each object as it stands, in the order given (read concurrently).

        Never raises for an object it cannot read: see :class:`ResourceResult`.
        """
        return list(await asyncio.gather(*(self._fetch(ident) for ident in ids)))

    async def fetch_and_resolve_objects(self, objs: Sequence[Any]) -> list[ResourceResult]:
        """:meth:`fetch_and_resolve` for objects (dicts or models) that name what to read.

        Only their identity is used: the status comes from the server's current copy.
        """
        return await self.fetch_and_resolve([ResourceIdentifier.of(obj) for obj in objs])

    async def _fetch(self, ident: ResourceIdentifier) -> ResourceResult:
        try:
            obj = await self._client.get(_reference(ident))
        except NotFound:
            return ResourceResult(ident, compute_status(None))
        except KubeError as exc:
            return ResourceResult(ident, None, exc)
        return _resolved(ident, obj, self.clock)

    # Identity ------------------------------------------------------------------------------

    async def namespaced(self, ident: ResourceIdentifier) -> bool:
        """Whether the kind of ``ident`` is namespaced (from discovery, cached by the client).

        Raises :class:`~kontinue.kube.errors.NotFound` when the server does not serve the kind.
        """
        # The client keeps discovery private; this package is its own toolkit, so it may ask.
        info = await self._client.resource_info(ident.kind, ident.api_version)
        return info.namespaced

    async def same_resource(self, a: ResourceIdentifier, b: ResourceIdentifier) -> bool:
        """:meth:`ResourceIdentifier.equals` with the kind's scope and the client's namespace.

        The right comparison for an identifier read from the server against one given by hand.
        """
        if (a.group, a.kind) != (b.group, b.kind):
            return False
        try:
            namespaced: bool | None = await self.namespaced(a)
        except NotFound:  # a kind the server does not serve: compare as Go does
            namespaced = None
        return a.equals(b, namespaced=namespaced, default_namespace=self._client.namespace)

    # Waiting -------------------------------------------------------------------------------

    def wait_for_status(
        self, ids: Sequence[ResourceIdentifier], timeout: float | None = None
    ) -> AsyncGenerator[WaitEvent, None]:
        """Follow the objects until all reach the desired status, reporting every change.

        First comes one ``ResourceUpdate`` per object with its initial status, in the order
        given (all carrying the aggregate of those initial statuses); then one whenever an
        object's status or message changes.  The iteration ends after ``Completed`` (every object
        has the desired status, possibly right away) or ``Aborted`` (``timeout`` seconds, counted
        from the first step of the iteration, went by first) or the wait was cancelled.  A
        ``Failed`` object does not end the wait: a controller may still recover it, and the
        aggregate already says ``Failed``.  A status that changes with time alone (an
        unschedulable Pod turning ``Failed``) is reported when its time comes on the clock.

        Cancelling the consuming task while it waits for the next event ends the iteration as
        the seed's channel does: with an ``Aborted`` event carrying the aggregate so far, then
        the end of the loop, instead of a :class:`asyncio.CancelledError`.  Under
        ``asyncio.timeout`` the block then ends without ``TimeoutError``; a task cancelled from
        outside goes on after the loop, so code there that must stop too checks
        ``asyncio.current_task().cancelling()``.  In every case, and when the consumer stops
        early (use :func:`contextlib.aclosing` so that happens at once, not at garbage
        collection), the watches are closed and their tasks awaited before the iteration is
        left.
        """
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout must not be negative, got {timeout}")
        return self._wait(list(ids), timeout)

    def wait_for_status_of_objects(
        self, objs: Sequence[Any], timeout: float | None = None
    ) -> AsyncGenerator[WaitEvent, None]:
        """:meth:`wait_for_status` for objects (dicts or models) that name what to follow."""
        return self.wait_for_status([ResourceIdentifier.of(obj) for obj in objs], timeout)

    async def _wait(
        self, ids: list[ResourceIdentifier], seconds: float | None
    ) -> AsyncGenerator[WaitEvent, None]:
        if not ids:
            yield WaitEvent(EventType.COMPLETED, aggregate_status((), self.desired))
            return
        loop = asyncio.get_running_loop()
        deadline = None if seconds is None else loop.time() + seconds
        reports: asyncio.Queue[_Report] = asyncio.Queue()
        latest: list[ResourceResult | None] = [None] * len(ids)
        unread = len(ids)
        tasks = [
            asyncio.create_task(self._follow(index, ident, reports), name=f"{_TASK_PREFIX} {ident}")
            for index, ident in enumerate(ids)
        ]
        try:
            while True:
                try:
                    # Checked first too: a busy queue answers get() without ever suspending.
                    if deadline is not None and loop.time() >= deadline:
                        raise TimeoutError
                    async with asyncio.timeout_at(deadline):
                        report = await reports.get()
                except (TimeoutError, asyncio.CancelledError):
                    yield WaitEvent(EventType.ABORTED, self._aggregate(latest))
                    return
                if isinstance(report, Exception):
                    raise report
                index, result = report
                previous, latest[index] = latest[index], result
                if unread:
                    if previous is None:
                        unread -= 1
                    if unread:
                        continue
                    aggregate = self._aggregate(latest)
                    for initial in (r for r in latest if r is not None):
                        yield WaitEvent(EventType.RESOURCE_UPDATE, aggregate, _event(initial))
                elif previous is not None and _unchanged(previous, result):
                    continue
                else:
                    aggregate = self._aggregate(latest)
                    yield WaitEvent(EventType.RESOURCE_UPDATE, aggregate, _event(result))
                if aggregate == self.desired:
                    yield WaitEvent(EventType.COMPLETED, aggregate)
                    return
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _aggregate(self, latest: Sequence[ResourceResult | None]) -> Status:
        """The aggregate, counting objects not read yet as ``Unknown``."""
        statuses = (Status.UNKNOWN if r is None else r.status for r in latest)
        return aggregate_status(statuses, self.desired)

    async def _follow(
        self, index: int, ident: ResourceIdentifier, reports: asyncio.Queue[_Report]
    ) -> None:
        """Report every reading of one object until cancelled (a crash is reported too), and
        read it again when its status says it changes with time."""
        recheck: asyncio.Task[None] | None = None

        def report(result: ResourceResult, obj: Any) -> None:
            nonlocal recheck
            if recheck is not None and recheck is not asyncio.current_task():
                recheck.cancel()  # a newer reading: the older one's time no longer matters
            recheck = None
            reports.put_nowait((index, result))
            when = result.result.changes_at if result.result is not None else None
            if when is not None:
                recheck = asyncio.create_task(
                    self._recheck(ident, obj, when, report), name=f"{_TASK_PREFIX} {ident} timer"
                )

        try:
            await self._watch(ident, report)
        except Exception as exc:  # a bug: fail the wait instead of leaving it hanging
            reports.put_nowait(exc)
        finally:
            if recheck is not None:
                recheck.cancel()
                await asyncio.gather(recheck, return_exceptions=True)

    async def _recheck(
        self, ident: ResourceIdentifier, obj: Any, when: datetime, report: _Reading
    ) -> None:
        """Judge ``obj`` again once the clock reaches ``when``."""
        await sleep(self.clock, (when - self.clock.now()).total_seconds())
        report(_resolved(ident, obj, self.clock), obj)

    async def _watch(self, ident: ResourceIdentifier, report: _Reading) -> None:
        """List the object, watch it from the list's version, and start over when that fails."""
        kind = f"{ident.api_version}/{ident.kind}"
        namespace = ident.namespace or None
        selector = f"metadata.name={ident.name}"
        pause = _FIRST_RETRY
        version = ""
        while True:
            if not version:
                try:
                    items, version = await self._client.list_with_version(
                        kind, namespace=namespace, field_selector=selector
                    )
                except NotFound:  # the kind is not served (yet): its objects cannot exist
                    report(ResourceResult(ident, compute_status(None)), None)
                except KubeError as exc:
                    report(ResourceResult(ident, None, exc), None)
                else:
                    found = items[0] if items else None
                    report(_resolved(ident, found, self.clock), found)
            delivered = False
            if version:
                try:
                    async for event in self._client.watch_events(
                        kind,
                        namespace=namespace,
                        field_selector=selector,
                        resource_version=version,
                        timeout_seconds=_WATCH_SECONDS,
                    ):
                        delivered = True
                        version = event.resource_version or version
                        if event.type != "BOOKMARK":
                            obj = None if event.type == "DELETED" else event.object
                            report(_resolved(ident, obj, self.clock), obj)
                except KubeError:
                    # Broken (ConnectionFailed), expired (Gone: the history since our version
                    # was compacted) or refused: list again, which reports lasting errors.
                    version = ""
            if delivered:
                pause = _FIRST_RETRY
            else:  # failed, or a stream that ended at once: do not hammer the server
                await asyncio.sleep(pause)
                pause = min(pause * 2, _MAX_RETRY)


def _reference(ident: ResourceIdentifier) -> dict[str, Any]:
    """The minimal object the client accepts as a reference to ``ident``."""
    metadata = {"name": ident.name}
    if ident.namespace:
        metadata["namespace"] = ident.namespace
    return {"apiVersion": ident.api_version, "kind": ident.kind, "metadata": metadata}


def _resolved(ident: ResourceIdentifier, obj: Any, clock: Clock) -> ResourceResult:
    """The status of ``obj`` (None: it does not exist) as a result about ``ident``, now.

    Kind and apiVersion are filled in from ``ident`` when the server left them out (list items,
    typed models), since the per-kind rules are chosen by them.
    """
    if obj is None:
        return ResourceResult(ident, compute_status(None))
    body = {"apiVersion": ident.api_version, "kind": ident.kind, **to_dict(obj)}
    return ResourceResult(ident, compute_status(body, now=clock.now()))


def _event(result: ResourceResult) -> EventResource:
    return EventResource(result.identifier, result.status, result.message, result.error)


def _unchanged(before: ResourceResult, after: ResourceResult) -> bool:
    """Whether a new reading says nothing new (resourceVersion bumps alone are not news)."""
    return (before.status, before.message) == (after.status, after.message)


class SyncResolver:
    """:class:`Resolver` for blocking code (scripts, tests): the same answers and events.

    It runs the async resolver on a private event loop thread, through an async client for
    ``client``'s connection, settings and namespace; :meth:`close` it (or use ``with``) when
    done. ``desired`` and ``clock`` are :class:`Resolver`'s.
    """

    def __init__(
        self,
        client: KubeClient,
        *,
        desired: Status = Status.CURRENT,
        clock: Clock | None = None,
    ) -> None:
        self._loop = LoopThread("kontinue-status")
        self._client = async_twin(client)
        self._resolver = Resolver(self._client, desired=desired, clock=clock)

    @property
    def desired(self) -> Status:
        """The status a wait waits for."""
        return self._resolver.desired

    def fetch_and_resolve(self, ids: Sequence[ResourceIdentifier]) -> list[ResourceResult]:
        """See :meth:`Resolver.fetch_and_resolve`."""
        return self._loop.call(self._resolver.fetch_and_resolve(ids))

    def fetch_and_resolve_objects(self, objs: Sequence[Any]) -> list[ResourceResult]:
        """See :meth:`Resolver.fetch_and_resolve_objects`."""
        return self._loop.call(self._resolver.fetch_and_resolve_objects(objs))

    def namespaced(self, ident: ResourceIdentifier) -> bool:
        """See :meth:`Resolver.namespaced`."""
        return self._loop.call(self._resolver.namespaced(ident))

    def same_resource(self, a: ResourceIdentifier, b: ResourceIdentifier) -> bool:
        """See :meth:`Resolver.same_resource`."""
        return self._loop.call(self._resolver.same_resource(a, b))

    def wait_for_status(
        self, ids: Sequence[ResourceIdentifier], timeout: float | None = None
    ) -> Generator[WaitEvent, None, None]:
        """See :meth:`Resolver.wait_for_status`; leaving the loop early closes the watches."""
        return self._loop.iterate(self._resolver.wait_for_status(ids, timeout))

    def wait_for_status_of_objects(
        self, objs: Sequence[Any], timeout: float | None = None
    ) -> Generator[WaitEvent, None, None]:
        """See :meth:`Resolver.wait_for_status_of_objects`."""
        return self._loop.iterate(self._resolver.wait_for_status_of_objects(objs, timeout))

    def close(self) -> None:
        """Stop the waits still running and the thread."""
        try:
            self._loop.call(self._client.close())
        finally:
            self._loop.close()

    def __enter__(self) -> SyncResolver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
