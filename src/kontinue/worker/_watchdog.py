"""A watchdog for the worker's event loop: says which workflow blocks it, and where.

An ``async def`` workflow that calls something blocking (``time.sleep``, ``requests``,
``subprocess.run``) stops every other run, the worker's watches and its Lease renewals until
it returns. Nothing in the loop can notice while it is blocked, so a thread watches a heartbeat
the loop keeps; when it is late, the thread reads the loop thread's stack, finds the workflow
whose run is on it and the innermost line of code outside the standard library, and warns.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

__all__ = ["LoopWatchdog"]

_log = logging.getLogger("kontinue.worker")

_KONTINUE = str(Path(__file__).resolve().parents[1])
_STDLIB = tuple(
    str(Path(p).resolve()) for p in {sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")}
)


@dataclass(frozen=True)
class Blocker:
    """What the loop thread was doing while blocked."""

    execution: str | None
    """The execution whose run was on the stack (None: not a workflow)."""
    function: str | None
    where: str
    """``file:line in name``, the innermost frame outside the standard library and kontinue."""


def blocker_of(frame: FrameType | None) -> Blocker:
    """The run and the line of code on a blocked loop thread's stack (innermost first)."""
    where = ""
    execution = function = None
    while frame is not None:
        code = frame.f_code
        filename = str(Path(code.co_filename).resolve()) if code.co_filename else ""
        if not where and not filename.startswith((_KONTINUE, *_STDLIB)):
            where = f"{code.co_filename}:{frame.f_lineno} in {code.co_name}"
        if code.co_name == "_run_function" and filename.startswith(_KONTINUE):
            run = frame.f_locals.get("self")
            execution = getattr(run, "name", None)
            function = getattr(getattr(run, "definition", None), "name", None)
            break
        frame = frame.f_back
    return Blocker(execution, function, where or "an unknown place")


class LoopWatchdog:
    """Warns (once per stall, then with its length) when the loop misses its heartbeat by
    more than ``threshold`` seconds."""

    def __init__(self, threshold: float, period: float = 0.1) -> None:
        self.threshold = threshold
        self.period = period
        self._beat = time.monotonic()
        self._loop_thread: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LoopWatchdog:
        self._loop_thread = threading.get_ident()
        self._beat = time.monotonic()
        self._task = asyncio.create_task(self._heartbeat(), name="kontinue-loop-heartbeat")
        self._thread = threading.Thread(
            target=self._watch, name="kontinue-loop-watchdog", daemon=True
        )
        self._thread.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)

    async def _heartbeat(self) -> None:
        while True:
            self._beat = time.monotonic()
            await asyncio.sleep(self.period)

    def _watch(self) -> None:
        stalled: tuple[float, Blocker] | None = None
        while not self._stop.wait(self.period):
            late = time.monotonic() - self._beat
            if stalled is None and late > self.threshold:
                frame = sys._current_frames().get(self._loop_thread or 0)
                blocker = blocker_of(frame)
                stalled = (self._beat, blocker)
                _log.warning("%s", _blocking_message(blocker, late))
            elif stalled is not None and late <= self.threshold:
                _ran_again(*stalled, self._beat)
                stalled = None
        if stalled is not None:  # stopping: the loop runs again (it is what stops us)
            _ran_again(*stalled, time.monotonic())


def _ran_again(began: float, blocker: Blocker, again: float) -> None:
    who = f"execution {blocker.execution}" if blocker.execution else "the code"
    _log.warning("the worker's event loop ran again after %.1f s blocked by %s", again - began, who)


def _blocking_message(blocker: Blocker, late: float) -> str:
    if blocker.execution is not None:
        who = f"execution {blocker.execution} (function {blocker.function!r})"
        fix = (
            "an async def workflow must not make blocking calls: await ktx.sleep() or asyncio "
            "APIs, run blocking code with ktx.store()/asyncio.to_thread(), or make the "
            "workflow a plain def (it runs in a thread)"
        )
    else:
        who = "code outside any workflow"
        fix = "nothing else runs until it returns"
    return (
        f"{who} has blocked the worker's event loop for {late:.1f} s at {blocker.where}: "
        f"other executions, watches and the leader Lease wait meanwhile; {fix}"
    )
