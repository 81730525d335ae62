"""The accumulator's state machine, without I/O: what a snapshot contains and when it changed.

Three sources feed it, in any interleaving: initial lists (and re-lists after a 410), watch
events, and writes made through the client (``observe_writes``). Watch streams are ordered,
but a write's answer and the watch event for it race each other, so every object remembers the
resourceVersion it was accepted at and anything not newer is dropped as stale. Objects deleted
through the client leave a tombstone that rejects every later event of the same incarnation
(``uid``) until the watch reports the deletion itself.

Consumers see the state through :meth:`AccumulatorCore.take`, which diffs only the objects
touched since the previous take (coalescing: a hundred events on one object are one delta).
:mod:`kontinue.kube.accumulating` wraps this in the async and threaded shells.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from ._openapi import is_openapi_class, read_openapi
from .selectors import FieldSelector, LabelSelector

__all__ = [
    "ALL_NAMESPACES",
    "AccumulatorCore",
    "Delta",
    "DeltaType",
    "Query",
    "Target",
    "fill_snapshot",
    "is_newer",
    "query_scope",
    "snapshot_shape",
]

JSON = dict[str, Any]
Key = tuple[str, str]  # (namespace, name)
Predicate = Callable[[JSON], bool]

ALL_NAMESPACES = "*"


@dataclass(frozen=True)
class Query:
    """One set of objects an accumulator keeps, stored in the snapshot field ``name``.

    ``kind`` is named like kubectl names it (``"pods"``, ``"svc"``, ``"deployments.apps"``,
    ``"widgets.example.com"``). ``namespace`` None means the client's namespace and
    :data:`ALL_NAMESPACES` every namespace; it is ignored for cluster-scoped kinds.
    """

    name: str
    kind: str
    namespace: str | None = None
    label_selector: str = ""
    field_selector: str = ""


def query_scope(
    query: Query,
    namespace: str | None = None,
    all_namespaces: bool = False,
    label_selector: str = "",
    field_selector: str = "",
) -> tuple[str, str | None, bool, str, str]:
    """``(kind, namespace, all_namespaces, label_selector, field_selector)`` to list what
    ``query`` names; the other arguments are what a caller passed besides the query, which
    must be nothing (one scope, not two to reconcile)."""
    if namespace is not None or all_namespaces or label_selector or field_selector:
        raise ValueError(
            "a Query already says the namespace and selectors: put them in the Query "
            "(Query(name, kind, namespace=..., label_selector=...)), not in the arguments too"
        )
    everywhere = query.namespace == ALL_NAMESPACES
    namespace = None if everywhere else query.namespace
    return query.kind, namespace, everywhere, query.label_selector, query.field_selector


class DeltaType(StrEnum):
    """How an object changed between two snapshots."""

    ADD = "add"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class Delta:
    """One object that changed between two snapshots (``obj`` is its last state for DELETE)."""

    type: DeltaType
    query: str
    kind: str
    namespace: str
    name: str
    obj: JSON


@dataclass(frozen=True)
class Target:
    """Where a query's objects live, once its kind is resolved: writes to it are ours to see.

    ``namespace`` None means every namespace (or a cluster-scoped resource).
    """

    group: str
    version: str
    plural: str
    namespace: str | None


def is_newer(incoming: str, current: str) -> bool:
    """Whether resourceVersion ``incoming`` is newer than ``current``.

    resourceVersions are opaque by contract but integers on etcd and on the dev server, so they
    are compared as integers when both are; otherwise the incoming one is taken as newer (the
    watch wins), and an identical one never is.
    """
    if incoming == current:
        return False
    if incoming.isdigit() and current.isdigit():
        return int(incoming) > int(current)
    return True


def _meta(obj: JSON) -> JSON:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _key(obj: JSON) -> Key:
    meta = _meta(obj)
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _field_value(obj: JSON, path: str) -> str:
    """A field selector's value for ``obj`` (``status.phase``...), "" when missing."""
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return ""
        value = value.get(part)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class _Entry:
    """What one query knows of one object.

    ``obj`` None is an invisible guard: the object left the query (deleted through the client,
    or relabelled out of its selector) at ``rv``, and older events must not bring it back.
    ``gone`` marks a deletion through the client: that incarnation (``uid``) never returns.
    """

    obj: JSON | None
    rv: str
    uid: str
    gone: bool = False


@dataclass
class _QueryState:
    query: Query
    labels: LabelSelector
    fields: FieldSelector
    target: Target | None = None
    bootstrapped: bool = False
    stream_rv: str = ""  # every event up to here has been applied (list, event or bookmark)
    entries: dict[Key, _Entry] = field(default_factory=dict)
    dirty: set[Key] = field(default_factory=set)  # touched since the last take
    guards: set[Key] = field(default_factory=set)  # invisible entries that are not tombstones
    delivered: dict[Key, JSON] = field(default_factory=dict)  # what the last take handed out
    ordered: list[JSON] | None = None  # ``delivered`` sorted by key, until it changes

    def matches(self, namespace: str, obj: JSON) -> bool:
        target = self.target
        if target is None or (target.namespace is not None and namespace != target.namespace):
            return False
        if not self.labels.empty and not self.labels.matches(_meta(obj).get("labels") or {}):
            return False
        if self.fields.empty:
            return True
        return self.fields.matches({name: _field_value(obj, name) for name in self.fields.fields()})

    def put(self, key: Key, entry: _Entry | None) -> bool:
        """Replace what is known of ``key``; returns whether the visible state changed."""
        before = self.entries.get(key)
        if entry is None:
            self.entries.pop(key, None)
        else:
            self.entries[key] = entry
        if entry is not None and entry.obj is None and not entry.gone:
            self.guards.add(key)
        else:
            self.guards.discard(key)
        visible_before = before.obj if before is not None else None
        visible_now = entry.obj if entry is not None else None
        if visible_before is visible_now:
            return False
        self.dirty.add(key)
        return True

    def advance(self, rv: str) -> None:
        """The stream is at ``rv``: guards for writes it has now delivered are no longer needed."""
        if not rv:
            return
        self.stream_rv = rv
        if not self.guards or not rv.isdigit():
            return
        for key in list(self.guards):
            guard = self.entries[key].rv
            if guard.isdigit() and int(guard) <= int(rv):
                self.put(key, None)

    def sorted_view(self) -> list[JSON]:
        if self.ordered is None:
            self.ordered = [self.delivered[key] for key in sorted(self.delivered)]
        return self.ordered


class AccumulatorCore:
    """The merged state of several queries; not thread-safe (the shells hold a lock).

    Every mutator returns whether some query's visible state changed, and bumps
    :attr:`generation` when it did, so shells can coalesce notifications into "something
    changed since you last looked".
    """

    def __init__(self, queries: Sequence[Query]) -> None:
        if not queries:
            raise ValueError("an accumulator needs at least one Query")
        self._states: dict[str, _QueryState] = {}
        for query in queries:
            if not query.name.isidentifier():
                raise ValueError(f"query name {query.name!r} is not a valid field name")
            if query.name in self._states:
                raise ValueError(f"two queries are named {query.name!r}")
            self._states[query.name] = _QueryState(
                query,
                LabelSelector.parse(query.label_selector),
                FieldSelector.parse(query.field_selector),
            )
        self.generation = 0
        self._taken_once = False

    @property
    def queries(self) -> list[Query]:
        return [state.query for state in self._states.values()]

    @property
    def ready(self) -> bool:
        """True once every query has completed its initial list."""
        return all(state.bootstrapped for state in self._states.values())

    def _changed(self, changed: bool) -> bool:
        if changed:
            self.generation += 1
        return changed

    def set_target(self, name: str, target: Target) -> None:
        """Record where ``name``'s objects live (before its first list)."""
        self._states[name].target = target

    def stream_version(self, name: str) -> str:
        return self._states[name].stream_rv

    # Watch side ----------------------------------------------------------------------------

    def relisted(self, name: str, items: Iterable[JSON], list_rv: str) -> bool:
        """A complete list of ``name`` at ``list_rv`` (first bootstrap, or after a 410).

        Objects missing from it are gone, unless a write through the client made them after
        the list was taken (a numerically newer resourceVersion).
        """
        state = self._states[name]
        was_ready = self.ready
        changed = False
        listed: set[Key] = set()
        for obj in items:
            key = _key(obj)
            listed.add(key)
            changed |= self._apply(state, "ADDED", key, obj)
        for key in [k for k in state.entries if k not in listed]:
            rv = state.entries[key].rv
            if not (rv.isdigit() and list_rv.isdigit() and int(rv) > int(list_rv)):
                changed |= state.put(key, None)
        state.advance(list_rv)
        state.bootstrapped = True
        return self._changed(changed or (self.ready and not was_ready))

    def event(self, name: str, type: str, obj: JSON) -> bool:
        """One watch event (``ADDED``/``MODIFIED``/``DELETED``/``BOOKMARK``) of query ``name``."""
        state = self._states[name]
        changed = False
        if type in ("ADDED", "MODIFIED", "DELETED"):
            changed = self._apply(state, type, _key(obj), obj)
        state.advance(str(_meta(obj).get("resourceVersion") or ""))
        return self._changed(changed)

    def _apply(self, state: _QueryState, type: str, key: Key, obj: JSON) -> bool:
        meta = _meta(obj)
        rv, uid = str(meta.get("resourceVersion") or ""), str(meta.get("uid") or "")
        entry = state.entries.get(key)
        if type == "DELETED":
            if entry is None or (uid and entry.uid and uid != entry.uid):
                return False  # unknown, or an earlier incarnation of a recreated object
            return state.put(key, None)
        if entry is not None:
            if entry.gone and uid and uid == entry.uid:
                return False  # deleted through the client: a late event of the same object
            if not is_newer(rv, entry.rv):
                return False  # stale: a write through the client is already newer
        return state.put(key, _Entry(obj, rv, uid))

    # Write side ----------------------------------------------------------------------------

    def wrote(
        self,
        group: str,
        version: str,
        plural: str,
        namespace: str,
        name: str,
        obj: JSON | None,
    ) -> bool:
        """A write through the client succeeded (``obj`` None: the object is gone)."""
        changed = False
        key = (namespace, name)
        for state in self._states.values():
            target = state.target
            if target is None or (target.group, target.version, target.plural) != (
                group,
                version,
                plural,
            ):
                continue
            if target.namespace is not None and namespace != target.namespace:
                continue
            changed |= self._wrote(state, key, obj)
        return self._changed(changed)

    def _wrote(self, state: _QueryState, key: Key, obj: JSON | None) -> bool:
        entry = state.entries.get(key)
        if obj is None:
            if entry is None or entry.obj is None:
                return False  # never visible here: nothing to hide
            return state.put(key, _Entry(None, entry.rv, entry.uid, gone=True))
        meta = _meta(obj)
        rv, uid = str(meta.get("resourceVersion") or ""), str(meta.get("uid") or "")
        stream = state.stream_rv
        if rv.isdigit() and stream.isdigit() and int(rv) <= int(stream):
            return False  # the watch already delivered this write (or something newer)
        recreated = entry is not None and entry.gone and uid != entry.uid
        if entry is not None and not recreated and not is_newer(rv, entry.rv):
            return False
        if state.matches(key[0], obj):
            return state.put(key, _Entry(obj, rv, uid))
        if entry is not None and entry.obj is not None:
            return state.put(key, _Entry(None, rv, uid))  # relabelled out of the selector
        return False

    # Consumer side -------------------------------------------------------------------------

    def take(
        self, predicate: Predicate | None = None
    ) -> tuple[bool, list[Delta], dict[str, list[JSON]]] | None:
        """What changed since the previous take, and every query's objects sorted by key.

        None until every query has bootstrapped. With a ``predicate``, objects failing it are
        left out and their changes are not changes; it is called only for objects touched
        since the previous take. The returned objects are the core's own: copy before handing
        them to code that may mutate them.
        """
        if not self.ready:
            return None
        deltas: list[Delta] = []
        for name, state in self._states.items():
            for key in sorted(state.dirty):
                entry = state.entries.get(key)
                now = entry.obj if entry is not None else None
                if now is not None and predicate is not None and not predicate(now):
                    now = None
                before = state.delivered.get(key)
                if before is now:
                    continue
                if now is None:
                    assert before is not None
                    del state.delivered[key]
                    deltas.append(_delta(DeltaType.DELETE, name, key, before))
                else:
                    state.delivered[key] = now
                    kind = DeltaType.ADD if before is None else DeltaType.UPDATE
                    deltas.append(_delta(kind, name, key, now))
                state.ordered = None
            state.dirty.clear()
        changed = bool(deltas) or not self._taken_once
        self._taken_once = True
        return changed, deltas, {name: s.sorted_view() for name, s in self._states.items()}


def _delta(type: DeltaType, query: str, key: Key, obj: JSON) -> Delta:
    return Delta(
        type, query, str(obj.get("kind") or ""), key[0], key[1], orjson.loads(orjson.dumps(obj))
    )


# Snapshots -----------------------------------------------------------------------------------


def _item_type(annotation: Any) -> type[Any] | None:
    """The model of ``list[Model]`` (also ``Sequence[...]``, ``... | None``), or None: a
    pydantic model or a model class of the official client (``V1Pod``)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _item_type(args[0])
    if len(args) == 1 and isinstance(args[0], type):
        model = args[0]
        if is_openapi_class(model) or hasattr(model, "model_validate_json"):
            return model
    return None


def _annotations(cls: type[Any]) -> dict[str, Any]:
    fields = getattr(cls, "model_fields", None)
    if isinstance(fields, dict):  # a pydantic model: its resolved field annotations
        return {name: getattr(info, "annotation", None) for name, info in fields.items()}
    try:
        return typing.get_type_hints(cls)
    except Exception:  # unresolvable forward references: fall back to plain dicts
        hints: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            hints.update(getattr(klass, "__annotations__", {}))
        return hints


def snapshot_shape(snapshot: Any, names: Iterable[str]) -> dict[str, type[Any] | None]:
    """The item type of each query's field of ``snapshot``: a pydantic model, or None for dicts.

    A field annotated ``list[Model]`` (also ``Sequence[Model]``, ``... | None``) with a pydantic
    model or an official client's model (``list[V1Pod]``) gets models; anything else gets
    dicts. A query without a field is a ``TypeError``
    naming it, raised before anything is consumed.
    """
    cls = type(snapshot)
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = _annotations(cls)
    shape: dict[str, type[Any] | None] = {}
    for name in names:
        if name not in hints and not hasattr(snapshot, name):
            raise TypeError(
                f"the snapshot {cls.__name__} has no field {name!r} for the query {name!r} "
                f"(add e.g. `{name}: list[dict[str, Any]]`)"
            )
        shape[name] = _item_type(hints.get(name))
    return shape


_HINTS: dict[type[Any], dict[str, Any]] = {}


def fill_snapshot(
    snapshot: Any, shape: dict[str, type[Any] | None], views: dict[str, list[JSON]]
) -> None:
    """Set each query's field of ``snapshot`` to fresh copies of its objects.

    Copies, because the caller owns the snapshot and may mutate it, while the accumulator's
    objects must stay as the server sent them.
    """
    for name, objs in views.items():
        model = shape[name]
        if model is None:
            value: list[Any] = orjson.loads(orjson.dumps(objs))
        elif is_openapi_class(model):  # read leniently: a newer server sends newer fields
            value = [read_openapi(model, orjson.loads(orjson.dumps(obj))) for obj in objs]
        else:
            value = [model.model_validate_json(orjson.dumps(obj)) for obj in objs]
        setattr(snapshot, name, value)
