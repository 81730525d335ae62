"""Field management: ``metadata.managedFields`` kept as kube-apiserver keeps it.

Every write records who set which fields. Each entry of ``managedFields`` is one *manager*: a
name (``fieldManager``, else the client's User-Agent up to its first ``/``), an operation
(``Apply`` for server-side apply, ``Update`` for everything else), the subresource written, and
the set of fields it owns as a FieldsV1 tree. An update takes the fields it adds or changes from
everyone else and drops the fields it removes from everyone (:meth:`FieldManager.update`); an
apply merges the configuration into the live object, prunes what the applier set before and no
longer sets, and refuses with a 409 ``Conflict`` to change what another manager owns unless
forced (:meth:`FieldManager.apply`). The rules are structured-merge-diff's, walked along the
:class:`~.fieldtypes.Type` of the kind; the value algebra lives in :mod:`.applying`, the trees in
:mod:`.fieldsets`.

An update changes the trees in place along the paths it changed, so that the hot path (a status
patch of one field of a large object) costs what it changed, not the size of the object.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import orjson

from kontinue.clock import format_time
from kontinue.kube.schema._errors import _quote

from .applying import MISSING, field_set, merge, prune, validation_errors
from .catalog import CRD_KEY
from .errors import ApiStatus
from .fieldsets import (
    Malformed,
    Path,
    Tree,
    canonical_tree,
    item_element,
    path_string,
    tree_from_paths,
    tree_insert,
    tree_paths,
    tree_unmark,
    valid_tree,
)
from .fieldtypes import (
    ATOMIC,
    CRD_TYPE,
    CRD_ZERO,
    LIST,
    MAP,
    SCALAR,
    STRING_TYPE,
    Type,
    builtin_type,
    builtin_zero,
    custom_type,
)
from .protobuf import message_name
from .resources import ResourceType

__all__ = ["FieldManager", "Kind", "compare", "kind_of", "manager_name"]

JSON = dict[str, Any]

APPLY: Final = "Apply"
_BEFORE_FIRST_APPLY: Final = "before-first-apply"
UPDATE: Final = "Update"

# Fields no manager owns (``stripMetaManager``): removed from a writer's set, not from below.
_STRIPPED: Final[frozenset[Path]] = frozenset(
    {("f:apiVersion",), ("f:kind",), ("f:metadata",)}
    | {
        ("f:metadata", "f:" + name)
        for name in (
            "name",
            "namespace",
            "creationTimestamp",
            "selfLink",
            "uid",
            "clusterName",
            "generation",
            "managedFields",
            "resourceVersion",
        )
    }
)


def manager_name(field_manager: str, user_agent: str) -> str:
    """The manager a write is recorded under: ``fieldManager``, else the User-Agent's product
    (printable characters before the first ``/``, at most 128), else ``unknown``."""
    if field_manager:
        return field_manager
    out: list[str] = []
    size = 0
    for char in user_agent.split("/", 1)[0]:
        if not char.isprintable():
            continue
        if size >= 128:
            break
        out.append(char)
        size += len(char.encode())
    return "".join(out) or "unknown"


# Kinds -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Kind:
    """What field management needs to know of a resource at one version."""

    type: Type
    zero: JSON  # the live object a create is compared with
    api_version: str
    status: bool  # whether writes to the main resource leave status alone
    custom: bool = False  # a custom resource: its metadata is decoded through ObjectMeta


def kind_of(rt: ResourceType, version: str) -> Kind:
    """The field-management view of ``rt`` served at ``version``."""
    api_version = rt.api_version(version)
    if rt.is_custom:
        schema = rt.schemas.get(version) or rt.schemas.get(rt.version)
        return Kind(custom_type(schema), {}, api_version, rt.has_status, custom=True)
    if rt.key == CRD_KEY:
        return Kind(CRD_TYPE, CRD_ZERO, api_version, True)
    message = message_name(api_version, rt.kind)
    return Kind(_kind_type(message), builtin_zero(message), api_version, rt.has_status)


@functools.cache
def _kind_type(message: str) -> Type:
    """A built-in kind's type, with the ``apiVersion`` and ``kind`` its message leaves out."""
    struct = builtin_type(message)
    out = Type(struct.facets, fields={**struct.fields}, map_atomic=struct.map_atomic)
    out.elements, out.defaults = struct.elements, struct.defaults
    out.fields.setdefault("apiVersion", STRING_TYPE)
    out.fields.setdefault("kind", STRING_TYPE)
    return out


def _ignored(kind: Kind, subresource: str) -> str | None:
    """The top-level field a write to ``subresource`` never owns (its strategy resets it)."""
    if subresource == "status":
        return "f:spec"
    return "f:status" if kind.status else None


# Comparing -------------------------------------------------------------------------------------


def compare(lhs: Any, rhs: Any, t: Type) -> tuple[set[Path], set[Path]]:
    """What ``rhs`` added or modified, and what it removed, relative to ``lhs`` (``Compare``)."""
    changed: set[Path] = set()
    removed: set[Path] = set()
    _compare(lhs, rhs, t, (), changed, removed)
    return changed, removed


def _deduce(t: Type, value: Any) -> int:
    """The facets ``value`` may be handled as (``deduceAtom``; MISSING has no kind)."""
    if isinstance(value, dict):
        if t.facets & MAP:
            return MAP
    elif isinstance(value, list):
        if t.facets & LIST:
            return LIST
    elif value is not None and value is not MISSING and t.facets & SCALAR:
        return SCALAR
    return t.facets


def _same(lhs: Any, rhs: Any) -> bool:
    return bool(lhs == rhs) and isinstance(lhs, bool) == isinstance(rhs, bool)


def _compare(
    lhs: Any, rhs: Any, t: Type, path: Path, changed: set[Path], removed: set[Path]
) -> None:
    if lhs is not MISSING and rhs is not MISSING and _same(lhs, rhs):
        return  # nothing below differs either
    left = _deduce(t, lhs) if lhs is not MISSING else 0
    right = _deduce(t, rhs) if rhs is not MISSING else 0
    if rhs is MISSING:
        leaf = _handle(left, lhs, rhs, t, path, changed, removed)
    elif lhs is MISSING or left == right:
        leaf = _handle(right, lhs, rhs, t, path, changed, removed)
    else:
        _handle(left, lhs, rhs, t, path, changed, removed)
        leaf = _handle(right, lhs, rhs, t, path, changed, removed)
    if not leaf:
        if lhs is MISSING:
            changed.add(path)
        elif rhs is MISSING:
            removed.add(path)


def _leaf(lhs: Any, rhs: Any, path: Path, changed: set[Path], removed: set[Path]) -> bool:
    if lhs is MISSING:
        changed.add(path)
    elif rhs is MISSING:
        removed.add(path)
    elif not _same(lhs, rhs):
        changed.add(path)
    return True


def _handle(
    facets: int, lhs: Any, rhs: Any, t: Type, path: Path, changed: set[Path], removed: set[Path]
) -> bool:
    """Compare as the atom ``facets`` says (map, else scalar, else list); whether a leaf."""
    if facets & MAP:
        left = lhs if isinstance(lhs, dict) else None
        right = rhs if isinstance(rhs, dict) else None
        if t.map_atomic or (not left and not right):
            return _leaf(lhs, rhs, path, changed, removed)
        left, right = left or {}, right or {}
        for key, value in left.items():
            other = right.get(key, MISSING)
            if other is value or (type(other) is type(value) and other == value):
                continue  # the common case of a large map, checked without a call
            _compare(value, other, t.field(key), (*path, "f:" + key), changed, removed)
        for key, value in right.items():
            if key not in left:
                _compare(MISSING, value, t.field(key), (*path, "f:" + key), changed, removed)
        return False
    if facets & SCALAR:
        return _leaf(lhs, rhs, path, changed, removed)
    left_list = lhs if isinstance(lhs, list) else None
    right_list = rhs if isinstance(rhs, list) else None
    if t.list_kind == ATOMIC or (not left_list and not right_list):
        return _leaf(lhs, rhs, path, changed, removed)
    items = t.items if t.items is not None else Type(SCALAR)
    lefts = _group(left_list or [], t)
    rights = _group(right_list or [], t)
    for element in {**lefts, **rights}:
        lvalues = lefts.get(element, [])
        rvalues = rights.get(element, [])
        child = (*path, element)
        if len(lvalues) <= 1 and len(rvalues) <= 1:
            _compare(
                lvalues[0] if lvalues else MISSING,
                rvalues[0] if rvalues else MISSING,
                items,
                child,
                changed,
                removed,
            )
        elif len(lvalues) >= 2 and len(rvalues) >= 2:
            if lvalues != rvalues:
                changed.add(child)
        elif len(lvalues) >= 2:
            if rvalues:
                _compare(MISSING, rvalues[0], items, child, changed, removed)
            removed.add(child)
        else:
            if lvalues:
                _compare(lvalues[0], MISSING, items, child, changed, removed)
            changed.add(child)
    return False


def _group(items: list[Any], t: Type) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for item in items:
        out.setdefault(item_element(item, t), []).append(item)
    return out


# Entries ---------------------------------------------------------------------------------------

_Key = tuple[str, str, str, str]  # manager, operation, apiVersion (Update only), subresource


@dataclass(slots=True)
class _Entry:
    manager: str
    operation: str
    api_version: str
    subresource: str
    time: str | None
    tree: Tree

    @property
    def key(self) -> _Key:
        version = "" if self.operation == APPLY else self.api_version
        return (self.manager, self.operation, version, self.subresource)

    def encode(self) -> JSON:
        out: JSON = {"manager": self.manager, "operation": self.operation}
        if self.api_version:
            out["apiVersion"] = self.api_version
        if self.time is not None:
            out["time"] = self.time
        out["fieldsType"] = "FieldsV1"
        out["fieldsV1"] = self.tree
        if self.subresource:
            out["subresource"] = self.subresource
        return out

    def shown(self) -> str:
        """The manager as a conflict names it (``printManager``)."""
        out = _quote(self.manager)
        if self.subresource:
            out += f" with subresource {_quote(self.subresource)}"
        if self.operation == UPDATE:
            out += f" using {self.api_version}"
        return out

    def identity(self) -> str:
        """The manager's identifier as kube-apiserver sorts conflicts by (its JSON)."""
        ident: JSON = {"manager": self.manager, "operation": self.operation}
        if self.operation == UPDATE:
            ident["apiVersion"] = self.api_version
        if self.subresource:
            ident["subresource"] = self.subresource
        return orjson.dumps(ident).decode()


def _decode(entries: Any, trusted: bool) -> dict[_Key, _Entry] | None:
    """``managedFields`` as entries by key; None when kube-apiserver could not decode them.
    ``trusted`` trees (stored by us) are canonical already and are used as they are."""
    if not isinstance(entries, list):
        return None
    out: dict[_Key, _Entry] = {}
    for raw in entries:
        if not isinstance(raw, dict):
            return None
        operation, api_version = raw.get("operation"), raw.get("apiVersion")
        if operation not in (APPLY, UPDATE) or not isinstance(api_version, str) or not api_version:
            return None
        if raw.get("fieldsType") != "FieldsV1":
            return None
        tree = raw.get("fieldsV1")
        if tree is None:
            tree = {}
        elif not trusted and not valid_tree(tree):
            return None
        entry = _Entry(
            str(raw.get("manager") or ""),
            operation,
            api_version,
            str(raw.get("subresource") or ""),
            raw.get("time") if trusted else _time(raw.get("time")),
            tree if trusted else canonical_tree(tree),
        )
        out[entry.key] = entry
    return out


def _time(value: Any) -> str | None:
    """A client's ``time`` as metav1.Time shows it again (RFC 3339 in UTC, seconds)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return format_time(parsed)


def _is_reset(entries: Any, custom: bool) -> bool:
    """Whether a client asks to clear ``managedFields`` (``[]`` or ``[{}]``; a custom
    resource's ``[]`` is lost when its metadata goes through ObjectMeta, as if not sent)."""
    return isinstance(entries, list) and (entries == [{}] or (not entries and not custom))


def _encode(meta: JSON, entries: dict[_Key, _Entry]) -> None:
    kept = [e for e in entries.values() if e.tree]
    if not kept:
        meta.pop("managedFields", None)
        return
    kept.sort(
        key=lambda e: (
            e.operation,
            e.time or "",  # RFC 3339 in UTC at second precision sorts as time does
            e.manager,
            e.api_version,
            e.subresource,
        )
    )
    meta["managedFields"] = [e.encode() for e in kept]


def _without_managed(obj: JSON) -> JSON:
    """``obj`` without ``metadata.managedFields`` (a shallow copy when it has them)."""
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        return {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return obj


def _ordered(tree: Tree, prefix: Path = ()) -> Iterator[Path]:
    """The members of ``tree`` in structured-merge-diff's order (``Set.Iterate``): at each
    level the members, then the children's members."""
    for element, child in tree.items():
        if element != "." and (not child or "." in child):
            yield (*prefix, element)
    for element, child in tree.items():
        if element != "." and child:
            yield from _ordered(child, (*prefix, element))


def _under(path: Path, top: str | None) -> bool:
    return top is not None and bool(path) and path[0] == top


# The manager -----------------------------------------------------------------------------------


class FieldManager:
    """Keeps ``managedFields`` through writes; ``now`` gives the time entries are stamped with."""

    def __init__(self, kind: Kind, subresource: str, now: str) -> None:
        self.kind = kind
        self.subresource = subresource
        self.now = now
        self.ignored = _ignored(kind, subresource)

    def _owned(self, paths: set[Path]) -> set[Path]:
        """``paths`` without what no manager of this write owns."""
        top = self.ignored
        return {p for p in paths if p not in _STRIPPED and not _under(p, top)}

    def create(self, obj: JSON, manager: str) -> None:
        """Record a create by ``manager`` in ``obj`` (``managedFields`` it sent are kept)."""
        sent = obj["metadata"].get("managedFields")
        entries: dict[_Key, _Entry] = {}
        if sent and not _is_reset(sent, self.kind.custom):
            entries = _decode(sent, trusted=False) or {}
        self._update(self.kind.zero, obj, entries, manager)
        _encode(obj["metadata"], entries)

    def update(self, old: JSON, new: JSON, manager: str) -> None:
        """Record in ``new`` that ``manager`` wrote it over ``old`` (both stored objects)."""
        meta = new["metadata"]
        sent = meta.get("managedFields")
        live = old["metadata"].get("managedFields")
        entries: dict[_Key, _Entry] | None = None
        if not self.subresource:
            if _is_reset(sent, self.kind.custom):
                entries = {}
            elif sent and sent != live:
                entries = _decode(sent, trusted=False)
                if not entries:
                    entries = None
        if entries is None:
            entries = _decode(live, trusted=True) if live is not None else {}
            if entries is None:
                entries = {}
            else:  # the stored trees are changed in place: copy them first
                for entry in entries.values():
                    entry.tree = orjson.loads(orjson.dumps(entry.tree))
        if not entries:  # not tracked (any more): only an apply starts again
            meta.pop("managedFields", None)
            return
        try:
            self._update(old, new, entries, manager)
            _encode(meta, entries)
        except Malformed:
            if live is None:
                meta.pop("managedFields", None)
            else:
                meta["managedFields"] = live

    def _update(self, old: JSON, new: JSON, entries: dict[_Key, _Entry], manager: str) -> None:
        """Change ``entries`` for ``manager``'s write of ``new`` over ``old``."""
        changed, removed = compare(_without_managed(old), _without_managed(new), self.kind.type)
        changed, removed = self._owned(changed), self._owned(removed)
        if changed or removed:
            for entry in entries.values():
                for path in changed:
                    tree_unmark(entry.tree, path)
                for path in removed:
                    tree_unmark(entry.tree, path)
        taken = changed - removed
        if taken:
            mine = _Entry(manager, UPDATE, self.kind.api_version, self.subresource, self.now, {})
            entry = entries.setdefault(mine.key, mine)
            entry.time = self.now
            for path in taken:
                tree_insert(entry.tree, path)

    def apply(self, live: JSON | None, config: JSON, manager: str, force: bool) -> JSON:
        """``config`` applied by ``manager`` to ``live`` (None: a create): the object to store,
        with its ``managedFields``. Raises 409 on conflicts unless ``force``."""
        t = self.kind.type
        meta = config.get("metadata")
        if isinstance(meta, dict) and meta.get("managedFields") is not None:
            raise ApiStatus.bad_request("metadata.managedFields must be nil")
        errors = validation_errors(config, t)
        if errors:
            raise ApiStatus(500, "", self._typing_error(config, errors))
        applied = _Entry(manager, APPLY, self.kind.api_version, self.subresource, self.now, {})
        top = self.ignored
        try:
            mine = {p for p in field_set(config, t) if not _under(p, top)}
            if live is None:
                obj = merge(MISSING, config, t)
                entries = {applied.key: applied}
                applied.tree = tree_from_paths(mine - _STRIPPED)
                _encode(obj.setdefault("metadata", {}), entries)
                return obj  # type: ignore[no-any-return]
            current = _without_managed(live)
            entries = _decode(live["metadata"].get("managedFields"), trusted=True) or {}
            if not entries:  # fields set before anyone applied belong to one manager
                self._update(self.kind.zero, current, entries, _BEFORE_FIRST_APPLY)
            last_entry = entries.get(applied.key)
            last = (
                {p for p in tree_paths(last_entry.tree) if not _under(p, top)}
                if last_entry is not None
                else set()
            )
            sets = {key: tree_paths(e.tree) for key, e in entries.items()}
            sets[applied.key] = mine
            owned: set[Path] = set().union(*sets.values())
            merged = merge(current, config, t)
            result = prune(merged, t, last, owned)
            changed, removed = compare(current, result, t)
        except Malformed as exc:
            raise ApiStatus(500, "", self._typing_error(config, [str(exc)])) from exc
        changed = {p for p in changed if not _under(p, top)}
        removed = {p for p in removed if not _under(p, top)}
        conflicts: dict[_Key, set[Path]] = {}
        for key, paths in sets.items():
            if key != applied.key:
                found = paths & changed
                if found:
                    conflicts[key] = found
        if conflicts and not force:
            raise self._conflict(entries, conflicts)
        out: dict[_Key, _Entry] = {}
        for key, entry in entries.items():
            if key == applied.key:
                continue
            paths = sets[key] - conflicts.get(key, set()) - removed
            if paths != sets[key]:
                entry.tree = tree_from_paths(paths)
            out[key] = entry
        applied.tree = tree_from_paths(mine - _STRIPPED)
        if result == current:
            applied.time = last_entry.time if last_entry is not None else None
        out[applied.key] = applied
        if not isinstance(result, dict):
            result = {}
        result = {**result, "metadata": dict(result.get("metadata") or {})}
        _encode(result["metadata"], out)
        return result

    def _typing_error(self, config: JSON, errors: list[str]) -> str:
        meta = config.get("metadata") if isinstance(config.get("metadata"), dict) else {}
        assert isinstance(meta, dict)
        group, _, version = self.kind.api_version.rpartition("/")
        gvk = f"{group}/{version}, Kind={config.get('kind', '')}"
        where = f"{meta.get('namespace', '')}/{meta.get('name', '')}; {gvk}"
        shown = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
        return f"failed to create typed patch object ({where}): {shown}"

    def _conflict(self, entries: dict[_Key, _Entry], conflicts: dict[_Key, set[Path]]) -> ApiStatus:
        ordered = sorted(conflicts, key=lambda k: entries[k].identity())
        listed = [
            (entries[key], path)
            for key in ordered
            for path in _ordered(tree_from_paths(conflicts[key]))
        ]
        if len(listed) == 1:
            entry, path = listed[0]
            message = (
                f"Apply failed with 1 conflict: conflict with {entry.shown()}: {path_string(path)}"
            )
        else:
            lines: list[str] = []
            for key in ordered:
                lines.append(f"conflicts with {entries[key].shown()}:")
                lines += [f"- {path_string(p)}" for p in _ordered(tree_from_paths(conflicts[key]))]
            message = f"Apply failed with {len(listed)} conflicts: " + "\n".join(lines)
        causes = [
            {
                "reason": "FieldManagerConflict",
                "message": f"conflict with {entry.shown()}",
                "field": path_string(path),
            }
            for entry, path in listed
        ]
        return ApiStatus(409, "Conflict", message, {"causes": causes})
