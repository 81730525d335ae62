"""Fan-out of committed changes to watch streams.

The store calls :meth:`WatchHub.publish` synchronously after every commit, on the event loop
thread, so a watcher registered within one synchronous step, together with the source of its
initial events, can neither miss nor see twice any change: that is the whole list-then-watch
guarantee.

Memory is bounded by bytes. Initial events are not buffered: they are read (from the objects as
they were at registration, or page by page from the change history) and encoded as the stream
sends them. Live events wait in a queue as references to the stored JSON, encoded only when
sent; a watcher whose waiting events exceed its byte budget (or count) is closed, as
kube-apiserver ends a watcher that cannot keep up, and its client re-watches or relists.

Selectors are applied the way kube-apiserver's watch cache does: an object that stops matching
is reported as ``DELETED`` (its last matching state at the new resourceVersion) and one that
starts matching as ``ADDED``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from kontinue.kube.selectors import FieldSelector, LabelSelector

from .resources import ResourceType
from .storage import Change, Entry

__all__ = ["WATCHER_BYTE_BUDGET", "Encoder", "Event", "WatchHub", "Watcher"]

JSON = dict[str, Any]

#: One watch event: its type and its object's JSON (``b""`` for a BOOKMARK still to render).
Event = tuple[str, bytes]

#: Renders an event as the line the stream sends.
Encoder = Callable[[str, bytes], bytes]

#: Bytes of live events a watcher may have waiting: a client that reads slower than changes
#: arrive is cut off (it re-watches or relists), as kube-apiserver ends a watcher whose buffer
#: stays full, instead of the server holding its backlog without bound.
WATCHER_BYTE_BUDGET = 16 * 1024 * 1024

#: Bytes of encoded initial events written to the stream at a time.
INITIAL_CHUNK_BYTES = 256 * 1024


def _no_encode(kind: str, raw: bytes) -> bytes:
    return b""


class Watcher:
    """One watch stream: a filter, its initial events and a queue of live ones.

    ``initial`` is read lazily by the stream before the queue (see :meth:`initial_chunks`); it
    must describe the resource as it was when the watcher was added to the hub. Once added, more
    than ``queue_limit`` waiting events or ``byte_budget`` waiting bytes (the stored JSON of the
    objects) close it. The reader reports each event it takes with :meth:`taken`.
    """

    def __init__(
        self,
        rt: ResourceType,
        *,
        namespace: str | None,
        labels: LabelSelector | None,
        fields: FieldSelector | None,
        encode: Encoder = _no_encode,
        queue_limit: int = 10_000,
        byte_budget: int = WATCHER_BYTE_BUDGET,
    ) -> None:
        self.rt = rt
        self.namespace = namespace
        self.labels = labels if labels is not None and not labels.empty else None
        self.fields = fields if fields is not None and fields.requirements else None
        self.encode = encode
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self.initial: Iterator[Event] = iter(())
        self.queue_limit = queue_limit
        self.byte_budget = byte_budget
        self.overflowed = False
        self.closed = False
        self.queued_bytes = 0

    @property
    def filtered(self) -> bool:
        return self.labels is not None or self.fields is not None

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

    def matches_entry(self, entry: Entry) -> bool:
        """Whether a stored object passes the selectors (parsed only when fields ask)."""
        if self.fields is None:
            return self.labels is None or self.labels.matches(entry.labels)
        return self.matches(entry.load())

    def events_for(self, change: Change) -> Iterator[Event]:
        """What a committed change means to this stream: nothing, or one event."""
        if self.namespace is not None and change.namespace != self.namespace:
            return
        if not self.filtered:
            yield change.type, change.raw
            return
        now = self.matches(change.obj)
        if change.type == "DELETED":
            if now:
                yield "DELETED", change.raw
            return
        before = self.matches(change.prev)
        if now:
            yield ("MODIFIED" if before else "ADDED"), change.raw
        elif before and change.prev is not None:
            # it left the selection: its last matching state goes, at the new version
            last = dict(change.prev)
            last["metadata"] = {**last.get("metadata", {}), "resourceVersion": str(change.rv)}
            yield "DELETED", orjson.dumps(last)

    def offer(self, change: Change) -> None:
        """Filter a committed change into the queue."""
        for kind, raw in self.events_for(change):
            self.send(kind, raw)

    def send(self, kind: str, raw: bytes) -> None:
        """Queue one live event; a watcher that falls too far behind is closed."""
        if self.overflowed or self.closed:
            return
        if self.queue.qsize() >= self.queue_limit or (
            self.queued_bytes + len(raw) > self.byte_budget
        ):
            self.overflowed = True
            self.close()
            return
        self.queued_bytes += len(raw)
        self.queue.put_nowait((kind, raw))

    def taken(self, event: Event | None) -> None:
        """The reader took ``event`` off the queue."""
        if event is not None:
            self.queued_bytes -= len(event[1])

    def initial_chunks(self, limit: int = INITIAL_CHUNK_BYTES) -> Iterator[bytes]:
        """The initial events, encoded, in chunks of about ``limit`` bytes; the stream writes
        each before the next is read, so they are never all in memory at once."""
        lines: list[bytes] = []
        size = 0
        for kind, raw in self.initial:
            line = self.encode(kind, raw)
            lines.append(line)
            size += len(line)
            if size >= limit:
                yield b"".join(lines)
                lines, size = [], 0
        if lines:
            yield b"".join(lines)

    def close(self) -> None:
        """End the stream (once the events queued before this are sent)."""
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)


class WatchHub:
    """Registered watchers by storage key."""

    def __init__(self) -> None:
        self._watchers: dict[str, set[Watcher]] = {}

    def add(self, storage_key: str, watcher: Watcher) -> None:
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


def initial_objects(watcher: Watcher, entries: Iterable[Entry], end: bytes) -> Iterator[Event]:
    """ADDED for each of ``entries`` that matches, then the ``end`` BOOKMARK if given."""
    for entry in entries:
        if watcher.matches_entry(entry):
            yield "ADDED", entry.raw
    if end:
        yield "BOOKMARK", end
