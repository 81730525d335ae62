"""A worker running for a test: on its own event loop in a thread, with a settled barrier.

A test often needs to know that *nothing more* will happen: that the worker has seen what the
test wrote, acted on it and has nothing left to do until the clock moves or someone writes
again. :meth:`RunningWorker.settled` waits for exactly that instead of sleeping and hoping.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from kontinue.kube import (
    AsyncKubeClient,
    AsyncMockTransport,
    KubeClient,
    KubeSettings,
    Request,
    Response,
)
from kontinue.worker import Worker

from ._waiting import eventually

__all__ = ["Intercept", "RunningWorker"]

T = TypeVar("T")
JSON = dict[str, Any]

Intercept = Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]
"""``await intercept(request, send)``: sees every request a worker sends (watches aside) and
answers it, usually by passing it on with ``await send(request)`` (see
:class:`~kontinue.kube.AsyncMockTransport`)."""

# Tasks that live as long as the worker: they wait for the server or the clock, not for work.
_LONG_LIVED = (
    "kontinue-watch-",
    "kontinue-timers",
    "kontinue-lease-timers",
    "kontinue-loop-heartbeat",
    "kontinue-testing-",
)
ServerState = dict[str, dict[str, str]]
"""kind -> {name: resourceVersion} of what a worker watches, as the server has it."""


class RunningWorker:
    """A worker running on its own event loop in a daemon thread (see
    :meth:`~kontinue.testing.WorkflowEnvironment.running`)."""

    def __init__(
        self,
        worker: Worker,
        kubeconfig: str,
        namespace: str,
        *,
        intercept: Intercept | None = None,
    ) -> None:
        self.worker = worker
        self._kubeconfig = kubeconfig
        self._namespace = namespace
        self._intercept = intercept
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._main, daemon=True, name="kontinue-worker")
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._lister: KubeClient | None = None
        self._until_active = True

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
        settings = self.worker.settings.kube
        client = AsyncKubeClient.from_kubeconfig(
            self._kubeconfig, namespace=self._namespace, settings=settings
        )
        if self._intercept is not None:
            transport = AsyncMockTransport(self._intercept, client.transport)
            client = AsyncKubeClient(
                client.connection, settings, namespace=self._namespace, transport=transport
            )
        self._task = asyncio.current_task()
        runner = asyncio.create_task(self.worker.run(client), name="kontinue-testing-worker")
        try:
            await asyncio.sleep(0)  # Worker.run makes its engine before its first await
            leading = asyncio.create_task(
                self.worker.engine.active.wait(), name="kontinue-testing-started"
            )
            if self._until_active:
                await asyncio.wait({leading, runner}, return_when=asyncio.FIRST_COMPLETED)
            leading.cancel()
            if runner.done():
                runner.result()
            self._started.set()
            await runner
        except asyncio.CancelledError:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        finally:
            await client.close()

    def start(self, timeout: float = 30.0, *, active: bool = True) -> RunningWorker:
        """Start the thread; returns once the worker may run executions (it leads), or with
        ``active=False`` once it runs (a second replica that should stay a follower)."""
        self._until_active = active
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError("the worker did not become leader in time")
        if self._error is not None:
            raise self._error
        return self

    @property
    def stopped(self) -> bool:
        """Whether the worker has stopped (or never started)."""
        return not self._thread.is_alive()

    def stop(self) -> None:
        """Stop the worker (its runs are cancelled; their state stays in the resources);
        stopping it again does nothing."""
        task = self._task
        if task is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(task.cancel)
        if self._thread.ident is not None:
            self._thread.join(timeout=30)
        if self._lister is not None:
            self._lister.close()
            self._lister = None
        error = self._error
        if error is not None and not isinstance(error, asyncio.CancelledError):
            raise error

    # On the worker's loop -------------------------------------------------------------------

    def call(self, fn: Callable[..., T], *args: Any, timeout: float = 10.0) -> T:
        """``fn(*args)`` called on the worker's event loop (where the worker's objects may be
        touched safely); returns its result once it has run."""
        return self.run(_called(fn, args), timeout=timeout)

    def run(self, coroutine: Coroutine[Any, Any, T], *, timeout: float = 10.0) -> T:
        """``coroutine`` run to its end on the worker's event loop; returns its result."""
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("already on the worker's loop: await it there instead")
        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(
            _named(coroutine), self._loop
        )
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"not done on the worker's loop within {timeout:g} s") from None

    # Settling -------------------------------------------------------------------------------

    def settled(self, *, timeout: float = 10.0) -> None:
        """Wait until the worker has nothing left to do: it has seen everything the server
        holds of what it watches, its due timers have fired, no reconcile, status write,
        Event or request of its own is pending, and every run it holds waits (for a
        Suspension, a child, a Job or the clock); and nothing it watches changed meanwhile.

        What happens next happens because the test moves the clock or writes something (or
        a Job's pod ends). A worker that retries after an error does so on real time: that
        retry is not waited for.
        """
        if self._lister is None:
            self._lister = KubeClient.from_kubeconfig(
                self._kubeconfig, namespace=self._namespace, settings=KubeSettings(qps=0)
            )
        lister = self._lister
        last: list[str] = ["not looked at yet"]

        def calm() -> bool:
            before = self._server_state(lister)
            busy = self.run(self._busy(before))
            if busy is not None:
                last[0] = busy
                return False
            if self._server_state(lister) != before:
                last[0] = "what it watches changed meanwhile"
                return False
            return True

        try:
            eventually(calm, timeout=timeout, what="the worker to settle")
        except TimeoutError:
            raise TimeoutError(
                f"the worker did not settle within {timeout:g} s: {last[0]}"
            ) from None

    def _informers(self) -> list[Any]:
        """The worker's informers (its engine's and its controllers')."""
        return list(self.worker.engine.informers)

    def _server_state(self, lister: KubeClient) -> ServerState:
        state: ServerState = {}
        for informer in self._informers():
            items = lister.list(
                informer.kind,
                namespace=informer.namespace,
                label_selector=informer.selector,
            )
            state[informer.kind] = {
                str(item["metadata"]["name"]): str(item["metadata"].get("resourceVersion", ""))
                for item in items
            }
        return state

    async def _busy(self, server: ServerState) -> str | None:
        """Why the worker is not settled (None when it is), looked at on its loop."""
        engine = self.worker.engine
        due: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def fired() -> None:
            if not due.done():
                due.set_result(None)

        engine.timers.at(engine.clock.now(), fired)
        await due  # timers fire in order: every timer due by now has fired
        await asyncio.sleep(0)
        for informer in self._informers():
            behind = _behind(informer.cache, server.get(informer.kind, {}))
            if behind:
                return f"it has not seen {informer.kind} {behind} yet"
        busy: str | None = engine.busy()
        if busy is not None:
            return busy
        waiting = {run.task for run in engine.runs.values()}  # blocked, as seen above
        current = asyncio.current_task()
        for task in asyncio.all_tasks():
            if task in (current, self._task) or task in waiting or task.done():
                continue
            if not task.get_name().startswith(_LONG_LIVED):
                coroutine = task.get_coro()
                what = getattr(coroutine, "__qualname__", repr(coroutine))
                return f"task {task.get_name()} ({what}) is pending"
        return None


def _behind(cache: dict[str, JSON], server: dict[str, str]) -> str | None:
    """A name whose state on the server the cache has not caught up with, if any."""
    for name, version in server.items():
        held = cache.get(name)
        if held is None or _version(held) < _number(version):
            return name
    for name in cache:
        if name not in server:
            return name  # deleted on the server (or created since the listing: asked again)
    return None


def _number(version: str) -> int:
    return int(version) if version.isdigit() else 0


def _version(obj: JSON) -> int:
    return _number(str((obj.get("metadata") or {}).get("resourceVersion") or ""))


async def _called(fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    return fn(*args)


async def _named(coroutine: Coroutine[Any, Any, T]) -> T:
    task = asyncio.current_task()
    if task is not None:
        task.set_name("kontinue-testing-call")
    return await coroutine
