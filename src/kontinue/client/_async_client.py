"""AsyncClient: start, watch and steer executions from outside a worker (asyncio).

The source of truth for both clients: ``scripts/generate_sync.py`` generates
``_sync_client.py`` from this module (``await``s removed, names swapped). Every request a client
makes is a plain Kubernetes API call on the kontinue resources (a spec patch to cancel, a
Suspension patch to resume), so RBAC governs it and kubectl can do the same; the rules live in
``_core``. It is long because it is the whole surface of one class, each method a thin call.
"""

from __future__ import annotations

import builtins
import math
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, overload

from kontinue.api import (
    TERMINAL_PHASES,
    ChildPolicy,
    Execution,
    ExecutionMutex,
    ExecutionPhase,
    ExecutionRetry,
    ExecutionTimeout,
    ExecutionTTL,
    Function,
    ScheduledExecution,
    Suspension,
    labels,
)
from kontinue.kube import AsyncKubeClient, Conflict, Forbidden, KubeSettings, NotFound, Query
from kontinue.kube.logs import LogOptions, parse_log_line

from ._core import (
    ARCHIVES,
    EXECUTIONS,
    FUNCTIONS,
    JOBS,
    SCHEDULES,
    SUSPENSIONS,
    archived_executions,
    arguments_json,
    cancel_patch,
    execution_selector,
    filter_phases,
    group_archives,
    parse_result,
    rerun_patch,
    resume_patch,
    skip_patch,
    spawn_body,
)
from ._unclaimed import end_ops, group_of, is_unclaimed, lease_reason, worker_lease_name
from .errors import UnknownFunction, WaitTimeout
from .tree import ExecutionTree, TreeUpdate, build_tree

__all__ = ["AsyncClient"]

T = TypeVar("T")
JSON = dict[str, Any]
ExecutionRef = str | Execution


def _name(ref: ExecutionRef | Suspension) -> str:
    return ref if isinstance(ref, str) else ref.metadata.name or ""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _TreeSnapshot:
    root: list[JSON] = field(default_factory=list)
    executions: list[JSON] = field(default_factory=list)
    suspensions: list[JSON] = field(default_factory=list)
    jobs: list[JSON] = field(default_factory=list)


class AsyncClient:
    """Start and steer executions; every method takes ``namespace=`` (default: the client's)."""

    def __init__(self, kube: AsyncKubeClient, namespace: str | None = None) -> None:
        self._kube = kube if namespace is None else kube.with_namespace(namespace)

    @classmethod
    def from_kubeconfig(
        cls,
        kubeconfig: str | None = None,
        *,
        context: str | None = None,
        namespace: str | None = None,
        impersonate: str | None = None,
        impersonate_groups: Sequence[str] = (),
        qps: float = 5.0,
        burst: int = 10,
    ) -> AsyncClient:
        """A client for a kubeconfig context (``$KUBECONFIG`` or ``~/.kube/config`` by default,
        in-cluster configuration inside a pod), its namespace unless ``namespace`` is given."""
        settings = KubeSettings(
            qps=qps,
            burst=burst,
            impersonate_user=impersonate,
            impersonate_groups=tuple(impersonate_groups),
            field_manager="kontinue-client",
        )
        kube = AsyncKubeClient.from_kubeconfig(
            kubeconfig, context=context, namespace=namespace, settings=settings
        )
        return cls(kube)

    @classmethod
    def from_kube_client(cls, kube: AsyncKubeClient, namespace: str | None = None) -> AsyncClient:
        """A client sharing an existing Kubernetes client (its connection and limits)."""
        return cls(kube, namespace)

    @property
    def namespace(self) -> str:
        """The namespace used when a method is not given one."""
        return self._kube.namespace or "default"

    @property
    def kube(self) -> AsyncKubeClient:
        """The underlying Kubernetes client, for anything this client does not cover."""
        return self._kube

    def with_namespace(self, namespace: str) -> AsyncClient:
        """The same client (connection, limits) with another default namespace."""
        return AsyncClient(self._kube.with_namespace(namespace))

    async def close(self) -> None:
        await self._kube.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _ns(self, namespace: str | None) -> str:
        return namespace or self.namespace

    # Spawning -------------------------------------------------------------------------------

    async def spawn(
        self,
        function: str | Function,
        args: Any = None,
        *,
        name: str | None = None,
        namespace: str | None = None,
        retry: ExecutionRetry | None = None,
        timeout: ExecutionTimeout | None = None,
        ttl: ExecutionTTL | None = None,
        mutex: str | ExecutionMutex | None = None,
        labels: dict[str, str] | None = None,
        display_name: str | None = None,
        description: str | None = None,
    ) -> Execution:
        """Start an execution of ``function`` (a name, or a Function already read). Arguments
        (a dict, model or dataclass; the bare value for a function taking a scalar, like
        ``n: int``) are merged with the function's defaults and checked against its schema
        first: bad ones raise :class:`InvalidArguments` and nothing is created.
        ``display_name`` and ``description`` are shown by the CLI and the UI (annotations)."""
        ns = self._ns(namespace)
        published = (
            function
            if isinstance(function, Function)
            else await self.function(function, namespace=ns)
        )
        body = spawn_body(
            published,
            arguments_json(args, published.spec.arguments),
            namespace=ns,
            name=name,
            retry=retry,
            timeout=timeout,
            ttl=ttl,
            mutex=mutex,
            extra_labels=labels,
            display_name=display_name,
            description=description,
        )
        return Execution.model_validate(await self._kube.create(body, namespace=ns))

    async def spawn_and_wait(
        self,
        function: str | Function,
        args: Any = None,
        *,
        wait_timeout: float | None = None,
        **options: Any,
    ) -> Execution:
        """:meth:`spawn`, then :meth:`wait` for the end."""
        execution = await self.spawn(function, args, **options)
        return await self.wait(execution, timeout=wait_timeout)

    # Reading --------------------------------------------------------------------------------

    async def get(self, name: str, *, namespace: str | None = None) -> Execution:
        """An execution by name; an archived one if it is no longer live."""
        ns = self._ns(namespace)
        try:
            return Execution.model_validate(await self._kube.get(EXECUTIONS, name, namespace=ns))
        except NotFound as missing:
            for execution in await self._archived(ns, ""):
                if execution.metadata.name == name:
                    return execution
            raise missing from None

    async def list(
        self,
        *,
        namespace: str | None = None,
        function: str | None = None,
        phases: Sequence[ExecutionPhase | str] | None = None,
        root: str | None = None,
        schedule: str | None = None,
        worker_group: str | None = None,
        label_selector: str | dict[str, str] | None = None,
        only_root: bool = False,
        include_archived: bool = True,
    ) -> builtins.list[Execution]:
        """Executions matching every filter given, archived ones included, oldest first."""
        ns = self._ns(namespace)
        selector = execution_selector(
            function=function,
            root=root,
            schedule=schedule,
            worker_group=worker_group,
            label_selector=label_selector,
            only_root=only_root,
        )
        items = await self._kube.list(EXECUTIONS, namespace=ns, label_selector=selector)
        found = [Execution.model_validate(item) for item in items]
        if include_archived:
            live = {e.metadata.name for e in found}
            archived = await self._archived(ns, selector)
            found += [e for e in archived if e.metadata.name not in live]
        found.sort(key=lambda e: (e.metadata.creation_timestamp or _now(), e.metadata.name))
        return filter_phases(found, phases)

    async def _archived(self, namespace: str, selector: str) -> builtins.list[Execution]:
        """The archived executions whose labels match ``selector`` (every filter of
        :meth:`list` is a label: root, parent, function, worker group, schedule)."""
        try:
            items = await self._kube.list(ARCHIVES, namespace=namespace)
        except NotFound:
            return []
        found = []
        from kontinue.kube.selectors import LabelSelector

        wanted = LabelSelector.parse(selector) if selector else None
        for parts in group_archives(items).values():
            for obj in archived_executions(parts)["executions"]:
                obj_labels = (obj.get("metadata") or {}).get("labels") or {}
                if wanted is None or wanted.matches(obj_labels):
                    found.append(Execution.model_validate(obj))
        return found

    async def children(
        self, parent: ExecutionRef, *, namespace: str | None = None
    ) -> builtins.list[Execution]:
        """The direct child executions of ``parent``, in creation order."""
        return await self.list(
            namespace=namespace, label_selector=f"{labels.LABEL_PARENT}={_name(parent)}"
        )

    # Waiting --------------------------------------------------------------------------------

    async def wait(
        self,
        execution: ExecutionRef,
        *,
        namespace: str | None = None,
        timeout: float | None = None,
        follow: bool = True,
    ) -> Execution:
        """Wait, with a watch, until the execution ends; :class:`WaitTimeout` after
        ``timeout`` seconds. An execution that continued as new ones
        (``ktx.continue_as_new``) is followed to the last of its chain unless ``follow`` is
        False."""
        ns = self._ns(namespace)
        name = _name(execution)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            current = await self.get(name, namespace=ns)
            if current.status.phase in TERMINAL_PHASES:
                if follow and current.status.continued_as:
                    name = current.status.continued_as
                    continue
                return current
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise WaitTimeout(
                    f"execution {name} is still {current.status.phase.value} after "
                    f"{timeout} s: {current.status.message or 'no message'}"
                )
            window = 60 if remaining is None else max(1, math.ceil(min(remaining, 60)))
            async for event in self._kube.watch_events(
                EXECUTIONS,
                namespace=ns,
                field_selector=f"metadata.name={name}",
                resource_version=current.metadata.resource_version or "",
                timeout_seconds=window,
            ):
                if event.type == "DELETED":
                    break  # archived or deleted: the next get says which
                if event.type in ("ADDED", "MODIFIED"):
                    phase = (event.object.get("status") or {}).get("phase")
                    if phase in {p.value for p in TERMINAL_PHASES}:
                        ended = Execution.model_validate(event.object)
                        if not (follow and ended.status.continued_as):
                            return ended
                        name = ended.status.continued_as
                        break
                if deadline is not None and time.monotonic() >= deadline:
                    break

    @staticmethod
    def parse_result(execution: Execution, type_: type[T] | Any = Any) -> T:
        """See :func:`kontinue.client.parse_result`."""
        result: T = parse_result(execution, type_)
        return result

    # Steering -------------------------------------------------------------------------------

    async def cancel(
        self, execution: ExecutionRef, *, message: str | None = None, namespace: str | None = None
    ) -> Execution:
        """Ask for a running execution to be canceled (with its children, suspensions and
        Jobs); :class:`InvalidState` if it already ended."""
        ns = self._ns(namespace)
        current = await self.get(_name(execution), namespace=ns)
        patch = cancel_patch(current, message, _now())
        requested = await self._patch_execution(current, patch, ns)
        return await self._end_if_unclaimed(
            requested, ExecutionPhase.CANCELED, message or "Canceled by client"
        )

    async def skip(
        self,
        execution: ExecutionRef,
        *,
        result: Any = None,
        message: str | None = None,
        namespace: str | None = None,
    ) -> Execution:
        """End a running execution as Skipped, handing ``result`` to its waiting parent.

        The result is checked against the function's published result schema first (a parent
        would fail parsing a result that does not fit): :class:`InvalidArguments` names each
        field that does not, and nothing is written."""
        ns = self._ns(namespace)
        current = await self.get(_name(execution), namespace=ns)
        try:
            schema = (await self.function(current.spec.function, namespace=ns)).spec.result
        except UnknownFunction:  # no worker publishes it (any more): nothing to check against
            schema = None
        patch = skip_patch(current, result, message, _now(), schema)
        requested = await self._patch_execution(current, patch, ns)
        value = requested.spec.skip.result if requested.spec.skip else None
        return await self._end_if_unclaimed(
            requested, ExecutionPhase.SKIPPED, message or "Skipped by client", value
        )

    async def retry(
        self,
        execution: ExecutionRef,
        *,
        child_policy: ChildPolicy | str = ChildPolicy.NONE,
        namespace: str | None = None,
    ) -> Execution:
        """Run a Failed or Canceled execution again (a new attempt); ``child_policy`` says
        which of its children run again: None, RetryFailed or RetryAll."""
        ns = self._ns(namespace)
        current = await self.get(_name(execution), namespace=ns)
        patch = rerun_patch(current, child_policy, _now())
        return await self._patch_execution(current, patch, ns)

    async def why_pending(
        self, execution: ExecutionRef, *, namespace: str | None = None
    ) -> str | None:
        """Why an execution no worker has started waits (no worker publishes its function, or
        none of its group is running); None once a worker runs it or while a live one serves it
        (and when this client may not read Leases to tell)."""
        current = await self.get(_name(execution), namespace=self._ns(namespace))
        if not is_unclaimed(current):
            return None
        return await self._why_unclaimed(current, _now())

    async def _why_unclaimed(self, execution: Execution, now: datetime) -> str | None:
        ns = execution.metadata.namespace or self.namespace
        functions = await self._kube.list(FUNCTIONS, namespace=ns)
        group, reason = group_of(execution, functions)
        if group is None:
            return reason
        try:
            lease = await self._kube.get("Lease", worker_lease_name(group), namespace=ns)
        except NotFound:
            lease = None
        except Forbidden:
            return None
        return lease_reason(group, ns, lease, now)

    async def _end_if_unclaimed(
        self, execution: Execution, phase: ExecutionPhase, message: str, result: Any = None
    ) -> Execution:
        """End an execution no live worker would act on (cancel and skip are otherwise requests
        a worker carries out); a worker that claims it meanwhile wins (409)."""
        if not is_unclaimed(execution):
            return execution
        now = _now()
        if await self._why_unclaimed(execution, now) is None:
            return execution
        ops = end_ops(execution, phase, f"{message} before any worker ran it", now, result)
        try:
            answer = await self._kube.patch(
                EXECUTIONS,
                ops,
                name=execution.metadata.name or "",
                namespace=execution.metadata.namespace,
                type="json",
                status=True,
            )
        except Conflict:
            return execution
        return Execution.model_validate(answer)

    async def _patch_execution(
        self, current: Execution, ops: builtins.list[JSON], ns: str
    ) -> Execution:
        answer = await self._kube.patch(
            EXECUTIONS, ops, name=current.metadata.name or "", namespace=ns, type="json"
        )
        return Execution.model_validate(answer)

    # Suspensions ----------------------------------------------------------------------------

    async def get_suspension(self, name: str, *, namespace: str | None = None) -> Suspension:
        """A Suspension by name."""
        ns = self._ns(namespace)
        return Suspension.model_validate(await self._kube.get(SUSPENSIONS, name, namespace=ns))

    async def suspensions(
        self,
        execution: ExecutionRef | None = None,
        *,
        namespace: str | None = None,
        recursive: bool = False,
    ) -> builtins.list[Suspension]:
        """The Suspensions of an execution (of its whole tree with ``recursive``), or of the
        whole namespace without an execution; :class:`NotFound` for an unknown execution."""
        ns = self._ns(namespace)
        if execution is None:
            items = await self._kube.list(SUSPENSIONS, namespace=ns)
            return [Suspension.model_validate(i) for i in items]
        name = _name(execution)
        if isinstance(execution, str):
            await self.get(name, namespace=ns)  # NotFound names the execution
        if recursive:
            current = await self.get(name, namespace=ns)
            root = current.metadata.labels.get(labels.LABEL_ROOT, name)
            items = await self._kube.list(
                SUSPENSIONS, namespace=ns, label_selector=f"{labels.LABEL_ROOT}={root}"
            )
            below = {name} | {e.metadata.name or "" for e in await self._descendants(name, ns)}
            found = [Suspension.model_validate(i) for i in items]
            return [s for s in found if s.spec.execution in below]
        items = await self._kube.list(
            SUSPENSIONS, namespace=ns, label_selector=f"{labels.LABEL_PARENT}={name}"
        )
        return [Suspension.model_validate(i) for i in items]

    async def _descendants(self, name: str, ns: str) -> builtins.list[Execution]:
        found: builtins.list[Execution] = []
        frontier = [name]
        while frontier:
            parent = frontier.pop()
            for child in await self.children(parent, namespace=ns):
                found.append(child)
                frontier.append(child.metadata.name or "")
        return found

    async def resume_suspension(
        self,
        suspension: str | Suspension,
        data: Any = None,
        *,
        by: str | None = None,
        namespace: str | None = None,
    ) -> Suspension:
        """Resume a waiting Suspension with optional ``data`` (checked against its schema
        first); :class:`InvalidState` if it is not waiting."""
        ns = self._ns(namespace)
        current = await self.get_suspension(_name(suspension), namespace=ns)
        patch = resume_patch(current, data, by, _now())
        answer = await self._kube.patch(
            SUSPENSIONS, patch, name=current.metadata.name or "", namespace=ns, type="json"
        )
        return Suspension.model_validate(answer)

    async def resume_execution(
        self,
        execution: ExecutionRef,
        *,
        recursive: bool = False,
        data: Any = None,
        by: str | None = None,
        namespace: str | None = None,
    ) -> builtins.list[Suspension]:
        """Resume the waiting Suspensions of an execution (of its whole tree with
        ``recursive``); returns them. A Suspension that ends meanwhile (a sleep running out) is
        left out; :class:`InvalidState` if none is waiting."""
        from .errors import InvalidState

        ns = self._ns(namespace)
        waiting = [
            s
            for s in await self.suspensions(execution, namespace=ns, recursive=recursive)
            if s.is_waiting
        ]
        resumed: builtins.list[Suspension] = []
        for suspension in waiting:
            try:
                resumed.append(await self.resume_suspension(suspension, data, by=by, namespace=ns))
            except InvalidState:
                continue  # it ended between the list and the resume
        if not resumed:
            where = "in its tree" if recursive else "of its own"
            raise InvalidState(
                f"execution {_name(execution)} has no waiting suspension {where} to resume"
            )
        return resumed

    # Functions ------------------------------------------------------------------------------

    async def function(self, name: str, *, namespace: str | None = None) -> Function:
        """The published Function called ``name``; :class:`UnknownFunction` if none is."""
        ns = self._ns(namespace)
        items = await self._kube.list(FUNCTIONS, namespace=ns)
        for item in items:
            if (item.get("spec") or {}).get("name") == name:
                return Function.model_validate(item)
        known = sorted(str((item.get("spec") or {}).get("name")) for item in items)
        raise UnknownFunction(
            f"no function {name!r} in namespace {ns} (published: {', '.join(known) or 'none'})"
        )

    async def functions(
        self,
        *,
        namespace: str | None = None,
        include_hidden: bool = False,
        worker_group: str | None = None,
    ) -> builtins.list[Function]:
        """The published Functions, without hidden ones unless ``include_hidden``."""
        ns = self._ns(namespace)
        selector = f"{labels.LABEL_WORKER_GROUP}={worker_group}" if worker_group else ""
        items = await self._kube.list(FUNCTIONS, namespace=ns, label_selector=selector)
        found = [Function.model_validate(item) for item in items]
        if not include_hidden:
            found = [
                f for f in found if f.metadata.annotations.get(labels.ANNOTATION_HIDDEN) != "true"
            ]
        return sorted(found, key=lambda f: f.spec.name)

    # Scheduled executions -------------------------------------------------------------------

    async def get_scheduled_execution(
        self, name: str, *, namespace: str | None = None
    ) -> ScheduledExecution:
        """A ScheduledExecution by name."""
        ns = self._ns(namespace)
        return ScheduledExecution.model_validate(
            await self._kube.get(SCHEDULES, name, namespace=ns)
        )

    async def list_scheduled_executions(
        self,
        *,
        namespace: str | None = None,
        function: str | None = None,
        label_selector: str | dict[str, str] | None = None,
    ) -> builtins.list[ScheduledExecution]:
        """ScheduledExecutions, optionally of one function or matching labels."""
        ns = self._ns(namespace)
        selector = execution_selector(label_selector=label_selector)
        items = await self._kube.list(SCHEDULES, namespace=ns, label_selector=selector)
        found = [ScheduledExecution.model_validate(item) for item in items]
        if function:
            found = [s for s in found if s.spec.function == function]
        return found

    async def suspend_scheduled_execution(
        self, schedule: str | ScheduledExecution, *, namespace: str | None = None
    ) -> ScheduledExecution:
        """Stop a schedule from starting executions."""
        return await self._set_suspend(schedule, True, namespace)

    async def resume_scheduled_execution(
        self, schedule: str | ScheduledExecution, *, namespace: str | None = None
    ) -> ScheduledExecution:
        """Let a suspended schedule start executions again."""
        return await self._set_suspend(schedule, False, namespace)

    async def _set_suspend(
        self, schedule: str | ScheduledExecution, suspend: bool, namespace: str | None
    ) -> ScheduledExecution:
        ns = self._ns(namespace)
        name = schedule if isinstance(schedule, str) else schedule.metadata.name or ""
        answer = await self._kube.patch(
            SCHEDULES, {"spec": {"suspend": suspend}}, name=name, namespace=ns
        )
        return ScheduledExecution.model_validate(answer)

    # Jobs -----------------------------------------------------------------------------------

    @overload
    async def get_job(
        self, name: str, *, namespace: str | None = ..., as_type: None = ...
    ) -> JSON: ...
    @overload
    async def get_job(self, name: str, *, namespace: str | None = ..., as_type: type[T]) -> T: ...

    async def get_job(
        self, name: str, *, namespace: str | None = None, as_type: type[T] | None = None
    ) -> JSON | T:
        """A Job by name: as JSON, or as ``as_type`` (the official client's ``V1Job``, or any
        pydantic model of a Job)."""
        job: JSON | T = await self._kube.get(
            JOBS, name, namespace=self._ns(namespace), as_type=as_type
        )
        return job

    async def jobs(
        self, execution: ExecutionRef, *, namespace: str | None = None
    ) -> builtins.list[JSON]:
        """The Jobs (as JSON) an execution started itself (``ktx.run_job``, ``run_script``),
        oldest first: those that carry it as their ``kontinue.cloud/parent``. Raises
        :class:`NotFound` for an unknown execution."""
        ns = self._ns(namespace)
        name = _name(execution)
        if isinstance(execution, str):
            await self.get(name, namespace=ns)  # NotFound names the execution
        selector = f"{labels.LABEL_PARENT}={name}"
        found = await self._kube.list(JOBS, namespace=ns, label_selector=selector)
        return sorted(found, key=_creation_order)

    async def job_logs(
        self,
        name: str,
        *,
        namespace: str | None = None,
        follow: bool = False,
        tail_lines: int | None = None,
        container: str | None = None,
        since_seconds: int | None = None,
        since_time: datetime | None = None,
        timestamps: bool = False,
        previous: bool = False,
    ) -> AsyncIterator[str]:
        """The log lines of a Job's first pod (the oldest; a Job retried after a failure has
        more), empty lines included, as ``kubectl logs`` prints them.

        ``follow`` keeps streaming until the container ends; ``since_seconds``/``since_time``
        (one of them) and ``tail_lines`` narrow what is read; ``timestamps`` starts each line
        with the time it was written (RFC 3339, as the server gives it); ``previous`` reads
        the container's previous, terminated instance. Raises :class:`NotFound` for an unknown
        Job or one without pods yet.
        """
        # Asked for with timestamps always: the stream is split into non-empty lines, and the
        # stamp keeps a blank log line from vanishing; it is cut off again unless wanted.
        options = LogOptions(
            container=container,
            follow=follow,
            tail_lines=tail_lines,
            since_seconds=since_seconds,
            since_time=since_time,
            timestamps=True,
            previous=previous,
        )
        ns = self._ns(namespace)
        await self.get_job(name, namespace=ns)
        pods = await self._kube.list("pods", namespace=ns, label_selector=f"job-name={name}")
        if not pods:
            raise NotFound(404, {"message": f"Job {name} has no pods yet", "reason": "NotFound"})
        pod = min(pods, key=_creation_order)["metadata"]["name"]
        path = f"/api/v1/namespaces/{ns}/pods/{pod}/log"
        async for line in self._kube.stream_lines(path, options.query(), read_timeout=None):
            if timestamps:
                yield line.rstrip(b"\r\n").decode("utf-8", errors="replace")
            else:
                yield parse_log_line(pod, container or "", line).output

    # Trees ----------------------------------------------------------------------------------

    async def get_tree(self, name: str, *, namespace: str | None = None) -> ExecutionTree:
        """The execution tree of ``name`` (attempts, children, suspensions, Jobs), read from
        an archive when the tree is no longer live."""
        ns = self._ns(namespace)
        try:
            root = await self._kube.get(EXECUTIONS, name, namespace=ns)
        except NotFound as missing:
            tree = await self._archived_tree(name, ns)
            if tree is None:
                raise missing from None
            return tree
        tree_root = ((root.get("metadata") or {}).get("labels") or {}).get(labels.LABEL_ROOT, name)
        selector = f"{labels.LABEL_ROOT}={tree_root}"
        executions = await self._kube.list(EXECUTIONS, namespace=ns, label_selector=selector)
        suspensions = await self._kube.list(SUSPENSIONS, namespace=ns, label_selector=selector)
        jobs = await self._kube.list(JOBS, namespace=ns, label_selector=selector)
        return _tree(name, [root, *executions], suspensions, jobs, archived=False)

    async def _archived_tree(self, name: str, ns: str) -> ExecutionTree | None:
        try:
            items = await self._kube.list(ARCHIVES, namespace=ns)
        except NotFound:
            return None
        for parts in group_archives(items).values():
            stored = archived_executions(parts)
            if any((e.get("metadata") or {}).get("name") == name for e in stored["executions"]):
                return _tree(
                    name, stored["executions"], stored["suspensions"], stored["jobs"], True
                )
        return None

    async def watch_tree(
        self, name: str, *, namespace: str | None = None
    ) -> AsyncIterator[TreeUpdate]:
        """A new tree whenever any resource of the tree changes (and watch errors as they
        happen, while it retries), until the caller stops iterating or the execution is gone.

        It starts as :meth:`get_tree` does, raising what that raises (``NotFound``, or
        ``Forbidden`` for a kind this client may not list); an archived tree is yielded once.
        When the execution is deleted the iteration ends: with its archived tree if it was
        archived, else with a ``NotFound`` error.
        """
        ns = self._ns(namespace)
        first = await self.get_tree(name, namespace=ns)
        if first.archived:
            yield TreeUpdate(tree=first)
            return
        found = first.root.execution()
        tree_root = found.metadata.labels.get(labels.LABEL_ROOT, name) if found else name
        selector = f"{labels.LABEL_ROOT}={tree_root}"
        errors: builtins.list[Exception] = []
        queries = [
            Query("root", EXECUTIONS, namespace=ns, field_selector=f"metadata.name={name}"),
            Query("executions", EXECUTIONS, namespace=ns, label_selector=selector),
            Query("suspensions", SUSPENSIONS, namespace=ns, label_selector=selector),
            Query("jobs", JOBS, namespace=ns, label_selector=selector),
        ]
        snapshot = _TreeSnapshot()
        async with self._kube.watch(*queries, on_error=errors.append) as accumulator:
            while True:
                await accumulator.changed()
                while errors:
                    yield TreeUpdate(error=errors.pop(0))
                if not accumulator.update(snapshot):
                    continue
                if not snapshot.root:
                    archived = await self._archived_tree(name, ns)
                    if archived is not None:
                        yield TreeUpdate(tree=archived)
                    else:
                        gone = {"message": f"execution {name} was deleted", "reason": "NotFound"}
                        yield TreeUpdate(error=NotFound(404, gone))
                    return
                yield TreeUpdate(
                    tree=_tree(
                        name,
                        [*snapshot.root, *snapshot.executions],
                        snapshot.suspensions,
                        snapshot.jobs,
                        archived=False,
                    )
                )


def _creation_order(obj: JSON) -> tuple[str, str]:
    meta = obj["metadata"]
    return str(meta.get("creationTimestamp") or ""), str(meta["name"])


def _tree(
    name: str,
    executions: Sequence[JSON],
    suspensions: Sequence[JSON],
    jobs: Sequence[JSON],
    archived: bool,
) -> ExecutionTree:
    unique = {str(e["metadata"]["name"]): e for e in executions}
    return build_tree(
        name,
        [Execution.model_validate(e) for e in unique.values()],
        [Suspension.model_validate(s) for s in suspensions],
        list(jobs),
        archived=archived,
    )
