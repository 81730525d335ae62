"""WorkflowEnvironment: a dev server, a clock you control, and workers, for tests.

Everything is real: the embedded API server speaks HTTP on a loopback port, the worker runs the
same code as in a cluster, on its own event loop in a background thread. Only time is fake: the
server and the workers share a :class:`~kontinue.clock.ManualClock`, so a one-hour sleep ends
when the test calls :meth:`WorkflowEnvironment.advance` (or lets :meth:`wait` skip ahead).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from kontinue.api import (
    API_VERSION,
    TERMINAL_PHASES,
    Execution,
    ExecutionPhase,
    ExecutionRetry,
    ExecutionTimeout,
    Suspension,
    SuspensionKind,
    format_time,
    labels,
)
from kontinue.clock import ManualClock
from kontinue.kube import AsyncKubeClient, KubeClient, KubeSettings, NotFound
from kontinue.sdk._functions import function_def
from kontinue.worker import Worker, WorkerSettings

from ._accounts import Identities

__all__ = ["RunningWorker", "TestServer", "WorkflowEnvironment", "eventually"]

T = TypeVar("T")


def eventually(
    check: Callable[[], T | None], *, timeout: float = 15.0, what: str = "condition"
) -> T:
    """Call ``check`` until it returns something truthy (and return that), for at most
    ``timeout`` seconds of real time: the way to wait for the cluster to converge without a
    fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout} s")
        time.sleep(0.02)


@dataclass(frozen=True)
class TestServer:
    """The session's API server: where its kubeconfig is, and the clock the workers use
    (which the embedded dev server shares; a cluster keeps its own)."""

    __test__ = False  # not a test class, despite the name

    kubeconfig: str
    clock: ManualClock
    embedded: bool = True


EXECUTIONS = "executions.kontinue.cloud"
SUSPENSIONS = "suspensions.kontinue.cloud"
_FAST = KubeSettings(qps=0, burst=1)


class RunningWorker:
    """A worker running on its own event loop in a daemon thread."""

    def __init__(self, worker: Worker, kubeconfig: str, namespace: str) -> None:
        self.worker = worker
        self._kubeconfig = kubeconfig
        self._namespace = namespace
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._main, daemon=True, name="kontinue-worker")
        self._started = threading.Event()
        self._error: BaseException | None = None

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as error:  # reported by stop()
            self._error = error
        finally:
            self._started.set()
            self._loop.close()

    async def _serve(self) -> None:
        client = AsyncKubeClient.from_kubeconfig(
            self._kubeconfig, namespace=self._namespace, settings=self.worker.settings.kube
        )
        self._task = asyncio.current_task()
        runner = asyncio.create_task(self.worker.run(client))
        try:
            await asyncio.sleep(0)  # Worker.run makes its engine before its first await
            leading = asyncio.create_task(self.worker.engine.active.wait())
            done, _ = await asyncio.wait({leading, runner}, return_when=asyncio.FIRST_COMPLETED)
            if runner in done:
                runner.result()
            self._started.set()
            await runner
        except asyncio.CancelledError:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        finally:
            await client.close()

    def start(self, timeout: float = 30.0) -> RunningWorker:
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError("the worker did not become leader in time")
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        """Stop the worker (its runs are cancelled; their state stays in the resources)."""
        task = self._task
        if task is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(task.cancel)
        self._thread.join(timeout=30)
        error = self._error
        if error is not None and not isinstance(error, asyncio.CancelledError):
            raise error


class WorkflowEnvironment:
    """One namespace on a dev server (or a cluster), with its clock; see the module
    documentation.

    ``kubeconfig`` (and :attr:`client`) act as a user bound to the ``kontinue-user`` role,
    workers run as the worker's ServiceAccount (:attr:`worker_kubeconfig`) and
    :attr:`viewer_kubeconfig` may only look, when ``identities`` are given (on a cluster that
    authorizes requests); otherwise all three are ``kubeconfig``, which stays
    :attr:`admin_kubeconfig`.
    """

    def __init__(
        self,
        kubeconfig: str,
        namespace: str,
        clock: ManualClock,
        *,
        identities: Identities | None = None,
    ) -> None:
        found = identities or Identities(kubeconfig, kubeconfig, kubeconfig)
        self.admin_kubeconfig = kubeconfig
        self.kubeconfig = found.user
        self.worker_kubeconfig = found.worker
        self.viewer_kubeconfig = found.viewer
        self.namespace = namespace
        self.clock = clock
        self.client = KubeClient.from_kubeconfig(
            self.kubeconfig, namespace=namespace, settings=_FAST
        )
        #: The admin's client, for what a test sets up outside kontinue's roles (Secrets a
        #: workflow reads, a look at Leases).
        self.admin = KubeClient.from_kubeconfig(
            self.admin_kubeconfig, namespace=namespace, settings=_FAST
        )
        self._workers: list[RunningWorker] = []

    # Workers ---------------------------------------------------------------------------------

    def start_worker(
        self, worker: Worker, *, settings: WorkerSettings | None = None
    ) -> RunningWorker:
        """Run ``worker`` in this namespace on the environment's clock until :meth:`close`
        (or the returned handle's ``stop``)."""
        worker.namespace = self.namespace
        worker.clock = self.clock
        base = settings or worker.settings
        worker.settings = replace(base, kube=replace(base.kube, qps=0))
        running = RunningWorker(worker, self.worker_kubeconfig, self.namespace).start()
        self._workers.append(running)
        return running

    @contextlib.contextmanager
    def running(self, worker: Worker, **options: Any) -> Iterator[RunningWorker]:
        """``with env.running(worker):`` runs the worker for the block."""
        handle = self.start_worker(worker, **options)
        try:
            yield handle
        finally:
            handle.stop()
            self._workers.remove(handle)

    def close(self) -> None:
        for handle in self._workers:
            with contextlib.suppress(Exception):
                handle.stop()
        self._workers.clear()
        self.client.close()
        self.admin.close()

    # Time ------------------------------------------------------------------------------------

    def advance(self, delta: timedelta | float) -> datetime:
        """Move the shared clock forward (sleeps, backoffs and timeouts that are due fire)."""
        return self.clock.advance(delta)

    # Executions ------------------------------------------------------------------------------

    def execute(
        self,
        function: Any,
        args: Any = None,
        *,
        name: str | None = None,
        retry: ExecutionRetry | None = None,
        timeout: ExecutionTimeout | None = None,
        group: str | None = None,
    ) -> str:
        """Create an Execution of ``function`` (a name or a registered function object);
        returns its name."""
        definition = function_def(function) if not isinstance(function, str) else None
        function_name = function if isinstance(function, str) else definition.name  # type: ignore[union-attr]
        arguments = definition.dump_arguments(args) if definition else (args or {})
        spec: dict[str, Any] = {"function": function_name, "arguments": arguments}
        if retry is not None:
            spec["retry"] = retry.model_dump(mode="json", by_alias=True, exclude_none=True)
        if timeout is not None:
            spec["timeout"] = timeout.model_dump(mode="json", by_alias=True, exclude_none=True)
        meta: dict[str, Any] = {"name": name or f"{function_name}-{uuid.uuid4().hex[:8]}"}
        meta["labels"] = {
            labels.LABEL_FUNCTION: labels.label_value(function_name, "function"),
            labels.LABEL_ROOT: meta["name"],
        }
        if group is not None or self._workers:
            meta["labels"][labels.LABEL_WORKER_GROUP] = group or self._workers[0].worker.group
        body = {"apiVersion": API_VERSION, "kind": "Execution", "metadata": meta, "spec": spec}
        created = self.client.create(body)
        return str(created["metadata"]["name"])

    def get(self, name: str) -> Execution:
        """The Execution as it is now."""
        return Execution.model_validate(self.client.get(EXECUTIONS, name))

    def children(self, name: str) -> list[Execution]:
        """The direct children of an execution."""
        items = self.client.list(EXECUTIONS, label_selector=f"{labels.LABEL_PARENT}={name}")
        return [Execution.model_validate(item) for item in items]

    def suspensions(self, execution: str | None = None) -> list[Suspension]:
        """The Suspensions of one execution (or of the namespace)."""
        selector = f"{labels.LABEL_PARENT}={execution}" if execution else ""
        items = self.client.list(SUSPENSIONS, label_selector=selector)
        return [Suspension.model_validate(item) for item in items]

    def wait(
        self,
        name: str,
        *,
        phases: set[ExecutionPhase] | frozenset[ExecutionPhase] = TERMINAL_PHASES,
        until: Callable[[Execution], bool] | None = None,
        timeout: float = 10.0,
        skip_sleeps: bool = False,
    ) -> Execution:
        """Wait (real time, at most ``timeout`` seconds) until the execution is in one of
        ``phases`` (by default: ended) and ``until`` (if given) holds. With ``skip_sleeps``,
        whenever nothing but durable sleeps is pending in the namespace, the clock jumps to
        the earliest wake-up."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                execution = self.get(name)
            except NotFound:  # not created yet (a child, a scheduled run): keep waiting
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
                continue
            if execution.status.phase in phases and (until is None or until(execution)):
                return execution
            if skip_sleeps:
                self._skip_to_next_sleep()
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"execution {name} is {execution.status.phase.value} after {timeout}s "
                    f"(wanted {', '.join(sorted(p.value for p in phases))}): "
                    f"{execution.status.message or 'no message'}"
                )
            time.sleep(0.01)

    def _skip_to_next_sleep(self) -> None:
        waiting = [s for s in self.suspensions() if s.is_waiting]
        if not waiting or any(s.spec.resume_at is None for s in waiting):
            return
        earliest = min(s.spec.resume_at for s in waiting if s.spec.resume_at is not None)
        if earliest > self.clock.now():
            self.clock.set(earliest)

    def wait_for_suspension(
        self,
        execution: str,
        *,
        kind: SuspensionKind | str | None = SuspensionKind.MANUAL,
        timeout: float = 10.0,
    ) -> Suspension:
        """The first waiting Suspension of ``execution``, once there is one: by default one
        that waits for a client (``ktx.suspend``, an approval), not a durable sleep; ``kind``
        ``Sleep`` for a sleep, None for either."""
        wanted = SuspensionKind(kind) if kind is not None else None
        deadline = time.monotonic() + timeout
        while True:
            waiting = [
                s
                for s in self.suspensions(execution)
                if s.is_waiting and (wanted is None or s.spec.kind == wanted)
            ]
            if waiting:
                return waiting[0]
            if time.monotonic() > deadline:
                what = f"{wanted.value} suspension" if wanted else "suspension"
                raise TimeoutError(f"execution {execution} had no waiting {what} within {timeout}s")
            time.sleep(0.01)

    # Client requests (plain API writes, as any client makes them) -------------------------

    def resume(self, suspension: str, data: Any = None, *, by: str | None = None) -> None:
        """Ask for a Suspension to resume, with optional data."""
        request: dict[str, Any] = {"data": data, "requestedAt": format_time(self.clock.now())}
        if by:
            request["requestedBy"] = by
        ops = [{"op": "add", "path": "/spec/resume", "value": request}]  # replaces, never merges
        self.client.patch(SUSPENSIONS, ops, name=suspension, type="json")

    def cancel(self, name: str, reason: str | None = None) -> None:
        """Ask for an execution to be canceled."""
        request = {"reason": reason, "requestedAt": format_time(self.clock.now())}
        ops = [{"op": "add", "path": "/spec/cancel", "value": request}]
        self.client.patch(EXECUTIONS, ops, name=name, type="json")

    def skip(self, name: str, result: Any = None, reason: str | None = None) -> None:
        """Ask for an execution to end as Skipped with ``result``."""
        request = {"result": result, "reason": reason}
        ops = [{"op": "add", "path": "/spec/skip", "value": request}]  # keeps nulls in result
        self.client.patch(EXECUTIONS, ops, name=name, type="json")

    def rerun(self, name: str, child_policy: str = "None") -> None:
        """Ask for another run of a Failed or Canceled execution."""
        current = self.get(name)
        count = (current.spec.rerun.count if current.spec.rerun else 0) + 1
        request = {"count": count, "childPolicy": child_policy}
        ops: list[dict[str, Any]] = [{"op": "add", "path": "/spec/rerun", "value": request}]
        ops += [
            {"op": "remove", "path": f"/spec/{key}"}
            for key in ("cancel", "skip")
            if getattr(current.spec, key) is not None
        ]
        self.client.patch(EXECUTIONS, ops, name=name, type="json")
