"""Accumulators: several watched queries merged into one coherent, coalesced snapshot.

The model is the one of Ambassador's ``kates`` library. Business logic that needs *complete*
knowledge (every Mapping, every Host) must not run on half a list, must not drown in one
callback per event, and must see its own writes. So an accumulator

* lists every query before its first notification (pagination is transparent);
* coalesces: :meth:`Accumulator.changed` wakes once for any number of events, and
  :meth:`Accumulator.update` copies the state as it is *now*, never a backlog;
* is coherent with writes made through the client that created it: they show in the next
  snapshot before their watch event arrives, and a late, older event cannot undo them;
* survives: each query runs nested loops (list, then watch from the list's resourceVersion;
  re-watch from the last event or bookmark when a stream ends; re-list on 410 Gone) until the
  accumulator is closed. Failures go to ``on_error`` (or the log) and are retried with
  backoff. A stream the server ends, and an expired resourceVersion (410, answered by a
  re-list), are normal life of a watch and are not reported.

:class:`Accumulator` runs on the caller's event loop; :class:`SyncAccumulator` runs the same
machinery on a private loop thread for blocking code. The state machine itself is the pure
:mod:`kontinue.kube._accumulator_core`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from kontinue.tasks import TaskSet

from ._accumulator_core import (
    ALL_NAMESPACES,
    JSON,
    AccumulatorCore,
    Delta,
    DeltaType,
    Predicate,
    Query,
    Target,
    fill_snapshot,
    snapshot_shape,
)
from .client import AsyncKubeClient
from .errors import ApiError, Gone, KubeError

if TYPE_CHECKING:
    from .client import KubeClient
    from .resources import ResourceInfo

__all__ = [
    "ALL_NAMESPACES",
    "Accumulator",
    "AccumulatorClosed",
    "Delta",
    "DeltaType",
    "ErrorHandler",
    "Query",
    "SyncAccumulator",
]

log = logging.getLogger(__name__)

ErrorHandler = Callable[[Exception], object]
WATCH_TIMEOUT = 300
"""Seconds after which the server ends a watch stream (the read times out 30 s later, so a
silent dead connection is noticed); the stream is then resumed where it was."""


class AccumulatorClosed(KubeError):
    """The accumulator was closed: no more notifications will come."""


class _Backoff:
    """Exponential delays with jitter, from ``first`` up to ``most`` seconds."""

    def __init__(self, first: float, most: float) -> None:
        self.first, self.most, self.attempt = max(first, 0.01), max(most, 0.01), 0

    def next(self) -> float:
        delay = min(self.most, self.first * 2.0**self.attempt)
        self.attempt = min(self.attempt + 1, 32)  # the delay is capped long before; no overflow
        return delay * (0.5 + random.random() / 2)

    def reset(self) -> None:
        self.attempt = 0


class Accumulator:
    """Watches queries into one snapshot; see the module documentation for the guarantees.

    Made by :meth:`AsyncKubeClient.watch <kontinue.kube.AsyncKubeClient.watch>`; use it as
    ``async with`` (or call :meth:`close`). ``on_error`` receives each failure (with a note
    naming the query) on the event loop; without one, failures are logged as warnings.
    """

    def __init__(
        self,
        client: AsyncKubeClient,
        queries: Sequence[Query],
        *,
        on_error: ErrorHandler | None = None,
        timeout_seconds: int = WATCH_TIMEOUT,
    ) -> None:
        self._client = client
        self._core = AccumulatorCore(queries)
        self._lock = threading.Lock()  # the core is also fed by writers on other threads
        self._on_error = on_error
        self._timeout = timeout_seconds
        self._event = asyncio.Event()
        self._seen = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks = TaskSet(log)
        self._started = False
        self._listeners: list[Callable[[], None]] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._closed = False

    @property
    def queries(self) -> list[Query]:
        return self._core.queries

    def start(self) -> None:
        """Start listing and watching on the running event loop (once)."""
        if self._closed:
            raise AccumulatorClosed("this accumulator is closed")
        if self._started:
            return
        self._started = True
        self._loop = asyncio.get_running_loop()
        self._unsubscribe = self._client.observe_writes(self._observed)
        for query in self._core.queries:
            self._tasks.spawn(self._follow(query), f"kontinue-accumulator:{query.name}")

    async def close(self) -> None:
        """Stop watching; waiters of :meth:`changed` get :class:`AccumulatorClosed`."""
        if self._closed:
            return
        self._closed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
        await self._tasks.close()
        self._wake()

    async def __aenter__(self) -> Accumulator:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # Consumer side -------------------------------------------------------------------------

    async def changed(self) -> None:
        """Wait until the state differs from when this last returned (the first time: until
        every query has been listed). Any number of changes in between wake it once."""
        while True:
            if self._closed:
                raise AccumulatorClosed("this accumulator is closed")
            self._event.clear()
            generation = self._pending(self._seen)
            if generation is not None:
                self._seen = generation
                return
            await self._event.wait()

    def update(self, snapshot: Any) -> bool:
        """Fill ``snapshot``'s query fields with the current objects, sorted by (namespace,
        name); returns whether anything changed since the previous update (True the first
        time). Before every query is listed it returns False and leaves ``snapshot`` alone.

        ``snapshot`` is a dataclass, a pydantic model or any object with an attribute per
        query; a field annotated ``list[Model]`` with a pydantic model or an official client's
        model (``list[V1Pod]``) gets models, others dicts. Each call hands out fresh copies.
        """
        return self._update(snapshot, None)[0]

    def update_with_deltas(self, snapshot: Any) -> tuple[bool, list[Delta]]:
        """Like :meth:`update`, also returning the objects added, updated and deleted since."""
        return self._update(snapshot, None)

    def filtered_update(self, snapshot: Any, predicate: Callable[[JSON], bool]) -> bool:
        """Like :meth:`update` with only the objects passing ``predicate``: others are left out
        and their changes are not changes. ``predicate`` sees each object once per change (it
        must not modify it); use the same one on every call, not mixed with :meth:`update`."""
        return self._update(snapshot, predicate)[0]

    def _update(self, snapshot: Any, predicate: Predicate | None) -> tuple[bool, list[Delta]]:
        shape = snapshot_shape(snapshot, (q.name for q in self._core.queries))
        with self._lock:
            taken = self._core.take(predicate)
        if taken is None:
            return False, []
        changed, deltas, views = taken
        fill_snapshot(snapshot, shape, views)  # outside the lock: the core never mutates objects
        return changed, deltas

    def _pending(self, seen: int) -> int | None:
        """The generation to report to a waiter that saw ``seen``, or None if nothing is new."""
        with self._lock:
            generation, ready = self._core.generation, self._core.ready
        return generation if ready and generation != seen else None

    # Feeding -------------------------------------------------------------------------------

    def _observed(self, info: ResourceInfo, namespace: str, name: str, obj: JSON | None) -> None:
        """A write through the client (any thread): visible now, before its watch event."""
        if obj is not None:
            obj = orjson.loads(orjson.dumps(obj))  # the caller keeps and may mutate the answer
        with self._lock:
            changed = self._core.wrote(info.group, info.version, info.plural, namespace, name, obj)
        if changed:
            self._wake()

    def _wake(self) -> None:
        """Wake waiters; callers must not hold the core lock (listeners take their own)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                self._event.set()
            else:
                try:
                    loop.call_soon_threadsafe(self._event.set)
                except RuntimeError:  # the loop closed meanwhile
                    pass
        for listener in list(self._listeners):
            listener()

    def _report(self, query: Query, error: Exception) -> None:
        error.add_note(f"while watching {query.kind!r} for the accumulator query {query.name!r}")
        if self._on_error is None:
            log.warning("watching %s for %r failed: %s", query.kind, query.name, error)
            return
        try:
            self._on_error(error)
        except Exception:
            log.exception("the accumulator's on_error handler failed")

    # Watching ------------------------------------------------------------------------------

    def _scope(self, query: Query) -> dict[str, Any]:
        everywhere = query.namespace == ALL_NAMESPACES
        return {
            "namespace": None if everywhere else query.namespace,
            "all_namespaces": everywhere,
            "label_selector": query.label_selector,
            "field_selector": query.field_selector,
        }

    async def _follow(self, query: Query) -> None:
        """List, then watch, forever: the outer loop re-lists, the inner one re-watches."""
        settings = self._client.settings
        backoff = _Backoff(settings.backoff, settings.max_backoff)
        version: str | None = None  # None: a (re-)list is needed
        while True:
            try:
                if version is None:
                    version = await self._relist(query)
                    backoff.reset()
                version, delivered = await self._stream(query, version)
                if delivered:
                    backoff.reset()
                else:  # ended at once: do not hammer a server that keeps closing on us
                    await asyncio.sleep(backoff.next())
            except Gone:
                if version is None:  # a list's continue token expired: retry, not at once
                    await asyncio.sleep(backoff.next())
                version = None  # the resourceVersion expired: list again, diff against before
            except Exception as exc:
                self._report(query, exc)
                if isinstance(exc, ApiError):
                    version = None  # 403, 404 (CRD gone), 5xx...: start over with a list
                await asyncio.sleep(backoff.next())

    async def _relist(self, query: Query) -> str:
        info = await self._client.resource_info(query.kind)
        namespace = None
        if info.namespaced and query.namespace != ALL_NAMESPACES:
            namespace = query.namespace or self._client.namespace
        with self._lock:  # before listing: writes made while the list runs must count
            self._core.set_target(
                query.name, Target(info.group, info.version, info.plural, namespace)
            )
        items, version = await self._client.list_with_version(query.kind, **self._scope(query))
        with self._lock:
            changed = self._core.relisted(query.name, items, version)
        if changed:
            self._wake()
        return version

    async def _stream(self, query: Query, version: str) -> tuple[str, bool]:
        """One watch request from ``version``: the last version seen, and whether any came."""
        delivered = False
        events = self._client.watch_events(
            query.kind,
            **self._scope(query),
            resource_version=version,
            timeout_seconds=self._timeout,
            bookmarks=True,
        )
        async for event in events:
            delivered = True
            with self._lock:
                changed = self._core.event(query.name, event.type, event.object)
            version = event.resource_version or version
            if changed:
                self._wake()
        return version, delivered


class SyncAccumulator:
    """An :class:`Accumulator` for blocking code, run on a private event loop thread.

    Made by :meth:`KubeClient.watch <kontinue.kube.KubeClient.watch>`. It watches through its
    own async client (same connection, settings and namespace) and observes the writes of the
    sync client that made it, so those stay coherent too. ``on_error`` runs on its thread.
    """

    def __init__(
        self,
        client: KubeClient,
        queries: Sequence[Query],
        *,
        on_error: ErrorHandler | None = None,
        timeout_seconds: int = WATCH_TIMEOUT,
    ) -> None:
        self._client = AsyncKubeClient(
            client.connection, client.settings, namespace=client.namespace
        )
        self._inner = Accumulator(
            self._client, queries, on_error=on_error, timeout_seconds=timeout_seconds
        )
        self._cond = threading.Condition()
        self._seen = 0
        self._closed = False
        self._inner._listeners.append(self._notify)
        self._unsubscribe = client.observe_writes(self._inner._observed)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="kontinue-accumulator", daemon=True
        )
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        except BaseException:
            self.close()
            raise

    async def _start(self) -> None:
        self._inner.start()

    @property
    def queries(self) -> list[Query]:
        return self._inner.queries

    def changed(self, timeout: float | None = None) -> bool:
        """Block until the state differs from when this last returned True (the first time:
        until every query has been listed); False if ``timeout`` seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._closed:
                    raise AccumulatorClosed("this accumulator is closed")
                generation = self._inner._pending(self._seen)
                if generation is not None:
                    self._seen = generation
                    return True
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)

    def update(self, snapshot: Any) -> bool:
        """See :meth:`Accumulator.update`."""
        return self._inner.update(snapshot)

    def update_with_deltas(self, snapshot: Any) -> tuple[bool, list[Delta]]:
        """See :meth:`Accumulator.update_with_deltas`."""
        return self._inner.update_with_deltas(snapshot)

    def filtered_update(self, snapshot: Any, predicate: Callable[[JSON], bool]) -> bool:
        """See :meth:`Accumulator.filtered_update`."""
        return self._inner.filtered_update(snapshot, predicate)

    def _notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    async def _shutdown(self) -> None:
        await self._inner.close()
        await self._client.close()

    def close(self) -> None:
        """Stop watching and the thread; waiters of :meth:`changed` get AccumulatorClosed."""
        if self._closed:
            return
        self._closed = True
        self._unsubscribe()
        if self._thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=30)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()
        self._notify()

    def __enter__(self) -> SyncAccumulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
