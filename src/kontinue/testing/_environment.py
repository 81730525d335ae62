"""WorkflowEnvironment: a dev server, a clock you control, and workers, for tests.

Everything is real: the embedded API server speaks HTTP on a loopback port, the worker runs the
same code as in a cluster, on its own event loop in a background thread, and the test starts and
steers executions with the product's own :class:`~kontinue.client.Client`. Only time is fake:
the server and the workers share a :class:`~kontinue.clock.ManualClock`, so a one-hour sleep
ends when the test calls :meth:`WorkflowEnvironment.advance` (or lets :meth:`wait` skip ahead).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from kontinue.api import (
    TERMINAL_PHASES,
    ChildPolicy,
    Execution,
    ExecutionMutex,
    ExecutionPhase,
    ExecutionRetry,
    ExecutionTimeout,
    ExecutionTTL,
    Suspension,
    SuspensionKind,
)
from kontinue.client import Client
from kontinue.clock import ManualClock
from kontinue.kube import KubeClient, KubeSettings, NotFound
from kontinue.sdk._functions import function_def
from kontinue.worker import Worker, WorkerSettings

from ._accounts import Identities
from ._waiting import eventually
from ._workers import Intercept, RunningWorker

__all__ = ["TestServer", "WorkflowEnvironment"]


@dataclass(frozen=True)
class TestServer:
    """The session's API server: where its kubeconfig is, and the clock the workers use
    (which the embedded dev server shares; a cluster keeps its own)."""

    __test__ = False  # not a test class, despite the name

    kubeconfig: str
    clock: ManualClock
    embedded: bool = True


_FAST = KubeSettings(qps=0, burst=1)


class WorkflowEnvironment:
    """One namespace on a dev server (or a cluster), with its clock; see the module
    documentation.

    :attr:`client` is a :class:`kontinue.client.Client`, as a user's program would make one;
    :attr:`kube` is its Kubernetes client, for anything else a user may do (a ScheduledExecution
    applied as YAML, Events to look at). Both act as :attr:`kubeconfig`: a user bound to the
    ``kontinue-user`` role, workers run as the worker's ServiceAccount
    (:attr:`worker_kubeconfig`) and :attr:`viewer_kubeconfig` may only look, when
    ``identities`` are given (on a cluster that authorizes requests); otherwise all three are
    ``kubeconfig``, which stays :attr:`admin_kubeconfig` (and :attr:`admin`).
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
        #: The product's client, as the user (start, wait for and steer executions).
        self.client = Client.from_kubeconfig(self.kubeconfig, namespace=namespace, qps=0)
        #: The user's Kubernetes client (the one :attr:`client` uses).
        self.kube: KubeClient = self.client.kube
        #: The admin's Kubernetes client, for what a test sets up outside kontinue's roles
        #: (Secrets a workflow reads, a look at Leases).
        self.admin = KubeClient.from_kubeconfig(
            self.admin_kubeconfig, namespace=namespace, settings=_FAST
        )
        self._workers: list[RunningWorker] = []

    # Workers ---------------------------------------------------------------------------------

    def start_worker(
        self,
        worker: Worker,
        *,
        settings: WorkerSettings | None = None,
        intercept: Intercept | None = None,
        active: bool = True,
    ) -> RunningWorker:
        """Run ``worker`` in this namespace on the environment's clock until :meth:`close`
        (or the returned handle's ``stop``); returns once it may run executions, or at once
        with ``active=False`` (a replica that should wait as a follower). Every request it
        sends goes through ``intercept(request, send)`` when given: a test can look at, hold
        back or fail them (see :class:`~kontinue.kube.AsyncMockTransport`)."""
        worker.namespace = self.namespace
        worker.clock = self.clock
        base = settings or worker.settings
        worker.settings = replace(base, kube=replace(base.kube, qps=0))
        running = RunningWorker(
            worker, self.worker_kubeconfig, self.namespace, intercept=intercept
        ).start(active=active)
        self._workers.append(running)
        return running

    @contextlib.contextmanager
    def running(self, worker: Worker, **options: Any) -> Iterator[RunningWorker]:
        """``with env.running(worker):`` runs the worker for the block (options as
        :meth:`start_worker`)."""
        handle = self.start_worker(worker, **options)
        try:
            yield handle
        finally:
            handle.stop()
            self._workers.remove(handle)

    def settled(self, *, timeout: float = 10.0) -> None:
        """Wait until every running worker has nothing left to do (see
        :meth:`RunningWorker.settled`): the barrier before asserting that something did
        *not* happen."""
        for handle in list(self._workers):
            if not handle.stopped:
                handle.settled(timeout=timeout)

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

    # Executions (through the client, as a user starts and steers them) -----------------------

    def execute(
        self,
        function: Any,
        args: Any = None,
        *,
        name: str | None = None,
        retry: ExecutionRetry | None = None,
        timeout: ExecutionTimeout | None = None,
        ttl: ExecutionTTL | None = None,
        mutex: str | ExecutionMutex | None = None,
        labels: dict[str, str] | None = None,
    ) -> str:
        """Start an execution of ``function`` (a name or a registered function object) with
        :meth:`Client.spawn <kontinue.client.Client.spawn>`, as a user would: a worker must
        have published the function, and the arguments are checked against its schema.
        Returns the execution's name."""
        definition = None if isinstance(function, str) else function_def(function)
        if definition is None and not isinstance(function, str):
            raise TypeError(f"{function!r} is not a registered workflow function")
        function_name = definition.name if definition is not None else str(function)
        execution = self.client.spawn(
            function_name,
            args,
            name=name,
            retry=retry,
            timeout=timeout,
            ttl=ttl,
            mutex=mutex,
            labels=labels,
        )
        return execution.metadata.name or ""

    def get(self, name: str) -> Execution:
        """The Execution as it is now."""
        return self.client.get(name)

    def children(self, name: str) -> list[Execution]:
        """The direct children of an execution, in creation order."""
        return self.client.children(name)

    def suspensions(self, execution: str | None = None) -> list[Suspension]:
        """The Suspensions of one execution (or of the namespace)."""
        return self.client.suspensions(execution)

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
        seen: list[Execution] = []

        def reached() -> Execution | None:
            try:
                execution = self.get(name)
            except NotFound:  # not created yet (a child, a scheduled run): keep waiting
                return None
            seen[:] = [execution]
            if execution.status.phase in phases and (until is None or until(execution)):
                return execution
            if skip_sleeps:
                self._skip_to_next_sleep()
            return None

        try:
            return eventually(reached, timeout=timeout, interval=0.01)
        except TimeoutError:
            if not seen:
                self.get(name)  # raises NotFound
            execution = seen[0]
            raise TimeoutError(
                f"execution {name} is {execution.status.phase.value} after {timeout}s "
                f"(wanted {', '.join(sorted(p.value for p in phases))}): "
                f"{execution.status.message or 'no message'}"
            ) from None

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

        def waiting() -> Suspension | None:
            for suspension in self.suspensions(execution):
                if suspension.is_waiting and (wanted is None or suspension.spec.kind == wanted):
                    return suspension
            return None

        what = f"{wanted.value} suspension" if wanted else "suspension"
        return eventually(
            waiting, timeout=timeout, interval=0.01, what=f"a waiting {what} of {execution}"
        )

    def resume(self, suspension: str, data: Any = None, *, by: str | None = None) -> Suspension:
        """Resume a waiting Suspension with optional ``data`` (checked against its schema
        first), as :meth:`Client.resume_suspension
        <kontinue.client.Client.resume_suspension>` does."""
        return self.client.resume_suspension(suspension, data, by=by)

    def cancel(self, name: str, reason: str | None = None) -> Execution:
        """Ask for a running execution to be canceled (:meth:`Client.cancel
        <kontinue.client.Client.cancel>`)."""
        return self.client.cancel(name, message=reason)

    def skip(self, name: str, result: Any = None, reason: str | None = None) -> Execution:
        """End a running execution as Skipped with ``result`` (:meth:`Client.skip
        <kontinue.client.Client.skip>`)."""
        return self.client.skip(name, result=result, message=reason)

    def retry(self, name: str, child_policy: ChildPolicy | str = ChildPolicy.NONE) -> Execution:
        """Run a Failed or Canceled execution again (:meth:`Client.retry
        <kontinue.client.Client.retry>`)."""
        return self.client.retry(name, child_policy=child_policy)
