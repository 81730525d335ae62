"""Waiting in tests for something to become true, on real time, with a short deadline.

A test does not sleep for a fixed time and hope: it asks again until what it waits for holds,
and fails with a clear message when the deadline passes. :func:`eventually` blocks (for plain
tests and for threads); :func:`async_eventually` is the same for code on an event loop, which
must keep running while it waits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["async_eventually", "eventually"]

T = TypeVar("T")


def _expired(what: str, timeout: float) -> TimeoutError:
    return TimeoutError(f"{what} not met within {timeout:g} s")


def eventually(
    check: Callable[[], T | None],
    *,
    timeout: float = 15.0,
    what: str = "condition",
    interval: float = 0.02,
) -> T:
    """Call ``check`` every ``interval`` seconds until it returns something truthy, and return
    that; :class:`TimeoutError` naming ``what`` after ``timeout`` seconds of real time."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise _expired(what, timeout)
        time.sleep(interval)


async def async_eventually(
    check: Callable[[], T | None],
    *,
    timeout: float = 15.0,  # noqa: ASYNC109 - a deadline with a message is the point
    what: str = "condition",
    interval: float = 0.01,
) -> T:
    """:func:`eventually` on the running event loop: ``check`` is called on the loop, which
    runs other tasks between calls."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise _expired(what, timeout)
        await asyncio.sleep(interval)
