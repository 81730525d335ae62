"""Ending Suspensions: a sleep whose time has come, or a resume a client asked for.

The group's runner (leader or shard) watches the Suspensions of its executions. A sleep's
Suspension is marked Resumed when the worker's clock reaches its ``resumeAt`` (a timer, not a
poll); a manual one when its ``spec.resume`` arrives with data its schema accepts (otherwise
its message says what is wrong and it keeps waiting). A failed write is tried again shortly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import jsonschema

from kontinue.api import format_time, labels, parse_time
from kontinue.api.resources import SUSPENSIONS
from kontinue.clock import Clock
from kontinue.controllers import ShardController
from kontinue.kube import AsyncKubeClient, Conflict, NotFound
from kontinue.kube.informing import Informer
from kontinue.timers import Timer, Timers

from ._status import labels_of, status_ops
from .settings import WorkerSettings

__all__ = ["Resumer", "ResumerHost"]

JSON = dict[str, Any]
_log = logging.getLogger("kontinue.worker")


class ResumerHost(Protocol):
    """What the Resumer needs from the worker: where it runs, its caches, and its facilities."""

    @property
    def can_run(self) -> bool: ...
    @property
    def namespace(self) -> str: ...
    @property
    def group(self) -> str: ...
    @property
    def identity(self) -> str: ...
    @property
    def shards(self) -> ShardController | None: ...
    @property
    def settings(self) -> WorkerSettings: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def timers(self) -> Timers: ...
    @property
    def client(self) -> AsyncKubeClient: ...
    @property
    def executions(self) -> Informer: ...
    @property
    def suspensions(self) -> Informer: ...
    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]: ...
    def retry_later(self, again: Callable[[str], None], name: str) -> None: ...


class Resumer:
    """Marks the worker group's Suspensions Resumed when they are due or asked to."""

    def __init__(self, engine: ResumerHost) -> None:
        self.engine = engine
        self._timers: dict[str, Timer] = {}

    def forget(self, name: str) -> None:
        """The Suspension ``name`` stopped waiting: its timer is not needed."""
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()

    def enqueue(self, name: str) -> None:
        if not self.engine.can_run:
            return
        obj = self.engine.suspensions.cache.get(name)
        if (
            obj is None
            or labels_of(obj).get(labels.LABEL_WORKER_GROUP, self.engine.group) != self.engine.group
        ):
            return
        if self.engine.shards is not None:
            owner = self.engine.executions.cache.get(str((obj.get("spec") or {}).get("execution")))
            if owner is None or labels_of(owner).get(labels.LABEL_SHARD) != self.engine.identity:
                return
        if (obj.get("status") or {}).get("phase", "Waiting") != "Waiting":
            return
        spec = obj.get("spec") or {}
        if spec.get("resume") is not None:
            self.engine.spawn(self.resume_or_retry(name), f"kontinue-resume:{name}")
            return
        resume_at = parse_time(spec.get("resumeAt"))
        if resume_at is None:
            return
        if self.engine.clock.now() >= resume_at:
            self.engine.spawn(self.resume_or_retry(name), f"kontinue-wake:{name}")
            return
        current = self._timers.get(name)
        if current is not None and not current.cancelled and current.when == resume_at:
            return
        if current is not None:
            current.cancel()
        self._timers[name] = self.engine.timers.at(resume_at, lambda: self.enqueue(name))

    async def resume_or_retry(self, name: str) -> None:
        try:
            await self._resume(name)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # e.g. the API server is down: try again shortly
            _log.warning("resuming %s failed (retrying): %s", name, error)
            self.engine.retry_later(self.enqueue, name)

    async def _resume(self, name: str) -> None:
        """End a Suspension: its sleep is over, or a client asked to resume it."""
        obj = self.engine.suspensions.cache.get(name)
        if obj is None or (obj.get("status") or {}).get("phase", "Waiting") != "Waiting":
            return
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        request = spec.get("resume")
        patch: JSON = {"phase": "Resumed", "resumedAt": format_time(self.engine.clock.now())}
        if request is not None:
            data = request.get("data")
            schema = spec.get("schema")
            problem = _schema_problem(schema, data) if schema else None
            if problem is not None:
                message = f"resume data rejected: {problem}; resume again with valid data"
                if status.get("message") == message:
                    return
                patch = {"message": message}
            else:
                patch["data"] = data
                by = request.get("requestedBy")
                patch["message"] = f"resumed by {by}" if by else "resumed"
        version = obj["metadata"]["resourceVersion"]
        ops = status_ops(status if "status" in obj else None, patch, version)
        try:
            answer = await self.engine.client.patch(
                SUSPENSIONS,
                ops,
                name=name,
                namespace=self.engine.namespace,
                status=True,
                type="json",
            )
        except Conflict:
            fresh = await self.engine.client.get(SUSPENSIONS, name, namespace=self.engine.namespace)
            self.engine.suspensions.observe(fresh)
            self.enqueue(name)
            return
        except NotFound:
            return
        self.engine.suspensions.observe(answer)


def _schema_problem(schema: dict[str, Any], data: Any) -> str | None:
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as error:
        where = ".".join(str(p) for p in error.absolute_path) or "(root)"
        return f"{where}: {error.message}"
    except jsonschema.SchemaError as error:
        return f"the suspension's schema is invalid: {error.message}"
    return None
