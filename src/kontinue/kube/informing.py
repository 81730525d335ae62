"""A lean informer: one kind in one namespace, cached, with a callback per change.

The worker reacts to single objects (this child finished, that suspension was resumed), so it
needs per-object events rather than the Accumulator's coalesced snapshots; and with thousands of
executions it must not rebuild a sorted snapshot per change. This loop lists, then watches from
the list's resourceVersion, re-lists on 410 Gone, reconnects after errors with backoff, and
keeps the cache coherent with the worker's own writes (:meth:`Informer.observe`), so a decision
taken right after a write never sees the state before it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

from ._async_client import AsyncKubeClient
from .errors import Gone

__all__ = ["Informer", "resource_version"]

JSON = dict[str, Any]
Handler = Callable[[str, JSON], None]
"""Called as ``handler(event_type, obj)`` with ``ADDED``, ``MODIFIED`` or ``DELETED``."""

_log = logging.getLogger("kontinue.kube.informing")
_WATCH_SECONDS = 300


def resource_version(obj: JSON) -> int:
    """The resourceVersion of ``obj`` as an integer (0 when absent or not numeric)."""
    text = str((obj.get("metadata") or {}).get("resourceVersion") or "")
    return int(text) if text.isdigit() else 0


class Informer:
    """Keeps ``cache`` (name -> object) of one kind and calls ``handler`` on every change."""

    def __init__(
        self,
        client: AsyncKubeClient,
        kind: str,
        namespace: str,
        handler: Handler,
        *,
        label_selector: str = "",
        on_resync: Callable[[], None] | None = None,
    ) -> None:
        self.kind = kind
        self.namespace = namespace
        self.cache: dict[str, JSON] = {}
        self.ready = asyncio.Event()
        self._client = client
        self._handler = handler
        self._selector = label_selector
        self._on_resync = on_resync

    @property
    def selector(self) -> str:
        """The label selector it lists and watches with ("" for everything)."""
        return self._selector

    def observe(self, obj: JSON) -> None:
        """A write of ours succeeded: take its answer unless the cache already has newer."""
        name = str(obj["metadata"]["name"])
        self._apply("MODIFIED", name, obj)

    def forget(self, name: str) -> None:
        """We deleted ``name``."""
        self.cache.pop(name, None)

    def _apply(self, kind: str, name: str, obj: JSON) -> None:
        current = self.cache.get(name)
        if kind == "DELETED":
            if current is not None and resource_version(obj) >= resource_version(current):
                del self.cache[name]
                self._handler("DELETED", obj)
            return
        if current is not None and resource_version(obj) <= resource_version(current):
            return  # stale: a write of ours (or a later event) is already here
        self.cache[name] = obj
        self._handler("ADDED" if current is None else "MODIFIED", obj)

    async def run(self) -> None:
        """List and watch until cancelled."""
        delay = 0.2
        version = ""
        failed = False
        while True:
            try:
                if not version:
                    version = await self._relist()
                    delay = 0.2
                if failed:
                    failed = False
                    if self._on_resync is not None:
                        self._on_resync()
                version = await self._watch(version)
            except asyncio.CancelledError:
                raise
            except Gone:
                version = ""  # compacted: list again
            except Exception as error:
                _log.warning("watch of %s in %s failed: %s", self.kind, self.namespace, error)
                failed = True
                version = ""  # list again: what happened meanwhile is not in the stream
                await asyncio.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 10.0)

    async def _relist(self) -> str:
        items, version = await self._client.list_with_version(
            self.kind, namespace=self.namespace, label_selector=self._selector
        )
        listed = {str(item["metadata"]["name"]): item for item in items}
        at = int(version) if version.isdigit() else 0
        # Missing from the list is gone only if the cache had it at the list's version: a
        # write of ours answered while the list was on its way is newer than the list (the
        # watch from the list's version brings what becomes of it).
        for name in [
            n for n in self.cache if n not in listed and resource_version(self.cache[n]) <= at
        ]:
            gone = self.cache.pop(name)
            self._handler("DELETED", gone)
        for name, item in listed.items():
            self._apply("ADDED", name, item)
        self.ready.set()
        return version

    async def _watch(self, version: str) -> str:
        async for event in self._client.watch_events(
            self.kind,
            namespace=self.namespace,
            label_selector=self._selector,
            resource_version=version,
            timeout_seconds=_WATCH_SECONDS,
        ):
            obj = event.object
            rv = str((obj.get("metadata") or {}).get("resourceVersion") or "")
            if event.type in ("ADDED", "MODIFIED", "DELETED"):
                self._apply(event.type, str(obj["metadata"]["name"]), obj)
            if rv:
                version = rv
        return version
