"""A keyed reconcile queue, as controllers need one: at most one reconcile per key at a time.

A key enqueued while its reconcile runs is reconciled once more right after (however many
times it was enqueued meanwhile), so a change is never missed and never handled twice at once.
A reconcile that raises is logged and tried again after a delay. Keys do not wait for each
other: each reconcile is a task of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from kontinue.tasks import TaskSet

__all__ = ["ReconcileQueue"]


class ReconcileQueue:
    """Runs ``reconcile(key)`` for enqueued keys, one at a time per key."""

    def __init__(
        self,
        reconcile: Callable[[str], Awaitable[None]],
        tasks: TaskSet,
        *,
        retry_delay: float,
        logger: logging.Logger,
        what: str = "reconcile",
    ) -> None:
        self._reconcile = reconcile
        self._tasks = tasks
        self._retry_delay = retry_delay
        self._log = logger
        self._what = what
        self._running: set[str] = set()
        self._again: set[str] = set()
        self._retrying = 0

    def enqueue(self, key: str) -> None:
        """Reconcile ``key`` soon (once more after the running reconcile, if one runs)."""
        if key in self._running:
            self._again.add(key)
            return
        self._running.add(key)
        self._tasks.spawn(self._loop(key), f"kontinue-{self._what}:{key}")

    @property
    def idle(self) -> bool:
        """Whether no reconcile runs, waits to run, or waits to be tried again."""
        return not self._running and not self._retrying

    def _retry(self, key: str) -> None:
        self._retrying -= 1
        self.enqueue(key)

    async def _loop(self, key: str) -> None:
        try:
            while True:
                try:
                    await self._reconcile(key)
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    self._log.warning("%s of %s failed: %s", self._what, key, error)
                    self._retrying += 1
                    asyncio.get_running_loop().call_later(self._retry_delay, self._retry, key)
                if key not in self._again:
                    return
                self._again.discard(key)
        finally:
            self._running.discard(key)
