"""Fan-out of committed changes to watch streams.

The store calls :meth:`WatchHub.publish` synchronously after every commit, on the event loop
thread, so a watcher registered and replayed within one synchronous step can neither miss nor
see twice any change: that is the whole list-then-watch guarantee.

Selectors are applied the way kube-apiserver's watch cache does: an object that stops matching
is reported as ``DELETED`` and one that starts matching as ``ADDED``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from kontinue.kube.selectors import FieldSelector, LabelSelector

from .resources import ResourceType
from .storage import Change

__all__ = ["WATCHER_BYTE_BUDGET", "WatchHub", "Watcher"]

JSON = dict[str, Any]
Encoder = Callable[[str, JSON, bytes], bytes]


#: Bytes of encoded events a watcher may have waiting beyond its initial events: a client that
#: reads slower than changes arrive is cut off (it relists), as kube-apiserver ends a watcher
#: whose buffer stays full, instead of the server holding its backlog without bound.
WATCHER_BYTE_BUDGET = 16 * 1024 * 1024


class Watcher:
    """One watch stream: a filter, an encoder and a queue of encoded lines.

    Its initial events (the current objects, or the changes since the requested version) are
    queued without limit: they are bounded by what the store holds. Once it is live (added to
    the hub), more than ``queue_limit`` waiting events or ``byte_budget`` waiting bytes beyond
    those close it. The reader reports each line it takes with :meth:`taken`.
    """

    def __init__(
        self,
        rt: ResourceType,
        *,
        namespace: str | None,
        labels: LabelSelector | None,
        fields: FieldSelector | None,
        encode: Encoder,
        queue_limit: int = 10_000,
        byte_budget: int = WATCHER_BYTE_BUDGET,
    ) -> None:
        self.rt = rt
        self.namespace = namespace
        self.labels = labels if labels is not None and not labels.empty else None
        self.fields = fields if fields is not None and fields.requirements else None
        self.encode = encode
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.queue_limit = queue_limit
        self.byte_budget = byte_budget
        self.overflowed = False
        self.queued_bytes = 0
        self._live = False
        self._byte_limit = 0
        self._count_limit = 0

    def go_live(self) -> None:
        """From now on the backlog is bounded (beyond the initial events still queued)."""
        self._live = True
        self._byte_limit = self.queued_bytes + self.byte_budget
        self._count_limit = self.queue.qsize() + self.queue_limit

    def taken(self, line: bytes | None) -> None:
        """The reader took ``line`` off the queue."""
        if line:
            self.queued_bytes -= len(line)

    def matches(self, obj: JSON | None) -> bool:
        if obj is None:
            return False
        if self.labels is not None and not self.labels.matches(
            obj.get("metadata", {}).get("labels") or {}
        ):
            return False
        if self.fields is not None:
            values = {name: self.rt.field_value(obj, name) or "" for name in self.fields.fields()}
            return self.fields.matches(values)
        return True

    def send(self, kind: str, obj: JSON, raw: bytes) -> None:
        """Queue one event; a watcher that falls too far behind is closed (clients re-watch)."""
        if self.overflowed:
            return
        line = self.encode(kind, obj, raw)
        if self._live and (
            self.queue.qsize() >= self._count_limit
            or self.queued_bytes + len(line) > self._byte_limit
        ):
            self.overflowed = True
            self.queue.put_nowait(None)
            return
        self.queued_bytes += len(line)
        self.queue.put_nowait(line)

    def offer(self, change: Change) -> None:
        """Filter a committed change into this stream."""
        if self.namespace is not None and change.namespace != self.namespace:
            return
        if self.labels is None and self.fields is None:
            self.send(change.type, change.obj, change.raw)
            return
        now = self.matches(change.obj)
        if change.type == "DELETED":
            if now:
                self.send("DELETED", change.obj, change.raw)
            return
        before = self.matches(change.prev)
        if now:
            self.send("MODIFIED" if before else "ADDED", change.obj, change.raw)
        elif before and change.prev is not None:  # it left the selection: its last match goes
            self.send("DELETED", change.prev, b"")

    def close(self) -> None:
        self.queue.put_nowait(None)


class WatchHub:
    """Registered watchers by storage key."""

    def __init__(self) -> None:
        self._watchers: dict[str, set[Watcher]] = {}

    def add(self, storage_key: str, watcher: Watcher) -> None:
        watcher.go_live()
        self._watchers.setdefault(storage_key, set()).add(watcher)

    def remove(self, storage_key: str, watcher: Watcher) -> None:
        watchers = self._watchers.get(storage_key)
        if watchers is not None:
            watchers.discard(watcher)

    def publish(self, change: Change) -> None:
        for watcher in tuple(self._watchers.get(change.resource, ())):
            watcher.offer(change)

    def close_resource(self, storage_key: str) -> None:
        """End every stream on a resource (its CRD was deleted)."""
        for watcher in self._watchers.pop(storage_key, set()):
            watcher.close()

    def close_all(self) -> None:
        for key in list(self._watchers):
            self.close_resource(key)

    def count(self) -> int:
        return sum(len(w) for w in self._watchers.values())
