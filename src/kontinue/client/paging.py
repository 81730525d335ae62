"""Executions a page at a time, for lists too long to read whole (a UI, ``--limit``).

:meth:`AsyncClient.list <kontinue.client.AsyncClient.list>` reads every matching execution; a
namespace with 10,000 of them needs pages instead. :func:`list_page` asks the API server for one
page (``limit`` and ``continue``, as ``kubectl get --chunk-size`` does) and, once the live
executions are exhausted, goes on with the archived ones, so that a reader walking the pages
sees both. Pages come in the API server's order (by name), the only order it can page in.

Filters the API server cannot apply (the phase, part of the name) are applied to the pages it
answers: a page holds ``limit`` matches unless the list ended or ``max_scan`` objects were read
first; the next page goes on from the object after its last one, even inside a server page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from kontinue.api import Execution, ExecutionPhase
from kontinue.kube.errors import error_from_response

from ._async_client import AsyncClient
from ._core import ARCHIVES, EXECUTIONS, archived_executions, execution_selector, group_archives

__all__ = ["ARCHIVED_PREFIX", "ExecutionFilter", "ExecutionPage", "list_page", "phases_of"]

SCAN_PAGE = 500
"""Objects per server page while filters are applied here (the phase, part of the name)."""

ARCHIVED_PREFIX = "archived:"
"""Continue tokens of archived pages start with this (the API server's tokens never do)."""


@dataclass(frozen=True)
class ExecutionFilter:
    """Which executions a page holds; every field given must match."""

    function: str | None = None
    worker_group: str | None = None
    label_selector: str | None = None
    only_root: bool = False
    phases: frozenset[ExecutionPhase] = frozenset()
    name_contains: str = ""
    """Part of the name (case-insensitive)."""
    include_archived: bool = True

    @property
    def selector(self) -> str:
        """The label selector the API server applies."""
        return execution_selector(
            function=self.function,
            worker_group=self.worker_group,
            label_selector=self.label_selector,
            only_root=self.only_root,
        )

    @property
    def scans(self) -> bool:
        """Whether some filter is applied here rather than by the API server."""
        return bool(self.phases or self.name_contains.strip())

    def matches(self, execution: Execution) -> bool:
        """Whether ``execution`` passes the filters the API server does not apply."""
        return self._matches(execution.status.phase.value, execution.metadata.name or "")

    def matches_json(self, obj: dict[str, Any]) -> bool:
        """:meth:`matches` for an Execution as JSON (no model is built for those left out)."""
        phase = str((obj.get("status") or {}).get("phase") or ExecutionPhase.PENDING.value)
        return self._matches(phase, str((obj.get("metadata") or {}).get("name") or ""))

    def _matches(self, phase: str, name: str) -> bool:
        if self.phases and phase not in {p.value for p in self.phases}:
            return False
        wanted = self.name_contains.strip().lower()
        return not wanted or wanted in name.lower()


@dataclass(frozen=True)
class ExecutionPage:
    """One page: its executions, where the next one starts, and what the list was."""

    items: list[Execution]
    continue_token: str = ""
    """Pass it back for the next page; empty after the last one."""
    resource_version: str = ""
    """The live list's resourceVersion, where a watch for changes to it starts (empty for an
    archived page)."""
    archived: bool = False
    """True when the items come from ArchivedExecutions."""
    scanned: int = 0
    """How many objects were read for this page (matching or not)."""
    remaining: int | None = None
    """The API server's estimate of live objects after this page, when it gives one."""


async def list_page(
    client: AsyncClient,
    *,
    namespace: str | None = None,
    limit: int = 100,
    continue_token: str = "",
    where: ExecutionFilter | None = None,
    max_scan: int = 5000,
) -> ExecutionPage:
    """One page of the executions matching ``where``, starting at ``continue_token``.

    Raises :class:`~kontinue.kube.Gone` when a live continue token expired (the list changed
    too much since: start again from the first page), and what listing raises otherwise.
    """
    chosen = where or ExecutionFilter()
    ns = namespace or client.namespace
    if continue_token.startswith(ARCHIVED_PREFIX):
        offset = int(continue_token.removeprefix(ARCHIVED_PREFIX) or 0)
        return await _archived_page(client, ns, chosen, offset, limit)
    info = await client.kube.resource_info(EXECUTIONS)
    # Filters applied here read bigger server pages: fewer requests for the same objects.
    size, skip, token = _position(continue_token, max(limit, SCAN_PAGE) if chosen.scans else limit)
    found: list[Execution] = []
    version, scanned, remaining, following = "", 0, None, ""
    while True:
        query = {"limit": str(size)}
        if chosen.selector:
            query["labelSelector"] = chosen.selector
        if token:
            query["continue"] = token
        answer = await client.kube.raw("GET", info.path(ns), query)
        if answer.status >= 400:
            raise error_from_response(answer.status, answer.body)
        page: dict[str, Any] = orjson.loads(answer.body)
        meta = page.get("metadata") or {}
        version = version or str(meta.get("resourceVersion") or "")
        following = str(meta.get("continue") or "")
        left = meta.get("remainingItemCount")
        remaining = int(left) if isinstance(left, int) else None
        items = (page.get("items") or [])[skip:]
        for index, item in enumerate(items):
            scanned += 1
            if chosen.matches_json(item):
                item.setdefault("apiVersion", info.api_version)
                item.setdefault("kind", info.kind)
                found.append(Execution.model_validate(item))
            if len(found) >= limit and index + 1 < len(items):
                # The page is full before the server's page ends: the next one starts here.
                following = f"{_AT}{size}:{skip + index + 1}:{token}"
                break
        else:
            skip, token = 0, following
            if token and len(found) < limit and scanned < max_scan:
                continue
        break
    token = following
    if not token and chosen.include_archived and await _has_archives(client, ns):
        token = f"{ARCHIVED_PREFIX}0"
    return ExecutionPage(found, token, version, False, scanned, remaining)


_AT = "at:"
"""Continue tokens that resume inside a server page: ``at:<page size>:<skip>:<token>``."""


def _position(continue_token: str, size: int) -> tuple[int, int, str]:
    """The server page size, the items to skip in it and the server's token to ask with."""
    if continue_token.startswith(_AT):
        given, skip, token = continue_token.removeprefix(_AT).split(":", 2)
        return int(given), int(skip), token
    return size, 0, continue_token


async def _has_archives(client: AsyncClient, namespace: str) -> bool:
    info = await client.kube.resource_info(ARCHIVES)
    answer = await client.kube.raw("GET", info.path(namespace), {"limit": "1"})
    if answer.status == 404:
        return False
    if answer.status >= 400:
        raise error_from_response(answer.status, answer.body)
    return bool(orjson.loads(answer.body).get("items"))


async def _archived_page(
    client: AsyncClient, namespace: str, where: ExecutionFilter, offset: int, limit: int
) -> ExecutionPage:
    from kontinue.kube.selectors import LabelSelector

    items = await client.kube.list(ARCHIVES, namespace=namespace)
    wanted = LabelSelector.parse(where.selector) if where.selector else None
    found: list[Execution] = []
    for _, parts in sorted(group_archives(items).items()):
        for obj in archived_executions(parts)["executions"]:
            obj_labels = (obj.get("metadata") or {}).get("labels") or {}
            if wanted is not None and not wanted.matches(obj_labels):
                continue
            execution = Execution.model_validate(obj)
            if where.matches(execution):
                found.append(execution)
    found.sort(key=lambda e: e.metadata.name or "")
    window = found[offset : offset + limit]
    end = offset + len(window)
    token = f"{ARCHIVED_PREFIX}{end}" if end < len(found) else ""
    return ExecutionPage(window, token, "", True, len(found), len(found) - end)


def phases_of(values: Sequence[str]) -> frozenset[ExecutionPhase]:
    """The phases named in ``values`` (unknown names are left out)."""
    known = {p.value.lower(): p for p in ExecutionPhase}
    return frozenset(known[v.lower()] for v in values if v.lower() in known)
