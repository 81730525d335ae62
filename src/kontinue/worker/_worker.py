"""Worker: the functions a worker group serves, and how to run them against a cluster.

Registering is plain Python (``@worker.function(...)``); nothing touches the cluster until
:meth:`Worker.run` publishes a Function resource per function, removes the group's Functions
that no longer exist, and starts the engine (watches, leader election, runs).
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from kontinue.api import (
    API_VERSION,
    ExecutionRetry,
    ExecutionTimeout,
    ExecutionTTL,
    FunctionDefaults,
    labels,
)
from kontinue.api.resources import FUNCTIONS
from kontinue.clock import Clock, SystemClock
from kontinue.kube import AsyncKubeClient, NotFound
from kontinue.sdk._functions import FunctionDef, define
from kontinue.sdk._replay import child_name

from .settings import WorkerSettings

__all__ = ["Worker", "function_object_name"]

F = TypeVar("F", bound=Callable[..., Any])
JSON = dict[str, Any]


def function_object_name(function: str) -> str:
    """The Function resource's name for a function name (a valid Kubernetes name)."""
    return child_name("fn", function)[3:] if function else "function"


class Worker:
    """Serves a set of workflow functions for one worker group in one namespace.

    ``namespace`` None means the kubeconfig context's namespace. Replicas of the same group
    elect a leader through a Lease, and only the leader runs executions.
    """

    def __init__(
        self,
        namespace: str | None = None,
        group: str = "default",
        *,
        settings: WorkerSettings | None = None,
        clock: Clock | None = None,
        identity: str | None = None,
        lease_clock: Clock | None = None,
    ) -> None:
        self.namespace = namespace
        self.group = group
        self.settings = settings or WorkerSettings()
        self.clock: Clock = clock or SystemClock()
        """Workflow time: sleeps, backoffs, timeouts, schedules, TTLs."""
        self.lease_clock: Clock = lease_clock or SystemClock()
        """Liveness time: Lease renewals and expiry, apart from workflow time so that a test
        moving workflow time does not expire leases (it may move this one too, by hand)."""
        self.identity = identity or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.functions: dict[str, FunctionDef] = {}
        self.engine: Any = None

    def function(
        self,
        name: str | None = None,
        *,
        display_name: str | None = None,
        description: str | None = None,
        hidden: bool = False,
        retry: ExecutionRetry | None = None,
        timeout: ExecutionTimeout | None = None,
        ttl: ExecutionTTL | None = None,
        concurrency: int | None = None,
    ) -> Callable[[F], F]:
        """Register a workflow ``(ktx, args) -> result`` under ``name`` (default: the Python
        name with ``-`` for ``_``). ``retry``/``timeout``/``ttl`` are the defaults of its
        executions; ``concurrency`` limits how many run at once across the group."""

        def register(fn: F) -> F:
            self.register(
                fn,
                name,
                display_name=display_name,
                description=description,
                hidden=hidden,
                retry=retry,
                timeout=timeout,
                ttl=ttl,
                concurrency=concurrency,
            )
            return fn

        return register

    def register(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        *,
        display_name: str | None = None,
        description: str | None = None,
        hidden: bool = False,
        retry: ExecutionRetry | None = None,
        timeout: ExecutionTimeout | None = None,
        ttl: ExecutionTTL | None = None,
        concurrency: int | None = None,
    ) -> FunctionDef:
        """The non-decorator form of :meth:`function`."""
        defaults = None
        if retry is not None or timeout is not None or ttl is not None:
            defaults = FunctionDefaults(retry=retry, timeout=timeout, ttl=ttl)
        definition = define(
            fn,
            name,
            display_name=display_name,
            description=description,
            hidden=hidden,
            defaults=defaults,
            concurrency=concurrency,
        )
        if definition.name in self.functions and self.functions[definition.name].fn is not fn:
            raise ValueError(f"a function named {definition.name!r} is already registered")
        self.functions[definition.name] = definition
        return definition

    def include(self, other: Worker) -> None:
        """Serve ``other``'s functions too (with their names and options), e.g. to run the
        functions of several modules in one worker process."""
        for name, definition in other.functions.items():
            mine = self.functions.get(name)
            if mine is not None and mine.fn is not definition.fn:
                raise ValueError(f"a different function named {name!r} is already registered")
            self.functions[name] = definition

    # Publishing ------------------------------------------------------------------------------

    def function_resource(self, definition: FunctionDef, namespace: str) -> JSON:
        """The Function object published for ``definition``."""
        spec: JSON = {
            "name": definition.name,
            "workerGroup": self.group,
            "arguments": definition.argument_schema,
        }
        if definition.result_schema is not None:
            spec["result"] = definition.result_schema
        if definition.display_name:
            spec["displayName"] = definition.display_name
        if definition.description:
            spec["description"] = definition.description
        if definition.defaults is not None:
            spec["defaults"] = definition.defaults.model_dump(
                mode="json", by_alias=True, exclude_none=True
            )
        if definition.concurrency is not None:
            spec["concurrency"] = {"limit": definition.concurrency}
        meta: JSON = {
            "name": function_object_name(definition.name),
            "namespace": namespace,
            "labels": {labels.LABEL_WORKER_GROUP: self.group},
        }
        if definition.hidden:
            meta["annotations"] = {labels.ANNOTATION_HIDDEN: "true"}
        return {"apiVersion": API_VERSION, "kind": "Function", "metadata": meta, "spec": spec}

    async def publish(self, client: AsyncKubeClient, namespace: str) -> None:
        """Create or update the Function of every registered function."""
        await asyncio.gather(
            *(
                client.upsert(self.function_resource(definition, namespace), merge=_replace_spec)
                for definition in self.functions.values()
            )
        )

    async def remove_stale_functions(self, client: AsyncKubeClient, namespace: str) -> None:
        """Delete this group's Functions whose function is no longer registered."""
        published = await client.list(
            FUNCTIONS,
            namespace=namespace,
            label_selector=f"{labels.LABEL_WORKER_GROUP}={self.group}",
        )
        for obj in published:
            if (obj.get("spec") or {}).get("name") not in self.functions:
                try:
                    await client.delete(FUNCTIONS, obj["metadata"]["name"], namespace=namespace)
                except NotFound:
                    pass

    # Running ---------------------------------------------------------------------------------

    async def run(self, client: AsyncKubeClient | None = None) -> None:
        """Run until cancelled, with ``client`` or one from the current kubeconfig."""
        from ._engine import Engine
        from ._watchdog import LoopWatchdog

        own = client is None
        if client is None:
            client = AsyncKubeClient.from_kubeconfig(settings=self.settings.kube)
        namespace = self.namespace or client.namespace or "default"
        self.engine = Engine(self, client, namespace)
        threshold = self.settings.blocked_loop_warning
        try:
            if threshold is None:
                await self.engine.run()
            else:
                async with LoopWatchdog(threshold, period=min(0.25, threshold / 4)):
                    await self.engine.run()
        finally:
            if own:
                await client.close()


def _replace_spec(current: JSON, desired: JSON) -> JSON:
    merged = dict(current)
    merged["spec"] = desired["spec"]
    meta = dict(current.get("metadata") or {})
    meta["labels"] = {**(meta.get("labels") or {}), **desired["metadata"].get("labels", {})}
    wanted = desired["metadata"].get("annotations") or {}
    annotations = {
        k: v for k, v in (meta.get("annotations") or {}).items() if k != labels.ANNOTATION_HIDDEN
    }
    meta["annotations"] = {**annotations, **wanted}
    merged["metadata"] = meta
    return merged
