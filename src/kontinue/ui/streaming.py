"""Live updates: server-sent event streams relaying Kubernetes watches to the pages.

Each open page holds one stream; the stream holds one watch with the user's credentials and
sends only what changed, already rendered:

* the executions list: a row's new HTML when an execution on the page changes, a count of new
  ones (the page offers to show them), ``reset`` when the watch can no longer follow the list;
* an execution: the sections of its page whose HTML changed (summary, details, resume forms,
  Events) and the state of each tree node that changed (phase, message, number of children),
  at most every :data:`MIN_INTERVAL` seconds however fast the tree changes;
* a Job: its log lines as they are written.

A comment every :data:`HEARTBEAT` seconds keeps proxies from closing an idle stream and tells
the server when the browser has gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from kontinue.client import ExecutionTree
from kontinue.errors import KontinueError
from kontinue.kube import Gone

from .cluster import Cluster, readable_error
from .pages import ListQuery, execution_sections
from .rendering import Renderer
from .views import execution_row, tree_state

__all__ = ["HEARTBEAT", "MIN_INTERVAL", "Streams"]

HEARTBEAT = 15.0
MIN_INTERVAL = 0.25
SECTIONS = ("summary", "details", "suspensions", "events")
log = logging.getLogger("kontinue.ui")


class _Stream:
    """One open event stream."""

    def __init__(self, response: web.StreamResponse) -> None:
        self.response = response

    async def send(self, event: str, data: Any) -> None:
        payload = json.dumps(data, separators=(",", ":"), default=str)
        await self.response.write(f"event: {event}\ndata: {payload}\n\n".encode())

    async def beat(self) -> None:
        await self.response.write(b": keep-alive\n\n")


async def _open(request: web.Request) -> _Stream:
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    return _Stream(response)


async def _relay(stream: _Stream, source: AsyncIterator[tuple[str, Any]]) -> None:
    """Send what ``source`` yields, with heartbeats while it is quiet, until the browser goes
    (a write fails) or the source ends."""
    queue: asyncio.Queue[tuple[str, Any] | None] = asyncio.Queue(maxsize=64)

    async def pump() -> None:
        try:
            async for item in source:
                await queue.put(item)
        except KontinueError as error:
            await queue.put(("failed", {"message": readable_error(error)}))
        finally:
            await queue.put(None)

    task = asyncio.create_task(pump(), name="kontinue-ui-stream")
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), HEARTBEAT)
            except TimeoutError:
                await stream.beat()
                continue
            if item is None:
                return
            await stream.send(*item)
    except ConnectionResetError:
        pass  # the browser left
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


class Streams:
    """The event-stream handlers."""

    def __init__(self, cluster: Cluster, renderer: Renderer) -> None:
        self.cluster = cluster
        self.render = renderer

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/ns/{ns}/live/executions", self.executions),
            web.get("/ns/{ns}/live/executions/{name}", self.execution),
            web.get("/ns/{ns}/live/jobs/{name}", self.job),
        ]

    async def executions(self, request: web.Request) -> web.StreamResponse:
        ns = request.match_info["ns"]
        query = ListQuery.from_request(request)
        where = query.where()
        version = request.query.get("rv", "")
        stream = await _open(request)

        async def source() -> AsyncIterator[tuple[str, Any]]:
            try:
                async for kind, execution in self.cluster.watch_executions(
                    ns, where.selector, version
                ):
                    name = execution.metadata.name or ""
                    if kind == "DELETED":
                        yield "deleted", {"name": name}
                    elif not where.matches(execution):
                        continue
                    elif kind == "ADDED":  # created after the page's list was read
                        yield "added", {"name": name}
                    else:
                        row = execution_row(execution)
                        html = self.render.html("_row.html", row=row, selectable=True, namespace=ns)
                        yield "row", {"name": name, "html": html}
            except Gone:
                yield "reset", {"message": readable_error(Gone(410, {}))}

        await _relay(stream, source())
        return stream.response

    async def execution(self, request: web.Request) -> web.StreamResponse:
        ns, name = request.match_info["ns"], request.match_info["name"]
        stream = await _open(request)

        async def source() -> AsyncIterator[tuple[str, Any]]:
            sent_sections: dict[str, str] = {}
            sent_nodes: dict[str, Any] = {}
            async for update in _coalesced(self.cluster.watch_tree(ns, name)):
                if update is None:
                    yield "gone", {"message": f"execution {name} is gone"}
                    return
                if isinstance(update, Exception):
                    yield "problem", {"message": readable_error(update)}
                    continue
                context = await execution_sections(self.cluster, ns, update)
                context["namespace"] = ns
                for section in SECTIONS:
                    html = self.render.html(f"execution/_{section}.html", **context)
                    if sent_sections.get(section) != html:
                        yield "section", {"id": section, "html": html}
                        sent_sections[section] = html
                # The first tree may already differ from the page (read a moment before): it
                # is sent whole, then only what changes.
                state = tree_state(update, ns)
                changed = {k: v for k, v in state.items() if sent_nodes.get(k) != v}
                if changed:
                    yield "nodes", changed
                sent_nodes = state
                if update.archived:
                    yield "gone", {"message": f"execution {name} was archived"}
                    return

        await _relay(stream, source())
        return stream.response

    async def job(self, request: web.Request) -> web.StreamResponse:
        ns, name = request.match_info["ns"], request.match_info["name"]
        try:
            skip = max(0, int(request.query.get("skip", "0")))
        except ValueError:
            skip = 0
        stream = await _open(request)

        async def source() -> AsyncIterator[tuple[str, Any]]:
            seen = 0
            async for line in self.cluster.job_logs(ns, name, follow=True):
                seen += 1
                if seen > skip:
                    yield "lines", [line]
            yield "end", {}

        await _relay(stream, source())
        return stream.response


async def _coalesced(
    updates: AsyncIterator[Any],
) -> AsyncIterator[ExecutionTree | Exception | None]:
    """The newest tree at most every :data:`MIN_INTERVAL` seconds (a burst of changes is one
    update), watch errors as they come, and None when the execution is gone."""
    latest: list[Any] = []
    ready = asyncio.Event()
    finished = False

    async def read() -> None:
        nonlocal finished
        try:
            async for update in updates:
                if update.error is not None:
                    latest.append(update.error)
                else:
                    latest[:] = [e for e in latest if isinstance(e, Exception)]
                    latest.append(update.tree)
                ready.set()
        finally:
            finished = True
            ready.set()

    task = asyncio.create_task(read(), name="kontinue-ui-tree-watch")
    try:
        while True:
            await ready.wait()
            ready.clear()
            items, latest[:] = list(latest), []
            for item in items:
                yield item
            if finished and not latest:
                if task.done() and task.exception() is not None:
                    error = task.exception()
                    assert error is not None
                    yield error if isinstance(error, Exception) else None
                yield None
                return
            await asyncio.sleep(MIN_INTERVAL)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
