"""The running half of a worker: watches, leadership, and one reconcile per execution.

Three informers keep the namespace's Executions, Suspensions and Functions in memory. Every
change of an Execution of this worker group (or of something it waits on) schedules a
reconcile of that execution; reconciles of one execution never overlap. A reconcile is quick:
:func:`~._deciding.decide` looks at the execution and answers what to do: start a run (first
attempt, next attempt after backoff, a rerun, or a replay after a restart), stop one (cancel,
skip, timeout, deletion), or nothing; the engine does it. Runs themselves are tasks (see
``_runs``). Only the holder of the group's Lease (or a live shard) reconciles.

Waiting is event-driven: a run waiting for a child or a Suspension holds a future that the
informer resolves when the object resolves; sleeps, backoffs and timeouts are timers. Nothing
polls the API server.

This module is the hub that wires the others together (informers, controllers, the status
writer, the Resumer, the children index) and keeps the bookkeeping of runs in memory: which
run each execution has, which are blocked (and may be evicted), parked or held back. Those
tables change together on every run transition, which is why they stay in one class.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from kontinue.api import (
    ChildPolicy,
    ErrorKind,
    Execution,
    ExecutionError,
    ExecutionPhase,
    ExecutionRetry,
    ExecutionTimeout,
    format_time,
    labels,
)
from kontinue.api.resources import EXECUTIONS, FUNCTIONS, JOBS, SUSPENSIONS
from kontinue.clock import Clock
from kontinue.controllers.semaphores import gates_of
from kontinue.kube import AsyncKubeClient, NotFound
from kontinue.kube.conditions import EventRecorder
from kontinue.kube.informing import Informer
from kontinue.kube.leases import LeaderElection
from kontinue.kube.queueing import ReconcileQueue
from kontinue.sdk._functions import FunctionDef
from kontinue.tasks import TaskSet
from kontinue.timers import Timer, Timers

from ._children import Children
from ._deciding import (
    Action,
    Adopt,
    AttemptTimedOut,
    End,
    Facts,
    Hold,
    Nothing,
    Rerun,
    Start,
    Throttle,
    UnknownFunction,
    WaitForVersion,
    decide,
)
from ._jobs import job_ended
from ._metrics import WorkerMetrics
from ._runs import Run
from ._status import TERMINAL, StatusWriter, dump_error, labels_of, phase_of
from ._steps import steps_to_clear
from ._suspensions import Resumer
from .settings import WorkerSettings

__all__ = ["Engine", "WorkerSpec"]

JSON = dict[str, Any]
_log = logging.getLogger("kontinue.worker")
_BACKLOG_CHECK = 0.02
"""Seconds between looks at the client's backlog while new executions wait for it."""
_EVENT_GRACE = 2.0
"""Seconds a stopping worker waits for the Events it has yet to write (a stall's Event names
the step that diverged: losing it to a restart leaves only the status message)."""


_GONE: JSON = {}
"""What :meth:`Engine._adopt` answers for an execution deleted while it was labelled."""


def code_version_of(functions: dict[str, FunctionDef]) -> str:
    """A worker's code version when none is given: a hash of its functions' source (their
    bytecode where the source cannot be read), so a changed workflow changes it."""
    digest = hashlib.sha256()
    for name in sorted(functions):
        fn = functions[name].fn
        try:
            code = inspect.getsource(fn).encode()
        except (OSError, TypeError):
            code = getattr(getattr(fn, "__code__", None), "co_code", b"")
        digest.update(name.encode() + b"\0" + code + b"\0")
    return digest.hexdigest()[:12]


def _needs_attention(obj: JSON, run: Run) -> bool:
    """Whether an event about a running execution asks for a reconcile: a client request, a
    deletion, or a write that is not the run's own (its timeouts are timers)."""
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return True
    spec = obj.get("spec") or {}
    if spec.get("cancel") is not None or spec.get("skip") is not None:
        return True
    return str(meta.get("resourceVersion")) != run.rv


@dataclass
class _Parked:
    """An execution without a run in memory, waiting for one of ``waits`` or ``wake_at``."""

    waits: list[tuple[str, str]]
    wake_at: datetime | None


class WorkerSpec(Protocol):
    """What the engine runs: a :class:`~._worker.Worker`'s functions, settings and identity,
    and how it publishes its Functions."""

    @property
    def settings(self) -> WorkerSettings: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def lease_clock(self) -> Clock: ...
    @property
    def group(self) -> str: ...
    @property
    def identity(self) -> str: ...
    @property
    def functions(self) -> Mapping[str, FunctionDef]: ...
    async def publish(self, client: AsyncKubeClient, namespace: str) -> None: ...
    async def remove_stale_functions(self, client: AsyncKubeClient, namespace: str) -> None: ...


class Engine:
    """Everything a worker does while it runs; made and driven by :meth:`Worker.run`."""

    def __init__(self, worker: WorkerSpec, client: AsyncKubeClient, namespace: str) -> None:
        self.worker = worker
        self.settings: WorkerSettings = worker.settings
        self.clock: Clock = worker.clock
        self.lease_clock: Clock = worker.lease_clock
        self.group = worker.group
        self.identity = worker.identity
        self.functions: dict[str, FunctionDef] = dict(worker.functions)
        self.code_version = self.settings.code_version or code_version_of(self.functions)
        self.client = client
        self.namespace = namespace
        self.threads = ThreadPoolExecutor(
            self.settings.sync_threads, thread_name_prefix="kontinue-workflow"
        )
        self.timers = Timers(self.clock)
        self.lease_timers = (
            self.timers if self.lease_clock is self.clock else Timers(self.lease_clock)
        )
        self.metrics = WorkerMetrics(self)
        self.status = StatusWriter(client, namespace, self.clock, self.observed)
        self.resumer = Resumer(self)
        self.events = EventRecorder(
            client, "kontinue-worker", instance=self.identity, clock=self.clock
        )
        self.executions = Informer(
            client, EXECUTIONS, namespace, self._on_execution, on_resync=self._resync
        )
        self.suspensions = Informer(
            client, SUSPENSIONS, namespace, self._on_suspension, on_resync=self._resync
        )
        self.function_objects = Informer(client, FUNCTIONS, namespace, self._on_function)
        self.jobs = Informer(
            client,
            JOBS,
            namespace,
            self._on_job,
            label_selector=f"{labels.LABEL_WORKER_GROUP}={self.group}",
        )
        # Leases get their own connection, unthrottled: a renewal must not queue behind a
        # burst of status writes, or a busy leader would lose its lease to its own work
        self.lease_client = AsyncKubeClient(
            client.connection, replace(client.settings, qps=0.0), namespace=namespace
        )
        self.leader = LeaderElection(
            self.lease_client,
            namespace,
            f"kontinue-worker-{self.group}",
            self.identity,
            self._leadership,
            self.lease_clock,
            lease_duration=self.settings.lease_duration,
            renew_period=self.settings.renew_period,
        )
        from kontinue.controllers import (
            ScheduleController,
            Semaphores,
            ShardController,
            TTLController,
        )

        self.schedules = ScheduleController(self)
        self.ttl = TTLController(self)
        self.semaphores = Semaphores(self)
        self._throttled: dict[str, None] = {}
        self.shards: ShardController | None = (
            ShardController(self) if self.settings.sharding else None
        )
        self.runs: dict[str, Run] = {}
        self._parked: dict[str, _Parked] = {}
        self._stalled: set[str] = set()
        """Executions whose replay no longer matched this worker's code: left as they are."""
        self._backlogged: dict[str, None] = {}
        """New executions waiting for the client's backlog to shrink (see _hold_for_backlog)."""
        self._backlog_timer: asyncio.TimerHandle | None = None
        self._retries = 0
        self._waiters: dict[tuple[str, str], list[asyncio.Future[JSON | None]]] = {}
        self._blocked: OrderedDict[str, Run] = OrderedDict()
        self._unknown_since: dict[str, datetime] = {}
        """When this worker first saw each execution of a function nobody publishes (on its own
        clock: the API server's creationTimestamp may be skewed from it)."""
        self._wakeups: dict[str, Timer] = {}
        self.tasks = TaskSet(_log)
        self._event_tasks = TaskSet(_log)
        self.queue = ReconcileQueue(
            self._reconcile,
            self.tasks,
            retry_delay=self.settings.retry_delay,
            logger=_log,
            what=f"reconcile in {namespace}",
        )
        self.children = Children(self)
        self.ready = asyncio.Event()
        """Set once the caches are filled (before leadership is sought)."""
        self.leading = asyncio.Event()
        """Set while this replica holds the group's Lease."""
        self.active = asyncio.Event()
        """Set while this replica may run executions: as the leader, or as a live shard."""

    # Lifecycle --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Publish the functions, watch, and take part in leader election until cancelled."""
        await self.worker.publish(self.client, self.namespace)
        background = [
            self.spawn(self.timers.run(), "kontinue-timers"),
            *(
                [self.spawn(self.lease_timers.run(), "kontinue-lease-timers")]
                if self.lease_timers is not self.timers
                else []
            ),
            self.spawn(self.function_objects.run(), "kontinue-watch-functions"),
            self.spawn(self.executions.run(), "kontinue-watch-executions"),
            self.spawn(self.suspensions.run(), "kontinue-watch-suspensions"),
            self.spawn(self.jobs.run(), "kontinue-watch-jobs"),
            self.spawn(self.schedules.schedules.run(), "kontinue-watch-schedules"),
            self.spawn(self.ttl.archives.run(), "kontinue-watch-archives"),
            self.spawn(self.semaphores.leases.run(), "kontinue-watch-semaphores"),
        ]
        if self.shards is not None:
            background.append(self.spawn(self.shards.leases.run(), "kontinue-watch-shards"))
        try:
            self.metrics.start()  # /readyz answers 503 until the caches are filled
            await self.function_objects.ready.wait()
            await self.executions.ready.wait()
            await self.suspensions.ready.wait()
            await self.jobs.ready.wait()
            await self.schedules.schedules.ready.wait()
            await self.ttl.archives.ready.wait()
            await self.semaphores.leases.ready.wait()
            if self.shards is not None:
                await self.shards.leases.ready.wait()
            self.ready.set()
            if self.shards is None:
                await self.leader.run()
            else:
                await asyncio.gather(self.leader.run(), self.shards.run())
        finally:
            for task in background:
                task.cancel()
            if self._backlog_timer is not None:
                self._backlog_timer.cancel()
            await self._stop_runs()
            with contextlib.suppress(Exception):
                await self.leader.release()
            await self._event_tasks.close(grace=_EVENT_GRACE)
            await self.tasks.close()
            self.metrics.stop()
            self.threads.shutdown(wait=False, cancel_futures=True)
            await self.lease_client.close()

    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """A background task that is cancelled at shutdown and whose failure is logged."""
        return self.tasks.spawn(coroutine, name)

    @property
    def can_run(self) -> bool:
        """Whether this replica may run executions now."""
        return self.shards.alive if self.shards is not None else self.leader.is_leader

    def _leadership(self, leader: bool) -> None:
        if leader:
            self.leading.set()
            self.spawn(self.worker.remove_stale_functions(self.client, self.namespace), "prune")
            self.schedules.leading()
            self.ttl.leading()
            if self.shards is not None:
                self.shards.rebalance()
        else:
            self.leading.clear()
        if self.shards is None:
            self.active_changed(leader)

    def _resync(self) -> None:
        """A watch reconnected after a failure: look at everything again, since work that
        failed during the outage (a wake-up, a resume) sends no new event."""
        if self.can_run:
            self.active_changed(True)

    def active_changed(self, active: bool) -> None:
        """This replica became able (or unable) to run executions."""
        if active:
            self.active.set()
            for name in list(self.executions.cache):
                self._enqueue(name)
            for name in list(self.suspensions.cache):
                self.resumer.enqueue(name)
        else:
            self.active.clear()
            self.spawn(self._stop_runs(), "kontinue-step-down")

    async def _stop_runs(self) -> None:
        runs = list(self.runs.values())
        self.runs.clear()
        self._blocked.clear()
        await asyncio.gather(*(run.stop() for run in runs), return_exceptions=True)
        for run in runs:
            self.metrics.run_ended(run)

    # Informer callbacks -----------------------------------------------------------------------

    def observed(self, obj: JSON) -> None:
        """A write of ours succeeded: keep the caches coherent with it."""
        kind = obj.get("kind")
        if kind == "Execution":
            self.executions.observe(obj)
        elif kind == "Suspension":
            self.suspensions.observe(obj)
        elif kind == "Job":
            self.jobs.observe(obj)

    def _on_execution(self, event: str, obj: JSON) -> None:
        meta = obj.get("metadata") or {}
        name = str(meta.get("name"))
        self.children.index("execution", event, obj)
        if event == "ADDED":
            self.semaphores.execution_arrived(name)
        if event == "DELETED" or phase_of(obj) in TERMINAL:
            self._unknown_since.pop(name, None)
            self._resolve(("execution", name), None if event == "DELETED" else obj)
            self.semaphores.execution_ended(obj)
        parent = labels_of(obj).get(labels.LABEL_PARENT)
        if (
            parent
            and parent in self.executions.cache
            and (event == "DELETED" or phase_of(obj) in TERMINAL)
        ):
            self._wake_parked(parent)
        if self.shards is not None and event != "DELETED":
            self.shards.consider(name, obj)
        run = self.runs.get(name)
        if run is not None and event != "DELETED" and not _needs_attention(obj, run):
            pass  # our own write, or nothing a live run must react to
        elif self._ours(obj) or run is not None:
            self._enqueue(name)
        self.metrics.execution_changed(event, obj)
        self.schedules.execution_changed(obj)
        if self.leader.is_leader and event != "DELETED":
            self.ttl.execution_changed(obj)

    def _on_suspension(self, event: str, obj: JSON) -> None:
        name = str(obj["metadata"]["name"])
        self.children.index("suspension", event, obj)
        status = obj.get("status") or {}
        if event == "DELETED" or status.get("phase", "Waiting") != "Waiting":
            self._resolve(("suspension", name), None if event == "DELETED" else obj)
            self.resumer.forget(name)
            owner = str((obj.get("spec") or {}).get("execution") or "")
            if owner:
                self._wake_parked(owner)
            return
        self.resumer.enqueue(name)

    def _on_job(self, event: str, obj: JSON) -> None:
        self.children.index("job", event, obj)
        if event == "DELETED" or job_ended(obj):
            name = str(obj["metadata"]["name"])
            self._resolve(("job", name), None if event == "DELETED" else obj)
            parent = labels_of(obj).get(labels.LABEL_PARENT)
            if parent:
                self._wake_parked(parent)

    def _on_function(self, event: str, obj: JSON) -> None:
        # A function published late may unblock executions that named it.
        if event == "ADDED" and self.leader.is_leader:
            name = (obj.get("spec") or {}).get("name")
            for key, execution in list(self.executions.cache.items()):
                if (execution.get("spec") or {}).get("function") == name:
                    self._enqueue(key)

    def _ours(self, obj: JSON) -> bool:
        obj_labels = labels_of(obj)
        group = obj_labels.get(labels.LABEL_WORKER_GROUP)
        if self.shards is not None and group == self.group:
            return obj_labels.get(labels.LABEL_SHARD) == self.identity  # assigned to this replica
        if group is not None:
            return group == self.group
        return True  # unlabelled: looked at by every group (see _unknown_function)

    # Waiting ------------------------------------------------------------------------------------

    def _cache(self, kind: str) -> Informer:
        return {"execution": self.executions, "suspension": self.suspensions, "job": self.jobs}[
            kind
        ]

    def cached(self, kind: str, name: str) -> JSON | None:
        """The watched object ``name`` of ``kind`` (execution, suspension or job), if known."""
        return self._cache(kind).cache.get(name)

    def resolved(self, kind: str, name: str) -> tuple[JSON | None] | None:
        """``(obj,)`` when the awaited object already resolved (``(None,)``: it is gone)."""
        obj = self._cache(kind).cache.get(name)
        if obj is None:
            return None
        if kind == "execution":
            done = phase_of(obj) in TERMINAL
        elif kind == "job":
            done = job_ended(obj)
        else:
            done = (obj.get("status") or {}).get("phase", "Waiting") != "Waiting"
        return (obj,) if done else None

    def waiter(self, kind: str, name: str) -> asyncio.Future[JSON | None]:
        future: asyncio.Future[JSON | None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault((kind, name), []).append(future)
        return future

    def _resolve(self, key: tuple[str, str], obj: JSON | None) -> None:
        for future in self._waiters.pop(key, []):
            if not future.done():
                future.set_result(obj)

    def blocked(self, run: Run) -> None:
        self._blocked[run.name] = run
        if self._throttled:
            self._unthrottle()
        self._blocked.move_to_end(run.name)
        excess = len(self._blocked) - self.settings.max_cached_runs
        for _ in range(max(0, excess)):
            name, victim = self._blocked.popitem(last=False)
            self.spawn(self._evict(victim), f"kontinue-evict:{name}")

    def unblocked(self, run: Run) -> None:
        self._blocked.pop(run.name, None)

    async def _evict(self, run: Run) -> None:
        waits = list(run.waits)
        wake_at = run.wake_at
        if not await run.evict():
            return
        if self.runs.get(run.name) is run:
            del self.runs[run.name]
            self.metrics.run_ended(run)
            self._park(run.name, waits, wake_at)

    def parked(self, run: Run) -> None:
        """A plain-``def`` run unwound to wait (see ``Parked``)."""
        if self.runs.get(run.name) is run:
            del self.runs[run.name]
            self.metrics.run_ended(run)
        self._park(run.name, list(run.waits), run.wake_at)

    def _park(self, name: str, waits: list[tuple[str, str]], wake_at: datetime | None) -> None:
        self._parked[name] = _Parked([w for w in waits if w[0] != "timer"], wake_at)
        if wake_at is not None:
            self.wake_at(name, wake_at)
        self._enqueue(name)  # in case what it waits for resolved meanwhile

    def _wake_parked(self, name: str) -> None:
        if name in self._parked:
            self._enqueue(name)

    def _ready(self, parked: _Parked) -> bool:
        if parked.wake_at is not None and self.clock.now() >= parked.wake_at:
            return True
        for kind, name in parked.waits:
            if self.resolved(kind, name) is not None:
                return True
            if name not in self._cache(kind).cache:
                return True
        return not parked.waits and parked.wake_at is None

    def wake_at(self, name: str, when: datetime) -> None:
        """Reconcile ``name`` again at ``when`` (one pending wake-up per execution: the
        earliest)."""
        current = self._wakeups.get(name)
        if current is not None and not current.cancelled and current.when <= when:
            return
        if current is not None:
            current.cancel()

        def fire() -> None:
            self._wakeups.pop(name, None)
            self._enqueue(name)

        self._wakeups[name] = self.timers.at(when, fire)

    # Run callbacks ------------------------------------------------------------------------------

    def finished(
        self, run: Run, phase: ExecutionPhase, error: ExecutionError | None = None
    ) -> None:
        if self.runs.get(run.name) is run:
            del self.runs[run.name]
        self._blocked.pop(run.name, None)
        self._release(run.execution)
        self.metrics.run_ended(run)
        self.metrics.completed(run, phase)
        reason = phase.value
        message = error.message if error else f"{run.definition.name} {phase.value.lower()}"
        self.record_event(run.raw, "Warning" if error else "Normal", reason, message)
        self.spawn(self.children.clean_up(run.name, "the parent execution ended"), "cleanup")

    def _release(self, execution: Execution) -> None:
        """Give back the gates of an execution that ended, and let held-back ones run."""
        definition = self.functions.get(execution.spec.function)
        gates = gates_of(execution, definition.concurrency if definition else None)
        if gates:
            name = execution.metadata.name or ""
            self.spawn(self.semaphores.release(name, gates), f"kontinue-release:{name}")
        self._unthrottle()

    def stalled(self, run: Run, message: str) -> None:
        """A replay no longer matched its history: leave the execution as it is (a worker of
        matching code resumes it; cancel and skip still end it)."""
        if self.runs.get(run.name) is run:
            del self.runs[run.name]
        self._blocked.pop(run.name, None)
        self._stalled.add(run.name)
        self.metrics.run_ended(run)
        _log.error("execution %s (function %s) %s", run.name, run.definition.name, message)
        self.record_event(run.raw, "Warning", "NonDeterminism", message)

    def abandoned(self, run: Run, *, replay: bool) -> None:
        """A run stopped without recording an outcome: another worker took over, or the API
        failed (then the execution is replayed after a pause, in real time)."""
        if self.runs.get(run.name) is run:
            del self.runs[run.name]
        self._blocked.pop(run.name, None)
        self.metrics.run_ended(run)
        if replay:
            self.retry_later(self._enqueue, run.name)

    def child_phase(self, name: str) -> str | None:
        """The phase of the watched execution ``name`` (None when it is not known)."""
        obj = self.executions.cache.get(name)
        return phase_of(obj) if obj is not None else None

    def retry_later(self, again: Callable[[str], None], name: str) -> None:
        """Call ``again(name)`` after the retry delay (real time: the API failed), counted
        until then so that :meth:`busy` knows."""
        self._retries += 1

        def retry() -> None:
            self._retries -= 1
            again(name)

        asyncio.get_running_loop().call_later(self.settings.retry_delay, retry)

    def busy(self) -> str | None:
        """Why the worker is not idle now (None when it is): a request unanswered, a
        reconcile or retry pending, an Event being written, new executions held back, or a
        run doing something other than waiting. For tests' barriers and for probes."""
        if self.client.unanswered:
            return f"{self.client.unanswered} of its requests are unanswered"
        if not self.queue.idle:
            return "a reconcile is pending"
        if self._retries:
            return f"{self._retries} retries after errors are pending"
        if len(self._event_tasks):
            return f"{len(self._event_tasks)} Events are being written"
        if self._backlogged:
            return "new executions wait for its backlog to shrink"
        for name, run in self.runs.items():
            if run.blocked_since is None and run.task is not None and not run.task.done():
                return f"execution {name} is running"
        return None

    @property
    def held_back(self) -> frozenset[str]:
        """New executions waiting for the client's backlog of requests to shrink."""
        return frozenset(self._backlogged)

    @property
    def informers(self) -> list[Informer]:
        """Every informer of the worker, its controllers' included."""
        found = [
            self.function_objects,
            self.executions,
            self.suspensions,
            self.jobs,
            self.schedules.schedules,
            self.ttl.archives,
            self.semaphores.leases,
        ]
        if self.shards is not None:
            found.append(self.shards.leases)
        return found

    def backing_off(self, run: Run, policy: ChildPolicy) -> None:
        if self.runs.get(run.name) is run:
            del self.runs[run.name]
        self._blocked.pop(run.name, None)
        self.metrics.run_ended(run)
        self.spawn(
            self.children.clean_up(
                run.name, "the attempt failed", children=policy == ChildPolicy.RETRY_ALL
            ),
            "cleanup",
        )
        self._enqueue(run.name)

    def record_event(self, obj: JSON, type: str, reason: str, message: str) -> None:
        if not self.settings.record_events:
            return
        if len(self._event_tasks) >= self.settings.max_pending_events:
            # Events are for people: under a write backlog they give way to the writes that
            # make progress, as client-go's broadcaster drops them when its queue is full
            self.metrics.event_dropped()
            return

        async def record() -> None:
            try:
                await asyncio.sleep(0.005)  # let the write that made progress go first
                await self.events.record(obj, type, reason, message[:1024])
            except Exception as error:
                _log.info(
                    "event %s for %s not recorded: %s", reason, obj["metadata"]["name"], error
                )

        self._event_tasks.spawn(record(), "kontinue-event")

    def retry_policy(self, execution: Execution, definition: FunctionDef | None) -> ExecutionRetry:
        if execution.spec.retry is not None:
            return execution.spec.retry
        defaults = definition.defaults if definition else None
        if defaults is not None and defaults.retry is not None:
            return defaults.retry
        return ExecutionRetry()

    def group_of(self, function: str) -> str | None:
        """The worker group that publishes ``function`` in this namespace."""
        if function in self.functions:
            return self.group
        for obj in self.function_objects.cache.values():
            spec = obj.get("spec") or {}
            if spec.get("name") == function:
                return str(spec.get("workerGroup") or "default")
        return None

    # Reconciling executions ---------------------------------------------------------------------

    def enqueue(self, name: str) -> None:
        """Reconcile the execution ``name`` soon (for the controllers)."""
        self._enqueue(name)

    def _unthrottle(self) -> None:
        """A run ended or started waiting: executions held back by the worker's limit move up."""
        for name in list(self._throttled)[: max(1, self._free_run_slots())]:
            self._enqueue(name)

    def _hold_for_backlog(self, name: str) -> None:
        """Start ``name`` once the client's backlog of requests shrinks: under a burst, new
        executions wait in the watch cache (a few KB each) rather than as runs with queued
        requests. Nothing is written about it: the wait is short, and a write would add to it."""
        self._backlogged[name] = None  # a name held again keeps its place in the line
        if self._backlog_timer is None:
            self._backlog_timer = asyncio.get_running_loop().call_later(
                _BACKLOG_CHECK, self._release_backlogged
            )

    def _release_backlogged(self) -> None:
        self._backlog_timer = None
        room = self.settings.max_write_backlog - self.client.unanswered
        for name in list(self._backlogged)[: max(0, room)]:
            del self._backlogged[name]  # held again if the backlog grew meanwhile
            self._enqueue(name)
        if self._backlogged:
            self._backlog_timer = asyncio.get_running_loop().call_later(
                _BACKLOG_CHECK, self._release_backlogged
            )

    def _free_run_slots(self) -> int:
        cap = self.settings.max_concurrent_runs
        if cap is None:
            return len(self._throttled)
        return cap - (len(self.runs) - len(self._blocked))

    def _enqueue(self, name: str) -> None:
        if self.can_run:
            self.queue.enqueue(name)

    async def _reconcile(self, name: str) -> None:
        """Decide what ``name`` needs (:func:`decide`), then do it."""
        if not self.can_run:
            return
        obj = self.executions.cache.get(name)
        run = self.runs.get(name)
        if obj is None or (obj.get("metadata") or {}).get("deletionTimestamp"):
            await self._forget(name, run)
            return
        if not self._ours(obj):
            return
        execution = Execution.model_validate(obj)
        definition = self.functions.get(execution.spec.function)
        facts = self._facts(name, run, definition)
        decision = decide(execution, facts)
        if isinstance(decision.action, Adopt):
            labelled = await self._adopt(execution, decision.action.labels)
            if labelled is _GONE:
                return
            obj = labelled  # go on with it now: waiters keep their arrival order
            execution = Execution.model_validate(obj)
            run = self.runs.get(name)  # the facts again: others went on during the write
            decision = decide(execution, self._facts(name, run, definition))
        for when in decision.wake_at:
            self.wake_at(name, when)
        if decision.unpark:
            del self._parked[name]
        await self._act(execution, obj, decision.action, run, definition)

    def _facts(self, name: str, run: Run | None, definition: FunctionDef | None) -> Facts:
        parked = self._parked.get(name)
        cap = self.settings.max_concurrent_runs
        return Facts(
            now=self.clock.now(),
            group=self.group,
            definition=definition,
            running=run is not None,
            run_attempt_started=run.execution.status.attempt_started_at if run else None,
            parked=parked is not None,
            parked_ready=parked is not None and self._ready(parked),
            stalled=name in self._stalled,
            code_version=self.code_version,
            run_other_versions=self.settings.run_other_versions,
            free_slots=self._free_run_slots() if cap is not None else None,
            max_runs=cap,
            backlogged=self.client.unanswered >= self.settings.max_write_backlog,
        )

    async def _act(
        self,
        execution: Execution,
        obj: JSON,
        action: Action,
        run: Run | None,
        definition: FunctionDef | None,
    ) -> None:
        """Carry out what :func:`decide` answered."""
        name = execution.metadata.name or ""
        match action:
            case Nothing():
                if execution.is_terminal:
                    self._stalled.discard(name)
            case Rerun():
                self._stalled.discard(name)
                await self._rerun(execution)
            case End(phase, message, result, error):
                await self._end(execution, phase, message=message, result=result, error=error)
            case AttemptTimedOut(limit):
                assert run is not None
                await self._attempt_timed_out(run, limit)
            case UnknownFunction():
                await self._unknown_function(execution, obj)
            case WaitForVersion(message):
                await self._write_status(execution, {"message": message}, only_if_changed=True)
            case Throttle(message):
                self._throttled[name] = None
                await self._write_status(execution, {"message": message}, only_if_changed=True)
            case Hold():
                self._throttled.pop(name, None)
                self._hold_for_backlog(name)
            case Start(new_attempt, timeout):
                self._throttled.pop(name, None)
                assert definition is not None
                await self._start(execution, obj, definition, new_attempt, timeout)
            case Adopt():  # adopted above; decide() does not ask twice
                pass

    async def _forget(self, name: str, run: Run | None) -> None:
        """The execution is gone (or going): drop what the worker held for it."""
        self._parked.pop(name, None)
        self._stalled.discard(name)
        if run is not None:
            del self.runs[name]
            self._blocked.pop(name, None)
            await run.stop()
            self.metrics.run_ended(run)

    async def _start(
        self,
        execution: Execution,
        obj: JSON,
        definition: FunctionDef,
        new_attempt: bool,
        limits: ExecutionTimeout | None,
    ) -> None:
        """Start a run once the execution holds its gates (mutex, function limit)."""
        name = execution.metadata.name or ""
        gates = gates_of(execution, definition.concurrency)
        if gates:
            waiting = await self.semaphores.acquire(execution, gates)
            if waiting is not None:
                await self._write_status(execution, {"message": waiting}, only_if_changed=True)
                return
        run = Run(self, obj, definition, new_attempt=new_attempt, execution=execution)
        self.runs[name] = run
        self.metrics.run_started(run)
        run.start()
        now = self.clock.now()
        if limits is not None and limits.attempt is not None:
            self.wake_at(name, (run.execution.status.attempt_started_at or now) + limits.attempt)
        if limits is not None and limits.overall is not None:
            self.wake_at(name, (run.execution.status.started_at or now) + limits.overall)

    async def _attempt_timed_out(self, run: Run, limit: timedelta) -> None:
        if self.runs.get(run.name) is run:
            del self.runs[run.name]
        self._blocked.pop(run.name, None)
        await run.stop()
        self.metrics.run_ended(run)
        fresh = Run(
            self, self.executions.cache.get(run.name) or run.raw, run.definition, new_attempt=False
        )
        fresh.attempt = run.attempt
        fresh.patch.pop("resumptions", None)
        fresh.persisted = dict((self.executions.cache.get(run.name) or run.raw).get("status") or {})
        self.runs[run.name] = fresh
        record = ExecutionError(
            kind=ErrorKind.TIMEOUT,
            message=f"attempt {run.attempt} exceeded its timeout of {limit}",
            retryable=True,
        )
        try:
            await fresh._failed(record)
        finally:
            if self.runs.get(run.name) is fresh:
                del self.runs[run.name]

    async def _adopt(self, execution: Execution, missing: dict[str, str]) -> JSON:
        """Label an execution created without the client (``kubectl create -f``, generateName)
        as the client does, so listings by function, group and root find it: the labelled
        object (``_GONE`` when it was deleted meanwhile)."""
        name = execution.metadata.name or ""
        try:
            answer: JSON = await self.client.patch(
                EXECUTIONS,
                {"metadata": {"labels": missing}},
                name=name,
                namespace=self.namespace,
                type="merge",
            )
        except NotFound:
            return _GONE
        self.observed(answer)
        return self.executions.cache.get(name, answer)

    async def _unknown_function(self, execution: Execution, obj: JSON) -> None:
        since = self._unknown_since.setdefault(execution.metadata.name or "", self.clock.now())
        grace = since + timedelta(seconds=self.settings.unknown_function_grace)
        function = execution.spec.function
        group = labels_of(obj).get(labels.LABEL_WORKER_GROUP)
        if group is None and self.group_of(function) is not None:
            return  # another group publishes it and will run it
        if self.clock.now() < grace:
            self.wake_at(execution.metadata.name or "", grace)
            await self._write_status(
                execution,
                {"message": f"waiting for a worker that runs function {function!r}"},
                only_if_changed=True,
            )
            return
        known = ", ".join(sorted(self.functions)) or "none"
        where = f"worker group {group!r}" if group else f"namespace {self.namespace}"
        error = ExecutionError(
            kind=ErrorKind.VALIDATION,
            message=f"no worker in {where} runs function {function!r} (this worker group "
            f"{self.group!r} runs: {known}); check spec.function",
            retryable=False,
        )
        await self._end(execution, ExecutionPhase.FAILED, message=error.message, error=error)

    async def _rerun(self, execution: Execution) -> None:
        rerun = execution.spec.rerun
        assert rerun is not None
        status = execution.status
        now = self.clock.now()
        entry: JSON = {"attempt": max(1, status.attempt), "phase": status.phase.value}
        if status.error is not None:
            entry["error"] = dump_error(status.error)
        if status.attempt_started_at is not None:
            entry["startedAt"] = format_time(status.attempt_started_at)
        if status.finished_at is not None:
            entry["finishedAt"] = format_time(status.finished_at)
        cleared = steps_to_clear(status.steps, rerun.child_policy, self.child_phase)
        patch: JSON = {
            "phase": ExecutionPhase.BACKOFF.value,
            "nextAttemptAt": format_time(now),
            "reruns": rerun.count,
            "finishedAt": None,
            "result": None,
            "message": f"rerun requested (child policy {rerun.child_policy.value})",
            "attempts": [
                *(
                    a.model_dump(mode="json", by_alias=True, exclude_none=True)
                    for a in status.attempts
                ),
                entry,
            ],
        }
        if cleared:
            patch["steps"] = dict.fromkeys(cleared)
        await self._write_status(execution, patch)
        self.record_event(
            execution.model_dump(mode="json", by_alias=True, exclude_none=True),
            "Normal",
            "Rerun",
            f"rerun {rerun.count} requested",
        )

    async def _end(
        self,
        execution: Execution,
        phase: ExecutionPhase,
        *,
        message: str,
        result: Any = None,
        error: ExecutionError | None = None,
    ) -> None:
        """End an execution from outside its run: cancel, skip, overall timeout, bad input."""
        name = execution.metadata.name or ""
        run = self.runs.pop(name, None)
        self._parked.pop(name, None)
        self._blocked.pop(name, None)
        if run is not None:
            await run.stop()
            self.metrics.run_ended(run)
        patch: JSON = {
            "phase": phase.value,
            "message": message,
            "finishedAt": format_time(self.clock.now()),
        }
        if result is not None:
            patch["result"] = result
        if error is not None:
            patch["error"] = dump_error(error)
        written = await self._write_status(execution, patch)
        self._release(execution)
        if written is None:
            return
        self.metrics.completed_name(execution.spec.function, phase, written)
        warn = phase in (ExecutionPhase.FAILED, ExecutionPhase.CANCELED)
        self.record_event(written, "Warning" if warn else "Normal", phase.value, message)
        await self.children.clean_up(name, f"the parent execution is {phase.value.lower()}")

    async def _write_status(
        self, execution: Execution, patch: JSON, *, only_if_changed: bool = False
    ) -> JSON | None:
        """Patch the status of a non-terminal execution on top of whatever it is now."""
        name = execution.metadata.name or ""
        return await self.status.write_over(
            name, self.executions.cache.get(name), patch, only_if_changed=only_if_changed
        )
