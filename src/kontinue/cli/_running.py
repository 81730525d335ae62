"""Running the long-lived commands' event loops, and workers under supervision.

``kontinue worker`` and ``kontinue dev --worker`` both run workers until SIGINT/SIGTERM and
watch them while they run: a worker that stops by itself (it cannot reach the API server, its
RBAC is missing, a bug) stops the command with its error instead of leaving it running without
a worker.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from kontinue.kube import AsyncKubeClient
from kontinue.worker import Worker

__all__ = ["WorkerStopped", "new_loop", "run_loop", "run_workers", "stop_on_signals"]


class WorkerStopped(Exception):
    """A worker ended without being asked to (its run returned)."""


def new_loop() -> asyncio.AbstractEventLoop:
    """A uvloop event loop (asyncio's where uvloop is missing)."""
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is installed everywhere we support
        return asyncio.new_event_loop()


def run_loop(main: Coroutine[Any, Any, Any]) -> None:
    """Run ``main`` on uvloop (asyncio's loop where uvloop is missing)."""
    try:
        import uvloop

        uvloop.run(main)
    except ImportError:  # pragma: no cover - uvloop is installed everywhere we support
        asyncio.run(main)


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, handled from now on (not killed by them)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def run_workers(
    workers: list[Worker],
    make_client: Callable[[Worker], AsyncKubeClient],
    stop: asyncio.Event | None = None,
) -> None:
    """Run ``workers`` until ``stop`` is set (by default: until SIGINT/SIGTERM), then stop
    them cleanly (leases released). A worker that ends first stops the others and raises its
    error (:class:`WorkerStopped` when it ended without one)."""
    if stop is None:
        stop = stop_on_signals()
    clients = [make_client(w) for w in workers]
    tasks = [
        asyncio.create_task(w.run(c), name=f"worker-{w.group}")
        for w, c in zip(workers, clients, strict=True)
    ]
    waiter = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        waiter.cancel()
        for client in clients:
            await client.close()
    for worker, task, result in zip(workers, tasks, results, strict=True):
        if isinstance(result, Exception):
            raise result
        if task in done and waiter not in done:
            raise WorkerStopped(f"worker group {worker.group!r} stopped by itself")
