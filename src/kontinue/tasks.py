"""Background tasks that are never lost.

Every long-lived component (the worker's engine, the node agent, the pod supervisor, the
Accumulator) starts tasks it does not await at once. A :class:`TaskSet` keeps a reference to
each (asyncio holds only weak ones), logs a failure the moment the task ends with one, and on
:meth:`TaskSet.close` gives them an optional grace before cancelling the rest and waiting for
them. :func:`restarting` runs a loop that must not die (a watch, a heartbeat) again after a
failure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["TaskSet", "restarting"]


class TaskSet:
    """Tasks started in the background by one owner, logged to ``logger`` when they fail."""

    def __init__(self, logger: logging.Logger) -> None:
        self._log = logger
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Start ``coroutine`` as a task named ``name`` on the running loop."""
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log.error("%s failed", task.get_name(), exc_info=task.exception())

    def __len__(self) -> int:
        """How many tasks are still running."""
        return len(self._tasks)

    async def close(self, grace: float = 0.0) -> None:
        """Wait up to ``grace`` seconds for the tasks to end by themselves (Events still being
        written, say), then cancel the rest and wait for them to unwind."""
        if grace > 0 and self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace)
        while self._tasks:  # a task may start another while it unwinds
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def restarting(
    loop: Callable[[], Coroutine[Any, Any, None]],
    name: str,
    delay: float,
    logger: logging.Logger,
) -> None:
    """Run ``loop()`` until it returns, starting it again ``delay`` seconds after a failure."""
    while True:
        try:
            await loop()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s failed; starting it again in %g s", name, delay)
            await asyncio.sleep(delay)
