"""Async toolkit code for blocking callers: a private event loop on a thread of its own.

The blocking twins that are not generated (the log multiplexer, the status resolver, the
condition monitor) run the async implementation on a :class:`LoopThread` rather than being
written twice: calls wait for a coroutine's result, iteration pulls an async generator one item
at a time, and closing ends what is still running there before the thread goes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Coroutine, Generator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .client import AsyncKubeClient, KubeClient

__all__ = ["LoopThread", "async_twin"]

T = TypeVar("T")
_DONE = object()


def async_twin(client: KubeClient) -> AsyncKubeClient:
    """An async client for the same connection, settings, namespace and discovery cache."""
    from .client import AsyncKubeClient

    return AsyncKubeClient(
        client.connection,
        client.settings,
        namespace=client.namespace,
        _resources=client._core.resources,
    )


class LoopThread:
    """An event loop running on a daemon thread until :meth:`close`."""

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the loop and wait for its result (or exception).

        An interruption of the waiting thread (KeyboardInterrupt) cancels the coroutine.
        """
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def iterate(self, generator: AsyncGenerator[T, None]) -> Generator[T, None, None]:
        """The items of ``generator``, pulled one at a time; closing this (or breaking out of
        a loop over it) closes ``generator`` on the loop."""
        pump = _Pump(generator)
        try:
            while True:
                item = self.call(pump.next())
                if item is _DONE:
                    return
                yield item
        finally:
            if not self._loop.is_closed():
                self.call(pump.close())

    def close(self) -> None:
        """Stop the loop and its thread (what still runs there is cancelled first)."""
        if self._loop.is_closed():
            return
        if self._thread.is_alive():
            try:
                self.call(_cancel_the_rest())
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()


class _Pump:
    """Steps an async generator from another thread, and closes it even mid-step."""

    def __init__(self, generator: AsyncGenerator[Any, None]) -> None:
        self._generator = generator
        self._step: asyncio.Task[Any] | None = None

    async def next(self) -> Any:
        self._step = asyncio.current_task()
        try:
            return await self._generator.__anext__()
        except StopAsyncIteration:
            return _DONE
        finally:
            self._step = None

    async def close(self) -> None:
        step = self._step
        if step is not None:  # a step interrupted by its caller: let it unwind first
            step.cancel()
            await asyncio.wait([step])
        await self._generator.aclose()


async def _cancel_the_rest() -> None:
    current = asyncio.current_task()
    others = [task for task in asyncio.all_tasks() if task is not current]
    for task in others:
        task.cancel()
    if others:
        await asyncio.wait(others)
