"""What a controller needs from the worker that runs it: the narrow :class:`ControllerHost`.

The controllers never import the worker; the worker's engine implements this protocol and
passes itself, so the two layers depend one way only (worker -> controllers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from typing import Any, Protocol

from kontinue.clock import Clock
from kontinue.kube import AsyncKubeClient
from kontinue.kube.informing import Informer
from kontinue.kube.leases import LeaderElection
from kontinue.sdk._functions import FunctionDef
from kontinue.timers import Timers

__all__ = ["ControllerHost", "ControllerSettings"]

JSON = dict[str, Any]


class ControllerSettings(Protocol):
    """The worker settings the controllers read."""

    @property
    def retry_delay(self) -> float: ...
    @property
    def shard_expire(self) -> float: ...
    @property
    def shard_renew(self) -> float: ...


class ControllerHost(Protocol):
    """The worker's side of a controller: where it runs, its caches, and what it may ask for."""

    @property
    def namespace(self) -> str: ...
    @property
    def group(self) -> str: ...
    @property
    def identity(self) -> str: ...
    @property
    def settings(self) -> ControllerSettings: ...
    @property
    def clock(self) -> Clock:
        """Workflow time (schedules, TTLs)."""
        ...

    @property
    def lease_clock(self) -> Clock:
        """Liveness time (Leases): the wall clock unless a test moves it by hand."""
        ...

    @property
    def timers(self) -> Timers:
        """Wake-ups on :attr:`clock`."""
        ...

    @property
    def lease_timers(self) -> Timers:
        """Wake-ups on :attr:`lease_clock`."""
        ...

    @property
    def client(self) -> AsyncKubeClient: ...
    @property
    def lease_client(self) -> AsyncKubeClient:
        """A connection of its own for Lease renewals (never queued behind other writes)."""
        ...

    @property
    def functions(self) -> Mapping[str, FunctionDef]:
        """The functions this worker group runs, by name."""
        ...

    @property
    def executions(self) -> Informer:
        """The namespace's Executions, watched."""
        ...

    @property
    def leader(self) -> LeaderElection:
        """The group's leader election (controllers act only on the leader)."""
        ...

    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run ``coroutine`` in the background, logged if it fails, cancelled at shutdown."""
        ...

    def observed(self, obj: JSON) -> None:
        """A write succeeded: keep the caches coherent with its answer."""
        ...

    def record_event(self, obj: JSON, type: str, reason: str, message: str) -> None:
        """Record a Kubernetes Event about ``obj`` (in the background, best effort)."""
        ...

    def enqueue(self, name: str) -> None:
        """Reconcile the execution ``name`` soon."""
        ...

    def group_of(self, function: str) -> str | None:
        """The worker group that publishes ``function`` in this namespace."""
        ...

    def active_changed(self, active: bool) -> None:
        """This replica became able (or unable) to run executions (sharding)."""
        ...
