"""The UI's one way to the cluster: reads, actions and watches through ``kontinue.client``.

Every request is made with the credentials of whoever started ``kontinue ui`` (their kubeconfig),
so the API server's RBAC decides what the UI shows and may change, exactly as for ``kubectl``.
Nothing is stored here but a short-lived cache of trees (a page and the lazy expansions that
follow it read one tree) and the answers of access reviews.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kontinue.api import (
    ChildPolicy,
    Execution,
    ExecutionMutex,
    ExecutionRetry,
    ExecutionTimeout,
    ExecutionTTL,
    Function,
    ScheduledExecution,
    Suspension,
    labels,
)
from kontinue.client import AsyncClient, ClientError, ExecutionTree, TreeUpdate
from kontinue.client.paging import ExecutionFilter, ExecutionPage, list_page
from kontinue.client.workers import WorkerGroupStatus, worker_group_status
from kontinue.errors import KontinueError
from kontinue.kube import (
    ApiError,
    BadRequest,
    ConnectionFailed,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    Unauthorized,
)

__all__ = ["Access", "ActionResult", "Cluster", "readable_error"]

JSON = dict[str, Any]
EVENTS = "events"
TREE_CACHE_SECONDS = 1.0
ACCESS_CACHE_SECONDS = 30.0


def readable_error(error: BaseException) -> str:
    """A sentence for an error the page shows (never a traceback)."""
    if isinstance(error, ClientError):
        return str(error)
    if isinstance(error, Forbidden):
        return (
            f"Not allowed: {error.message}. Your Kubernetes credentials decide what this UI may "
            "do: ask for the kontinue-user role in this namespace (kontinue-viewer only looks)."
        )
    if isinstance(error, Unauthorized):
        return f"The API server refused the kubeconfig's credentials: {error.message}"
    if isinstance(error, Gone):
        return (
            "The list changed too much since this page was read: start again from the first page."
        )
    if isinstance(error, NotFound):
        return f"Not found: {error.message}"
    if isinstance(error, Invalid | BadRequest):
        return f"The API server rejected the request: {error.message}"
    if isinstance(error, ApiError):
        return f"{error.reason or error.status_code}: {error.message}"
    if isinstance(error, ConnectionFailed):
        cause = error.__cause__ or error
        return f"The Kubernetes API server could not be reached: {cause}"
    if isinstance(error, KontinueError):
        return str(error)
    return f"{type(error).__name__}: {error}"


@dataclass(frozen=True)
class ActionResult:
    """What one action on one object did."""

    name: str
    ok: bool
    message: str


@dataclass(frozen=True)
class Access:
    """What the UI's user may do in a namespace (all True where the server cannot tell)."""

    start: bool = True
    steer: bool = True
    """Patch Executions: cancel, skip, retry."""
    resume: bool = True
    """Patch Suspensions: resume, wake a sleep."""
    schedules: bool = True
    """Patch ScheduledExecutions: suspend, resume."""


@dataclass
class _Cached:
    at: float
    value: Any


class Cluster:
    """Reads and writes of the UI, over one :class:`~kontinue.client.AsyncClient`."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self._trees: dict[tuple[str, str], _Cached] = {}
        self._access: dict[str, _Cached] = {}

    @property
    def namespace(self) -> str:
        """The namespace pages open in (the kubeconfig's, or ``--namespace``)."""
        return self.client.namespace

    async def close(self) -> None:
        await self.client.close()

    # Executions ------------------------------------------------------------------------------

    async def executions_page(
        self, namespace: str, where: ExecutionFilter, limit: int, continue_token: str
    ) -> ExecutionPage:
        """One page of the executions list."""
        return await list_page(
            self.client,
            namespace=namespace,
            limit=limit,
            continue_token=continue_token,
            where=where,
        )

    async def tree(self, namespace: str, name: str, *, fresh: bool = False) -> ExecutionTree:
        """The tree below ``name`` (live or archived), cached for a second: a page and its
        lazy expansions read the same tree."""
        key = (namespace, name)
        cached = self._trees.get(key)
        now = time.monotonic()
        if not fresh and cached is not None and now - cached.at < TREE_CACHE_SECONDS:
            tree: ExecutionTree = cached.value
            return tree
        tree = await self.client.get_tree(name, namespace=namespace)
        self._trees[key] = _Cached(now, tree)
        if len(self._trees) > 64:
            oldest = min(self._trees, key=lambda k: self._trees[k].at)
            self._trees.pop(oldest, None)
        return tree

    def remember_tree(self, namespace: str, name: str, tree: ExecutionTree) -> None:
        """Keep a tree a watch just delivered (lazy expansions then read it)."""
        self._trees[(namespace, name)] = _Cached(time.monotonic(), tree)

    async def watch_tree(self, namespace: str, name: str) -> AsyncIterator[TreeUpdate]:
        """New trees as the resources of ``name``'s tree change."""
        async for update in self.client.watch_tree(name, namespace=namespace):
            if update.tree is not None:
                self.remember_tree(namespace, name, update.tree)
            yield update

    async def events(self, namespace: str, name: str, kind: str = "Execution") -> list[JSON]:
        """The Kubernetes Events about the object ``name``, oldest first ([] when Events may
        not be read)."""
        selector = f"involvedObject.name={name},involvedObject.kind={kind}"
        try:
            found = await self.client.kube.list(
                EVENTS, namespace=namespace, field_selector=selector
            )
        except (Forbidden, NotFound):
            return []
        return sorted(found, key=_event_time)

    async def function_of(self, namespace: str, execution: Execution) -> Function | None:
        """The published Function an execution runs, if any."""
        try:
            return await self.client.function(execution.spec.function, namespace=namespace)
        except ClientError:
            return None

    async def cancel(self, namespace: str, name: str, reason: str | None) -> Execution:
        return await self.client.cancel(name, message=reason or None, namespace=namespace)

    async def skip(self, namespace: str, name: str, result: Any, reason: str | None) -> Execution:
        return await self.client.skip(
            name, result=result, message=reason or None, namespace=namespace
        )

    async def retry(self, namespace: str, name: str, child_policy: str) -> Execution:
        return await self.client.retry(
            name, child_policy=ChildPolicy(child_policy), namespace=namespace
        )

    async def resume_execution(
        self, namespace: str, name: str, recursive: bool, by: str | None
    ) -> list[Suspension]:
        return await self.client.resume_execution(
            name, recursive=recursive, by=by, namespace=namespace
        )

    async def resume_suspension(
        self, namespace: str, name: str, data: Any, by: str | None
    ) -> Suspension:
        """Resume a Suspension (a sleep wakes early) with ``data`` checked against its schema."""
        return await self.client.resume_suspension(name, data, by=by, namespace=namespace)

    async def suspension(self, namespace: str, name: str) -> Suspension:
        return await self.client.get_suspension(name, namespace=namespace)

    async def bulk(self, namespace: str, action: str, names: list[str]) -> list[ActionResult]:
        """Cancel, retry or resume each of ``names``; every one is tried, and says how it went."""

        async def one(name: str) -> ActionResult:
            try:
                if action == "cancel":
                    await self.cancel(namespace, name, "Canceled from the web UI")
                    return ActionResult(name, True, "cancel requested")
                if action == "retry":
                    await self.retry(namespace, name, "None")
                    return ActionResult(name, True, "retry requested")
                if action == "resume":
                    resumed = await self.resume_execution(namespace, name, False, "web UI")
                    return ActionResult(name, True, f"{len(resumed)} suspension(s) resumed")
                return ActionResult(name, False, f"unknown action {action!r}")
            except (KontinueError, ValueError) as error:
                return ActionResult(name, False, readable_error(error))

        limit = asyncio.Semaphore(8)

        async def bounded(name: str) -> ActionResult:
            async with limit:
                return await one(name)

        return list(await asyncio.gather(*(bounded(n) for n in names)))

    async def watch_executions(
        self, namespace: str, selector: str, resource_version: str
    ) -> AsyncIterator[tuple[str, Execution]]:
        """Changes to the executions matching ``selector`` after ``resource_version``, for as
        long as the caller iterates; reconnects where a stream ended. Raises
        :class:`~kontinue.kube.Gone` when the changes since then are no longer kept."""
        version = resource_version
        while True:
            async for event in self.client.kube.watch_events(
                "executions.kontinue.cloud",
                namespace=namespace,
                label_selector=selector,
                resource_version=version,
                timeout_seconds=300,
            ):
                meta = event.object.get("metadata") or {}
                version = str(meta.get("resourceVersion") or version)
                if event.type in ("ADDED", "MODIFIED", "DELETED"):
                    yield event.type, Execution.model_validate(event.object)

    # Functions -------------------------------------------------------------------------------

    async def functions(self, namespace: str, include_hidden: bool = False) -> list[Function]:
        return await self.client.functions(namespace=namespace, include_hidden=include_hidden)

    async def worker_groups(self, namespace: str, groups: set[str]) -> dict[str, WorkerGroupStatus]:
        """Whether each worker group runs (from the Lease its leader renews)."""
        found = await asyncio.gather(
            *(worker_group_status(self.client, g, namespace=namespace) for g in sorted(groups))
        )
        return {status.group: status for status in found}

    async def function(self, namespace: str, name: str) -> Function:
        return await self.client.function(name, namespace=namespace)

    async def start(
        self,
        namespace: str,
        function: str,
        arguments: JSON,
        *,
        name: str | None = None,
        retries: int | None = None,
        backoff: str | None = None,
        attempt_timeout: str | None = None,
        overall_timeout: str | None = None,
        archive_after: str | None = None,
        delete_after: str | None = None,
        mutex: str | None = None,
        extra_labels: dict[str, str] | None = None,
    ) -> Execution:
        """Start ``function``; arguments are checked against its schema first."""
        retry = None
        if retries is not None or backoff:
            retry = ExecutionRetry.model_validate(
                {"retries": retries or 0, **({"backoff": backoff} if backoff else {})}
            )
        timeout = None
        if attempt_timeout or overall_timeout:
            timeout = ExecutionTimeout.model_validate(
                {k: v for k, v in (("attempt", attempt_timeout), ("overall", overall_timeout)) if v}
            )
        ttl = None
        if archive_after or delete_after:
            ttl = ExecutionTTL.model_validate(
                {
                    k: v
                    for k, v in (("archiveAfter", archive_after), ("deleteAfter", delete_after))
                    if v
                }
            )
        return await self.client.spawn(
            function,
            arguments,
            name=name or None,
            namespace=namespace,
            retry=retry,
            timeout=timeout,
            ttl=ttl,
            mutex=ExecutionMutex(name=mutex) if mutex else None,
            labels=extra_labels or None,
        )

    # Schedules -------------------------------------------------------------------------------

    async def schedules(self, namespace: str) -> list[ScheduledExecution]:
        found = await self.client.list_scheduled_executions(namespace=namespace)
        return sorted(found, key=lambda s: s.metadata.name or "")

    async def schedule(self, namespace: str, name: str) -> ScheduledExecution:
        return await self.client.get_scheduled_execution(name, namespace=namespace)

    async def schedule_history(self, namespace: str, name: str) -> list[Execution]:
        """The runs of a schedule (archived ones included), newest first."""
        runs = await self.client.list(namespace=namespace, schedule=name)
        return list(reversed(runs))

    async def set_schedule_suspended(
        self, namespace: str, name: str, suspended: bool
    ) -> ScheduledExecution:
        if suspended:
            return await self.client.suspend_scheduled_execution(name, namespace=namespace)
        return await self.client.resume_scheduled_execution(name, namespace=namespace)

    async def trigger(self, namespace: str, name: str) -> Execution:
        """Start a run of a schedule now, outside its cron (with its arguments and execution
        defaults, labelled as the schedule's so it shows in its history)."""
        schedule = await self.schedule(namespace, name)
        defaults = schedule.spec.execution_defaults
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        return await self.client.spawn(
            schedule.spec.function,
            schedule.spec.arguments,
            name=f"{name[:40]}-manual-{stamp}-{uuid.uuid4().hex[:4]}",
            namespace=namespace,
            retry=defaults.retry if defaults else None,
            timeout=defaults.timeout if defaults else None,
            ttl=defaults.ttl if defaults else None,
            mutex=defaults.mutex if defaults else None,
            labels={labels.LABEL_SCHEDULED_EXECUTION: name},
        )

    # Jobs ------------------------------------------------------------------------------------

    async def job(self, namespace: str, name: str) -> JSON:
        return await self.client.get_job(name, namespace=namespace)

    async def job_logs(self, namespace: str, name: str, follow: bool) -> AsyncIterator[str]:
        async for line in self.client.job_logs(name, namespace=namespace, follow=follow):
            yield line

    # Access ----------------------------------------------------------------------------------

    async def access(self, namespace: str) -> Access:
        """What the user may do in ``namespace``, from SelfSubjectAccessReviews (cached for
        30 s; everything is allowed where the server has no authorization API, as the dev
        server, which lets every token holder do anything)."""
        cached = self._access.get(namespace)
        now = time.monotonic()
        if cached is not None and now - cached.at < ACCESS_CACHE_SECONDS:
            found: Access = cached.value
            return found
        checks = {
            "start": ("create", "executions"),
            "steer": ("patch", "executions"),
            "resume": ("patch", "suspensions"),
            "schedules": ("patch", "scheduledexecutions"),
        }
        answers = await asyncio.gather(
            *(self._can(namespace, verb, plural) for verb, plural in checks.values())
        )
        found = Access(**dict(zip(checks, answers, strict=True)))
        self._access[namespace] = _Cached(now, found)
        return found

    async def _can(self, namespace: str, verb: str, plural: str) -> bool:
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "metadata": {},
            "spec": {
                "resourceAttributes": {
                    "namespace": namespace,
                    "verb": verb,
                    "group": "kontinue.cloud",
                    "resource": plural,
                }
            },
        }
        try:
            answer = await self.client.kube.create(review)
        except KontinueError:
            return True  # no authorization API to ask: the request itself will tell
        return bool((answer.get("status") or {}).get("allowed"))


def _event_time(event: JSON) -> str:
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


@contextlib.asynccontextmanager
async def cluster_from_kubeconfig(
    kubeconfig: str | None, *, context: str | None = None, namespace: str | None = None
) -> AsyncIterator[Cluster]:
    """A :class:`Cluster` over the kubeconfig's credentials (closed on exit)."""
    client = AsyncClient.from_kubeconfig(
        kubeconfig, context=context, namespace=namespace, qps=50, burst=100
    )
    cluster = Cluster(client)
    try:
        yield cluster
    finally:
        await cluster.close()
