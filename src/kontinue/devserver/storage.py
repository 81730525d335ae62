"""Durable object storage with a global, monotonic resourceVersion.

Modelled on k3s's kine: an ``objects`` table holds the current version of every object, and an
append-only ``events`` table, whose primary key *is* the resourceVersion, records every change
together with the object before it. The event log serves watch replay and consistent paginated
lists (a page at an older resourceVersion is the current state with later changes undone); it is
compacted from the front, and asking for something older is a 410.

Each write is one SQLite statement (a trigger applies the logged change to ``objects``) and so
one transaction, committed before the caller answers the request: a ``kill -9`` loses nothing
acknowledged. The current objects are also kept in memory as encoded
JSON (not parsed dicts: that keeps 10,000 objects in a few tens of MB) so reads never touch disk.
All methods run on the server's event loop thread; there is exactly one writer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

__all__ = ["HISTORY_BYTES", "Change", "Entry", "ObjectTooLarge", "Store", "StoreCompacted"]

JSON = dict[str, Any]
ObjectKey = tuple[str, str]  # (namespace, name)

#: Bytes of logged changes kept by default for watch resumption and consistent pages: a few
#: hundred changes of the largest objects etcd accepts, hundreds of thousands of small ones
#: (the count limit comes first for those). Memory (in-memory store) or disk stays near it.
HISTORY_BYTES = 256 * 1024 * 1024

#: Bytes the write-ahead log is truncated to after a checkpoint.
WAL_SIZE_LIMIT = 64 * 1024 * 1024

AUTO_VACUUM_INCREMENTAL = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    rv INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (resource, namespace, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    rv INTEGER PRIMARY KEY, resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    type TEXT NOT NULL, data BLOB NOT NULL, prev BLOB
);
DROP INDEX IF EXISTS events_by_resource;  -- replay scans the rv range; no index to maintain
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
-- Logging a change also applies it, so every write is one statement and one transaction.
CREATE TRIGGER IF NOT EXISTS apply_put AFTER INSERT ON events WHEN NEW.type != 'DELETED'
BEGIN
    INSERT OR REPLACE INTO objects VALUES (NEW.resource, NEW.namespace, NEW.name, NEW.rv, NEW.data);
END;
CREATE TRIGGER IF NOT EXISTS apply_delete AFTER INSERT ON events WHEN NEW.type = 'DELETED'
BEGIN
    DELETE FROM objects
    WHERE resource = NEW.resource AND namespace = NEW.namespace AND name = NEW.name;
END;
"""


class ObjectTooLarge(Exception):
    """An encoded object exceeds the store's size limit (etcd's request limit on a cluster)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"object is {size} bytes, the limit is {limit}")
        self.size = size
        self.limit = limit


class StoreCompacted(Exception):
    """The requested resourceVersion is older than the retained event history."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


@dataclass(slots=True)
class Entry:
    """The current version of one object."""

    rv: int
    raw: bytes
    labels: dict[str, str]
    uid: str

    def load(self) -> JSON:
        """A fresh, mutable copy of the object."""
        obj: JSON = orjson.loads(self.raw)
        return obj


class Change:
    """One committed write, as watchers and controllers see it.

    ``obj`` and ``prev`` are the parsed objects after and before it; a change read back from
    the history parses them only when asked (a replay to an unfiltered watch never does).
    """

    __slots__ = ("_obj", "_prev", "name", "namespace", "prev_raw", "raw", "resource", "rv", "type")

    def __init__(
        self,
        rv: int,
        resource: str,
        namespace: str,
        name: str,
        type: str,  # ADDED | MODIFIED | DELETED
        raw: bytes,
        prev_raw: bytes | None,
        obj: JSON | None = None,
        prev: JSON | None = None,
    ) -> None:
        self.rv = rv
        self.resource = resource
        self.namespace = namespace
        self.name = name
        self.type = type
        self.raw = raw
        self.prev_raw = prev_raw
        self._obj = obj
        self._prev = prev

    @property
    def obj(self) -> JSON:
        if self._obj is None:
            self._obj = orjson.loads(self.raw)
        return self._obj

    @property
    def prev(self) -> JSON | None:
        if self._prev is None and self.prev_raw is not None:
            self._prev = orjson.loads(self.prev_raw)
        return self._prev

    def __repr__(self) -> str:
        return f"Change({self.rv}, {self.type} {self.resource} {self.namespace}/{self.name})"


def _labels(obj: JSON) -> dict[str, str]:
    labels = obj.get("metadata", {}).get("labels")
    return dict(labels) if isinstance(labels, dict) else {}


class Store:
    """Objects and their change log, in SQLite (a file, or memory for throwaway servers)."""

    def __init__(
        self,
        path: Path | None,
        *,
        history: int = 100_000,
        history_bytes: int = HISTORY_BYTES,
        max_object_bytes: int = 1_572_864,
    ) -> None:
        """``history`` changes are kept, and no more than ``history_bytes`` of them (each
        change holds the object after and before it): many updates of large objects compact
        the log early, so memory (for an in-memory store) and disk stay bounded by bytes."""
        self.path = path
        self.history = history
        self.history_bytes = history_bytes
        self.max_object_bytes = max_object_bytes
        target = str(path) if path is not None else ":memory:"
        self._db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        self._reclaimable()
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL survives a killed process (not a power cut) without an fsync per write.
            self._db.execute("PRAGMA synchronous=NORMAL")
            # The WAL is reused from its start after each checkpoint; this truncates what a
            # burst of large writes made it grow to.
            self._db.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        self._db.executescript(_SCHEMA)
        self._objects: dict[str, dict[ObjectKey, Entry]] = {}
        self._uids: dict[str, tuple[str, str, str]] = {}
        self._dependents: dict[str, set[tuple[str, str, str]]] = {}
        self._listeners: list[Callable[[Change], None]] = []
        self._writes_since_compaction = 0
        self._load()
        self._keep_budget()  # the budget may be smaller than when the history was written

    def _reclaimable(self) -> None:
        """Let compaction give space back: a new database is made with incremental
        auto-vacuum; one made by an older version without it is rebuilt with it once."""
        self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")  # takes effect on a new database
        (mode,) = self._db.execute("PRAGMA auto_vacuum").fetchone()
        if mode != AUTO_VACUUM_INCREMENTAL:
            self._db.execute("VACUUM")

    # Startup -------------------------------------------------------------------------------

    def _load(self) -> None:
        for resource, namespace, name, rv, data in self._db.execute(
            "SELECT resource, namespace, name, rv, data FROM objects"
        ):
            obj = orjson.loads(data)
            self._index(resource, namespace, name, Entry(rv, bytes(data), _labels(obj), ""), obj)
        rv = 0
        for (value,) in self._db.execute("SELECT max(rv) FROM events"):
            rv = max(rv, value or 0)
        for (value,) in self._db.execute("SELECT max(rv) FROM objects"):
            rv = max(rv, value or 0)
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        self.rv: int = max(rv, int(meta.get("rv", 0)))
        self.compacted_rv: int = int(meta.get("compacted", 0))
        self._logged_bytes: int = self._event_bytes(self.compacted_rv, self.rv)

    def _event_bytes(self, after: int, up_to: int) -> int:
        """Bytes held by the logged changes with ``after < rv <= up_to``."""
        row = self._db.execute(
            "SELECT coalesce(sum(length(data) + coalesce(length(prev), 0)), 0) FROM events"
            " WHERE rv > ? AND rv <= ?",
            (after, up_to),
        ).fetchone()
        return int(row[0])

    def close(self) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('rv', ?)", (self.rv,))
        self._db.close()

    # Reads ---------------------------------------------------------------------------------

    def get(self, resource: str, namespace: str, name: str) -> Entry | None:
        objects = self._objects.get(resource)
        return objects.get((namespace, name)) if objects else None

    def items(self, resource: str, namespace: str | None = None) -> list[tuple[ObjectKey, Entry]]:
        """Current objects of a resource, sorted by (namespace, name) like etcd keys."""
        objects = self._objects.get(resource)
        if not objects:
            return []
        if namespace is None:
            return sorted(objects.items())
        return sorted((k, e) for k, e in objects.items() if k[0] == namespace)

    def count(self, resource: str) -> int:
        return len(self._objects.get(resource, ()))

    def resources(self) -> list[str]:
        return [r for r, objs in self._objects.items() if objs]

    def by_uid(self, uid: str) -> tuple[str, str, str] | None:
        return self._uids.get(uid)

    def dependents(self, owner_uid: str) -> list[tuple[str, str, str]]:
        """(resource, namespace, name) of objects with an ownerReference to ``owner_uid``."""
        return sorted(self._dependents.get(owner_uid, ()))

    def owner_uids(self) -> list[str]:
        return list(self._dependents)

    # Writes --------------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``listener`` after every commit, in order; returns an unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def put(self, resource: str, obj: JSON, *, sort_keys: bool = False) -> Change:
        """Create or replace ``obj``; stamps and returns its new resourceVersion. With
        ``sort_keys`` every object in it is stored with its keys sorted, as kube-apiserver
        serves custom resources (they pass through Go maps): clients must not depend on the
        order they wrote."""
        meta = obj["metadata"]
        namespace, name = meta.get("namespace", ""), meta["name"]
        old = self.get(resource, namespace, name)
        rv = self.rv + 1
        meta["resourceVersion"] = str(rv)
        raw = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS if sort_keys else None)
        if len(raw) > self.max_object_bytes:
            meta["resourceVersion"] = str(old.rv) if old else ""
            raise ObjectTooLarge(len(raw), self.max_object_bytes)
        kind = "MODIFIED" if old is not None else "ADDED"
        prev_raw = old.raw if old is not None else None
        try:
            self._db.execute(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
                (rv, resource, namespace, name, kind, raw, prev_raw),
            )
        except BaseException:
            meta["resourceVersion"] = str(old.rv) if old else ""
            raise
        self.rv = rv
        prev = orjson.loads(prev_raw) if prev_raw is not None else None
        if old is not None:
            self._unindex(resource, namespace, name, prev)
        self._index(resource, namespace, name, Entry(rv, raw, _labels(obj), ""), obj)
        return self._committed(
            Change(rv, resource, namespace, name, kind, raw, prev_raw, obj, prev)
        )

    def delete(self, resource: str, namespace: str, name: str) -> Change:
        """Remove an object; the DELETED event carries its last state at the new version."""
        old = self.get(resource, namespace, name)
        if old is None:
            raise KeyError((resource, namespace, name))
        rv = self.rv + 1
        obj = old.load()
        obj["metadata"]["resourceVersion"] = str(rv)
        raw = orjson.dumps(obj)
        self._db.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, 'DELETED', ?, ?)",
            (rv, resource, namespace, name, raw, old.raw),
        )
        self.rv = rv
        prev = old.load()
        self._unindex(resource, namespace, name, prev)
        return self._committed(
            Change(rv, resource, namespace, name, "DELETED", raw, old.raw, obj, prev)
        )

    def _committed(self, change: Change) -> Change:
        self._logged_bytes += len(change.raw) + len(change.prev_raw or b"")
        self._writes_since_compaction += 1
        if self._writes_since_compaction >= max(1000, self.history // 20):
            self._writes_since_compaction = 0
            if self.rv - self.compacted_rv > self.history:
                self.compact(self.rv - self.history)
        self._keep_budget()
        for listener in list(self._listeners):
            listener(change)
        return change

    def _index(self, resource: str, namespace: str, name: str, entry: Entry, obj: JSON) -> None:
        self._objects.setdefault(resource, {})[(namespace, name)] = entry
        meta = obj.get("metadata", {})
        uid = meta.get("uid")
        key = (resource, namespace, name)
        if uid:
            entry.uid = uid
            self._uids[uid] = key
        for ref in meta.get("ownerReferences") or ():
            owner = ref.get("uid")
            if owner:
                self._dependents.setdefault(owner, set()).add(key)

    def _unindex(self, resource: str, namespace: str, name: str, obj: JSON | None) -> None:
        self._objects.get(resource, {}).pop((namespace, name), None)
        if obj is None:
            return
        meta = obj.get("metadata", {})
        key = (resource, namespace, name)
        uid = meta.get("uid")
        if uid and self._uids.get(uid) == key:
            del self._uids[uid]
        for ref in meta.get("ownerReferences") or ():
            deps = self._dependents.get(ref.get("uid", ""))
            if deps is not None:
                deps.discard(key)
                if not deps:
                    del self._dependents[ref["uid"]]

    # History -------------------------------------------------------------------------------

    def _keep_budget(self) -> None:
        """Past its byte budget the history is compacted down to three quarters of it (so not
        at every write), oldest changes first."""
        if self._logged_bytes > self.history_bytes:
            self._compact_bytes(self._logged_bytes - self.history_bytes * 3 // 4)

    def _compact_bytes(self, excess: int) -> None:
        """Forget the oldest events until at least ``excess`` bytes are freed."""
        freed = 0
        up_to = self.compacted_rv
        for rv, size in self._db.execute(
            "SELECT rv, length(data) + coalesce(length(prev), 0) FROM events WHERE rv > ?"
            " ORDER BY rv",
            (self.compacted_rv,),
        ).fetchall():
            up_to, freed = rv, freed + size
            if freed >= excess:
                break
        self.compact(up_to)

    def compact(self, up_to: int) -> None:
        """Forget events with ``rv <= up_to``; watching or paging from there becomes a 410."""
        up_to = min(up_to, self.rv)
        if up_to <= self.compacted_rv:
            return
        self._logged_bytes -= self._event_bytes(self.compacted_rv, up_to)
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("DELETE FROM events WHERE rv <= ?", (up_to,))
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('compacted', ?)", (up_to,))
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('rv', ?)", (self.rv,))
        self._db.execute("COMMIT")
        self.compacted_rv = up_to
        self._reclaim()

    def _reclaim(self) -> None:
        """Give free pages back (file or memory) beyond a quarter of the budget: compaction
        frees about that much, which new changes fill again; more is left by a smaller budget
        or a burst of deletions."""
        (page_size,) = self._db.execute("PRAGMA page_size").fetchone()
        (free,) = self._db.execute("PRAGMA freelist_count").fetchone()
        excess = free - self.history_bytes // 4 // page_size
        if excess > 0:
            # executescript steps the pragma to its end; execute() would free a single page
            self._db.executescript(f"PRAGMA incremental_vacuum({int(excess)})")

    def stored_bytes(self) -> int:
        """Bytes of the database (its pages, free ones included; not the WAL)."""
        (pages,) = self._db.execute("PRAGMA page_count").fetchone()
        (page_size,) = self._db.execute("PRAGMA page_size").fetchone()
        return int(pages) * int(page_size)

    @property
    def history_held(self) -> int:
        """Bytes of the logged changes kept (each change's object after and before it)."""
        return self._logged_bytes

    def check_history(self, rv: int) -> None:
        if rv < self.compacted_rv:
            raise StoreCompacted(rv, self.compacted_rv + 1)

    def changes_since(
        self,
        resource: str | None,
        rv: int,
        up_to: int | None = None,
        *,
        limit: int = -1,
        with_prev: bool = True,
    ) -> list[Change]:
        """Changes with ``rv < version <= up_to`` for a resource (or all), oldest first, at most
        ``limit`` of them (all when negative); :class:`StoreCompacted` if ``rv`` is too old.
        Without ``with_prev`` they do not carry the object before them (half the bytes read,
        for readers that need only the new one)."""
        self.check_history(rv)
        last = self.rv if up_to is None else up_to
        columns = "rv, resource, namespace, name, type, data, " + ("prev" if with_prev else "NULL")
        if resource is None:
            rows = self._db.execute(
                f"SELECT {columns} FROM events WHERE rv > ? AND rv <= ? ORDER BY rv LIMIT ?",
                (rv, last, limit),
            )
        else:
            rows = self._db.execute(
                f"SELECT {columns} FROM events"
                " WHERE resource = ? AND rv > ? AND rv <= ? ORDER BY rv LIMIT ?",
                (resource, rv, last, limit),
            )
        return [
            Change(
                version,
                res,
                namespace,
                name,
                kind,
                bytes(data),
                bytes(prev) if prev is not None else None,
            )
            for version, res, namespace, name, kind, data, prev in rows.fetchall()
        ]

    def snapshot(
        self, resource: str, at: int, namespace: str | None = None
    ) -> list[tuple[ObjectKey, bytes]]:
        """The objects of ``resource`` as they were at version ``at``, sorted by key."""
        self.check_history(at)
        current = {k: e.raw for k, e in self.items(resource, namespace)}
        undone: set[ObjectKey] = set()
        for version, ns, name, prev in self._db.execute(
            "SELECT rv, namespace, name, prev FROM events WHERE resource = ? AND rv > ?"
            " ORDER BY rv",
            (resource, at),
        ).fetchall():
            del version
            key = (ns, name)
            if key in undone or (namespace is not None and ns != namespace):
                continue
            undone.add(key)  # the first later change holds the state at ``at``
            if prev is None:
                current.pop(key, None)
            else:
                current[key] = bytes(prev)
        return sorted(current.items())
