"""What a run needs from the worker that hosts it: the :class:`RunHost` protocol.

A :class:`~._runs.Run` never reaches into the engine: it uses the worker's facilities (clock,
timers, API client, status writer, threads), asks about the objects it waits on, and reports
each way it can end. The engine implements this protocol; a test can give a run another host.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, Protocol

from kontinue.api import ChildPolicy, Execution, ExecutionError, ExecutionPhase, ExecutionRetry
from kontinue.clock import Clock
from kontinue.kube import AsyncKubeClient
from kontinue.sdk._functions import FunctionDef
from kontinue.timers import Timers

from ._status import StatusWriter
from .settings import WorkerSettings

if TYPE_CHECKING:
    from ._runs import Run

__all__ = ["RunHost"]

JSON = dict[str, Any]


class RunHost(Protocol):
    """The worker's side of a run (see the module doc)."""

    # Facilities -------------------------------------------------------------------------------

    @property
    def clock(self) -> Clock: ...
    @property
    def timers(self) -> Timers: ...
    @property
    def settings(self) -> WorkerSettings: ...
    @property
    def client(self) -> AsyncKubeClient: ...
    @property
    def status(self) -> StatusWriter: ...
    @property
    def threads(self) -> Executor:
        """Where plain-``def`` workflows and blocking store callables run."""
        ...

    @property
    def namespace(self) -> str: ...
    @property
    def group(self) -> str: ...
    @property
    def code_version(self) -> str: ...
    @property
    def functions(self) -> Mapping[str, FunctionDef]: ...
    def group_of(self, function: str) -> str | None:
        """The worker group that publishes ``function`` in this namespace."""
        ...

    def retry_policy(self, execution: Execution, definition: FunctionDef | None) -> ExecutionRetry:
        """The retries of ``execution``: its own, else its function's defaults."""
        ...

    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]: ...
    def observed(self, obj: JSON) -> None:
        """A write succeeded: the caches take its answer."""
        ...

    def record_event(self, obj: JSON, type: str, reason: str, message: str) -> None: ...

    # What a run waits on ----------------------------------------------------------------------

    def cached(self, kind: str, name: str) -> JSON | None:
        """The watched ``execution``, ``suspension`` or ``job`` called ``name``, if known."""
        ...

    def resolved(self, kind: str, name: str) -> tuple[JSON | None] | None:
        """``(obj,)`` once it resolved (``(None,)``: it is gone), else None."""
        ...

    def child_phase(self, name: str) -> str | None:
        """The phase of the watched execution ``name`` (None when it is not known)."""
        ...

    def waiter(self, kind: str, name: str) -> asyncio.Future[JSON | None]:
        """A future the watch resolves with the object once it resolves."""
        ...

    def blocked(self, run: Run) -> None:
        """The run started waiting (it may be evicted to save memory)."""
        ...

    def unblocked(self, run: Run) -> None: ...

    # How a run ends ---------------------------------------------------------------------------

    def finished(
        self, run: Run, phase: ExecutionPhase, error: ExecutionError | None = None
    ) -> None:
        """It recorded its outcome."""
        ...

    def backing_off(self, run: Run, policy: ChildPolicy) -> None:
        """The attempt failed and another follows after the backoff."""
        ...

    def parked(self, run: Run) -> None:
        """A plain-``def`` run unwound to wait: replay it when what it waits for happens."""
        ...

    def stalled(self, run: Run, message: str) -> None:
        """Its replay no longer matched its history: leave it for matching code."""
        ...

    def abandoned(self, run: Run, *, replay: bool) -> None:
        """It stopped without an outcome (another writer, or the API failed)."""
        ...
