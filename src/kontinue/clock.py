"""Time as a dependency.

Everything that stamps or waits on time (the dev server's timestamps, the worker's sleeps, backoffs
and timeouts, the controllers' schedules and TTLs) takes a :class:`Clock`, so tests can move time
forward instead of sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "format_time"]


class Clock(Protocol):
    """A source of the current time (always timezone-aware UTC)."""

    def now(self) -> datetime:
        """The current time."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """The current time of the machine, in UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; safe to read from several threads."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2030, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` (on the moving thread) whenever time moves; returns an
        unsubscribe function. Timers use it to wake up instead of polling the clock."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _moved(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def now(self) -> datetime:
        """The time the clock was last moved to (2030-01-01 UTC unless started elsewhere)."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        """Move time forward by ``delta`` (a timedelta or seconds) and return the new time."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += step
            now = self._now
        self._moved()
        return now

    def set(self, when: datetime) -> None:
        """Jump to ``when``, which must not be earlier than now."""
        if when.tzinfo is None:
            raise ValueError("ManualClock.set needs a timezone-aware datetime")
        with self._lock:
            if when < self._now:
                raise ValueError("a clock cannot go backwards")
            self._now = when
        self._moved()


def format_time(when: datetime) -> str:
    """RFC 3339 with second precision and a ``Z``, as Kubernetes writes ``metav1.Time``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
