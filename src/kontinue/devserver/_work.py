"""The loop behind the dev server's controllers: keyed, deduplicated work in one task.

Controllers note committed changes in a store listener (which runs inside another request's
write and must not write itself) and do the work here, in order, one item at a time, yielding
to requests in between, like a controller reacting to watch events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["WorkQueue"]

log = logging.getLogger("kontinue.devserver")
K = TypeVar("K")
V = TypeVar("V")


class WorkQueue(Generic[K, V]):
    """Pending work by key; adding a key already pending merges the values instead.

    ``handle(key, value)`` does the work. When it raises, the failure is logged and, with
    ``retry_after`` set, the key is queued again after that many seconds. ``before_drain`` runs
    at every wake-up and, with ``tick`` set, at least every ``tick`` seconds (for deadlines).
    """

    def __init__(
        self,
        name: str,
        handle: Callable[[K, V], None],
        *,
        merge: Callable[[V, V], V] | None = None,
        retry_after: float | None = 0.5,
        tick: float | None = None,
        before_drain: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self._handle = handle
        self._merge = merge
        self._retry_after = retry_after
        self._tick = tick
        self._before_drain = before_drain
        self._pending: dict[K, V] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def add(self, key: K, value: V) -> None:
        """Queue ``key`` (merging with a pending value for it) and wake the loop."""
        if key in self._pending and self._merge is not None:
            value = self._merge(self._pending[key], value)
        self._pending[key] = value
        self._idle.clear()
        self._wake.set()

    def __contains__(self, key: object) -> bool:
        return key in self._pending

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        # The flag, not only the cancel: on Python 3.11 ``wait_for`` drops a cancellation that
        # arrives in the same step as the event it waits for, and the loop would run on.
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def idle(self) -> None:
        """Wait until nothing is pending (tests use it to observe a settled state)."""
        await self._idle.wait()

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._tick)
            self._wake.clear()
            if self._before_drain is not None:
                self._before_drain()
            while self._pending and not self._stopping:
                key = next(iter(self._pending))
                value = self._pending.pop(key)
                try:
                    self._handle(key, value)
                except Exception:
                    log.exception("%s: work on %r failed", self.name, key)
                    if self._retry_after is not None:
                        await asyncio.sleep(self._retry_after)
                        self.add(key, value)
                await asyncio.sleep(0)  # let requests in between
            if not self._pending:
                self._idle.set()
