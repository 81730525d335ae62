"""Wake-ups at clock times, for sleeps, backoffs, polls, timeouts and lease renewals.

One task and one heap serve every timer of a worker, so ten thousand sleeping executions cost
ten thousand heap entries, not tasks. Time comes from the worker's :class:`~kontinue.clock.Clock`:
with the system clock the task sleeps until the next deadline; with a
:class:`~kontinue.clock.ManualClock` it wakes whenever a test moves time, so a one-hour sleep ends
the moment the test advances the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from kontinue.clock import Clock, ManualClock

T = TypeVar("T")

__all__ = ["Timer", "Timers", "sleep", "within"]


class Timer:
    """A scheduled callback; :meth:`cancel` stops it from running."""

    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: datetime, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Do not call the callback (a cancelled timer stays in the heap until its time)."""
        self.cancelled = True


class Timers:
    """Runs callbacks (on the event loop) once the clock reaches their time."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._heap: list[tuple[datetime, int, Timer]] = []
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def at(self, when: datetime, callback: Callable[[], None]) -> Timer:
        """Call ``callback`` once the clock reaches ``when`` (soon, if already past)."""
        timer = Timer(when, callback)
        first = self._heap[0][0] if self._heap else None
        heapq.heappush(self._heap, (when, next(self._order), timer))
        if first is None or when < first:
            self._wake.set()
        return timer

    async def sleep_until(self, when: datetime) -> None:
        """Wait on this loop until the clock reaches ``when``."""
        if self._clock.now() >= when:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def fire() -> None:
            if not done.done():
                done.set_result(None)

        timer = self.at(when, fire)
        try:
            await done
        finally:
            timer.cancel()

    def _clock_moved(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Fire timers until cancelled."""
        self._loop = asyncio.get_running_loop()
        manual = isinstance(self._clock, ManualClock)
        unsubscribe = self._clock.subscribe(self._clock_moved) if manual else None  # type: ignore[attr-defined]
        try:
            while True:
                self._wake.clear()
                now = self._clock.now()
                while self._heap and self._heap[0][0] <= now:
                    _, _, timer = heapq.heappop(self._heap)
                    if not timer.cancelled:
                        timer.callback()
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                timeout = None
                if self._heap and not manual:
                    timeout = max(0.0, (self._heap[0][0] - self._clock.now()).total_seconds())
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout)
                except TimeoutError:
                    pass
        finally:
            if unsubscribe is not None:
                unsubscribe()


async def sleep(clock: Clock, seconds: float) -> None:
    """Wait ``seconds`` on ``clock``: real time on the system clock; on a
    :class:`~kontinue.clock.ManualClock`, until a test has moved it that far."""
    if not isinstance(clock, ManualClock):
        await asyncio.sleep(max(0.0, seconds))
        return
    until = clock.now() + timedelta(seconds=seconds)
    loop = asyncio.get_running_loop()
    moved = asyncio.Event()

    def wake() -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(moved.set)

    unsubscribe = clock.subscribe(wake)
    try:
        while clock.now() < until:
            moved.clear()
            await moved.wait()
    finally:
        unsubscribe()


async def within(clock: Clock, seconds: float, work: Awaitable[T]) -> T:
    """``await work``, or :class:`TimeoutError` once ``seconds`` passed on ``clock`` (the work
    is cancelled)."""
    task = asyncio.ensure_future(work)
    timer = asyncio.ensure_future(sleep(clock, seconds))
    try:
        await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise TimeoutError(f"not done within {seconds:g} s")
    return task.result()
