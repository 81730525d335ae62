"""Strategic merge patch, applied to plain JSON values the way kube-apiserver applies it.

``kubectl apply``, ``edit`` and ``label`` send strategic merge patches to built-in kinds, full of
directives (``$setElementOrder``, ``$deleteFromPrimitiveList``, ``$patch``, ``$retainKeys``). Were
the dev server to apply them differently from kube-apiserver, one command would give different
objects locally and on a cluster. So this is a port of the server-side path of
``k8s.io/apimachinery/pkg/util/strategicpatch`` (``StrategicMergeMapPatch``), ordering rules
included, with the Go struct tags replaced by a ``merge_keys(path)`` lookup.

Deliberate differences, all on input the real server mishandles or rejects: directives and nulls
never leak into the result (not even inside added values); ``$patch: delete`` on a map field
removes the field rather than leaving ``{}``; ``$patch: merge`` is accepted as the explicit
default; ``{"$patch": "replace"}`` works in primitive lists too; and for a list the table does
not know, a ``$setElementOrder`` directive tells the merge key (kubectl sends one only for lists
it merges). Inputs are deep-copied, never mutated; errors are :class:`PatchError`, which lives
here (not in :mod:`.patching`) so that the other patch flavours can share it without a cycle.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = [
    "DEFAULT_MERGE_KEYS",
    "PatchError",
    "default_merge_keys",
    "strategic_merge_patch",
]

MergeKeys = Callable[[tuple[str, ...]], str | None]

_DIRECTIVE: Final = "$patch"
_RETAIN_KEYS: Final = "$retainKeys"
_DELETE_PREFIX: Final = "$deleteFromPrimitiveList"
_ORDER_PREFIX: Final = "$setElementOrder"


class PatchError(ValueError):
    """A patch that cannot be applied; the message names the offending path."""


# -- Which lists merge, and by which key --

_CONTAINERS: Final = ("containers", "initContainers", "ephemeralContainers")

# The patch strategy of the merging lists of the built-in kinds the dev server serves, from the
# Go struct tags, keyed by the last two path elements: (parent map key, list field) -> merge key,
# "" meaning a primitive list merged as a set. Lists not listed are replaced by a patch.
_MERGE_KEYS: Final[Mapping[tuple[str, str], str]] = {
    # ObjectMeta, at any depth (pod templates too)
    ("metadata", "finalizers"): "",
    ("metadata", "ownerReferences"): "uid",
    # PodSpec: spec.* of a Pod, spec.template.spec.* of a Job
    **{("spec", field): "name" for field in _CONTAINERS},
    ("spec", "volumes"): "name",
    ("spec", "imagePullSecrets"): "name",
    ("spec", "hostAliases"): "ip",
    ("spec", "topologySpreadConstraints"): "topologyKey",
    ("spec", "schedulingGates"): "name",
    ("spec", "resourceClaims"): "name",
    # Container, EphemeralContainer
    **{(c, "env"): "name" for c in _CONTAINERS},
    **{(c, "ports"): "containerPort" for c in _CONTAINERS},
    **{(c, "volumeMounts"): "mountPath" for c in _CONTAINERS},
    **{(c, "volumeDevices"): "devicePath" for c in _CONTAINERS},
    # PodStatus, JobStatus
    ("status", "conditions"): "type",
    ("status", "podIPs"): "ip",
    ("status", "hostIPs"): "ip",
    # ServiceAccount (top level; its imagePullSecrets are replaced)
    ("", "secrets"): "name",
}


def default_merge_keys(path: tuple[str, ...]) -> str | None:
    """The patch strategy of a list field of the built-in kinds the dev server serves.

    ``path`` holds the map keys from the object root to the list (no list indices), e.g.
    ``("spec", "template", "spec", "containers", "env")``. Returns the merge key, ``""`` for a
    list of primitives merged as a set, or ``None`` for a list that a patch replaces. Only the
    last two path elements count (``""`` standing for the root); the table is ``_MERGE_KEYS``:
    finalizers (set) and ownerReferences (uid) of any metadata; containers, initContainers,
    ephemeralContainers, volumes, imagePullSecrets, schedulingGates, resourceClaims (name),
    hostAliases (ip), topologySpreadConstraints (topologyKey) of a pod spec; env (name), ports
    (containerPort), volumeMounts (mountPath), volumeDevices (devicePath) of a container;
    conditions (type), podIPs and hostIPs (ip) of a status; secrets (name) of a ServiceAccount.
    ConfigMap, Secret, Namespace, Event and Lease have no merging lists besides the metadata ones.
    """
    if not path:
        return None
    parent = path[-2] if len(path) >= 2 else ""
    return _MERGE_KEYS.get((parent, path[-1]))


DEFAULT_MERGE_KEYS: Final[MergeKeys] = default_merge_keys


# -- Strategic merge patch --


class _Deleted:
    """Marks a value removed by ``$patch: delete``."""


_DELETED: Final = _Deleted()


def _where(path: tuple[str, ...]) -> str:
    return ".".join(path) or "<root>"


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null" if value is None else type(value).__name__


def _hkey(value: Any) -> tuple[str, Any]:
    """A hashable identity for a scalar in which ``True`` and ``1`` differ (as in Go)."""
    kind = _kind(value)
    if kind in ("map", "list"):
        return kind, repr(value)
    return kind, value


def _element_kind(items: list[Any], path: tuple[str, ...]) -> str:
    """``"map"`` or ``"scalar"``: merged lists must hold one type only (``sliceElementType``)."""
    kinds = {_kind(item) for item in items}
    if "list" in kinds:
        raise PatchError(f"{_where(path)}: lists of lists are not supported")
    if "null" in kinds:
        raise PatchError(f"{_where(path)}: null elements are not allowed in a merged list")
    if len(kinds) > 1:
        raise PatchError(f"{_where(path)}: list element types are not identical: {items}")
    return "map" if kinds == {"map"} else "scalar"


def _directive_key(key: str, prefix: str, path: tuple[str, ...]) -> str:
    head, sep, field = key.partition("/")
    if head != prefix or not sep:
        kind = "primitive list" if prefix == _DELETE_PREFIX else "setElementOrder list"
        raise PatchError(f"{_where(path)}: invalid patch format of {kind}: {key!r}")
    return field


class _Alias:
    """The live list as ``mergePatchIntoOriginal`` sees it after ``mergeSlice`` ran.

    The Go code orders a ``$setElementOrder`` list by the live slice, whose backing array
    ``mergeSlice`` has meanwhile changed in place: deletions shift it left and, as the apiserver
    builds the live object with ``len == cap``, appends after a deletion land in the freed slots.
    Replaying those writes keeps the resulting order identical to a real server's.
    """

    def __init__(self, items: list[Any]) -> None:
        self.array = list(items)
        self.length = len(items)
        self.attached = True

    def delete(self, index: int) -> None:
        if self.attached:
            end = self.length
            self.array[index : end - 1] = self.array[index + 1 : end]
            self.length -= 1

    def append(self, value: Any) -> None:
        if self.attached and self.length < len(self.array):
            self.array[self.length] = value
            self.length += 1
        else:
            self.detach()  # the slice was reallocated: the live array no longer changes

    def detach(self) -> None:
        self.attached = False


class _StrategicMerge:
    """One strategic merge; ``merge_keys`` plays the role of the Go struct tags."""

    def __init__(self, merge_keys: MergeKeys) -> None:
        self.merge_keys = merge_keys

    # -- values without an original ----------------------------------------------------------

    def fresh(self, value: Any, path: tuple[str, ...]) -> Any:
        """A patch value that has nothing to merge with, cleaned of nulls and directives."""
        if isinstance(value, dict):
            return self.merge_map({}, value, path)
        if isinstance(value, list):
            return self.fresh_list(value, path)
        return value

    def fresh_list(self, items: list[Any], path: tuple[str, ...]) -> list[Any]:
        out: list[Any] = []
        for item in items:
            if isinstance(item, dict) and item.get(_DIRECTIVE) in ("delete", "replace"):
                continue  # list directives: replace markers and deletions of nothing
            item = self.fresh(item, path)
            if item is not _DELETED:
                out.append(item)
        return out

    # -- maps --------------------------------------------------------------------------------

    def merge_map(
        self, original: dict[str, Any], patch: dict[str, Any], path: tuple[str, ...]
    ) -> dict[str, Any] | _Deleted:
        """``mergeMap``: merge ``patch`` into ``original`` (both owned, mutated in place)."""
        if _DIRECTIVE in patch:
            directive = patch.pop(_DIRECTIVE)
            if directive == "delete":
                return _DELETED
            if directive == "replace":
                return self.merge_map({}, patch, path)
            if directive != "merge":
                raise PatchError(
                    f"{_where(path)}: unknown patch type: {directive!r} in map: {patch}"
                )
        if _RETAIN_KEYS in patch:
            self.retain_keys(original, patch, path)
        for key in [k for k in patch if k.startswith(_ORDER_PREFIX)]:
            self.set_element_order(original, patch, key, path)
        deletions: list[tuple[str, Any]] = []
        for key, value in patch.items():
            if key.startswith(_DELETE_PREFIX):
                deletions.append((_directive_key(key, _DELETE_PREFIX, path), value))
            elif not key.startswith("$"):  # unknown directives are dropped, never stored
                self.merge_field(original, key, value, (*path, key))
        for key, value in deletions:
            self.delete_from_primitive_list(original, key, value, (*path, key))
        return original

    def merge_field(
        self, original: dict[str, Any], key: str, value: Any, path: tuple[str, ...]
    ) -> None:
        if value is None:
            original.pop(key, None)
            return
        current = original.get(key)
        result: Any
        if isinstance(current, dict) and isinstance(value, dict):
            result = self.merge_map(current, value, path)
        elif isinstance(current, list) and isinstance(value, list):
            merge_key = self.merge_keys(path)
            if merge_key is None:
                result = self.fresh(value, path)
            else:
                result = self.merge_list(current, value, merge_key, path)
        else:  # absent, a scalar, or a change of type: the patch value wins
            result = self.fresh(value, path)
        if result is _DELETED:
            original.pop(key, None)
        else:
            original[key] = result

    def retain_keys(
        self, original: dict[str, Any], patch: dict[str, Any], path: tuple[str, ...]
    ) -> None:
        """``$retainKeys``: clear every field of ``original`` that is not listed."""
        retain = patch.pop(_RETAIN_KEYS)
        if not isinstance(retain, list):
            raise PatchError(f"{_where(path)}: invalid patch format of retainKeys: {retain!r}")
        keep = {item for item in retain if isinstance(item, str)}
        for key, value in patch.items():
            if value is None or key.startswith((_DELETE_PREFIX, _ORDER_PREFIX)):
                continue
            if key not in keep:
                raise PatchError(
                    f"{_where(path)}: invalid patch format of retainKeys: field {key!r} of the "
                    "patch is not in the $retainKeys list"
                )
        for key in [k for k in original if k not in keep]:
            del original[key]

    def delete_from_primitive_list(
        self, original: dict[str, Any], key: str, value: Any, path: tuple[str, ...]
    ) -> None:
        """``$deleteFromPrimitiveList/<field>``: remove values from a list of primitives."""
        if value is None:
            return
        if not isinstance(value, list):
            raise PatchError(f"{_where(path)}: invalid patch format of primitive list: {value!r}")
        current = original.get(key)
        if not isinstance(current, list):
            return  # nothing to delete from
        if any(isinstance(item, dict | list) for item in [*current, *value]):
            raise PatchError(f"{_where(path)}: $deleteFromPrimitiveList needs a primitive list")
        doomed = {_hkey(item) for item in value}
        original[key] = [item for item in current if _hkey(item) not in doomed]

    # -- lists -------------------------------------------------------------------------------

    def merge_list(
        self,
        original: list[Any],
        patch: list[Any],
        merge_key: str,
        path: tuple[str, ...],
        alias: _Alias | None = None,
    ) -> list[Any]:
        """``mergeSlice``: merge a patch list into a list with the merge strategy."""
        alias = alias or _Alias(original)
        if not original and not patch:
            return original
        if not merge_key and any(isinstance(item, dict) and _DIRECTIVE in item for item in patch):
            if any(isinstance(i, dict) and i.get(_DIRECTIVE) == "replace" for i in patch):
                return self.fresh_list(patch, path)
            patch = [i for i in patch if not (isinstance(i, dict) and _DIRECTIVE in i)]
        kind = _element_kind(original + patch, path)
        if kind == "scalar":
            merged = _dedupe(original + patch)
        else:
            if not merge_key:
                raise PatchError(f"{_where(path)}: cannot merge lists without merge key")
            original, patch = self.special_elements(list(original), patch, merge_key, path, alias)
            merged = self.merge_elements(list(original), patch, merge_key, path, alias)
        in_patch, server_only = _partition(merged, patch, kind, merge_key, path)
        return _normalize_order(in_patch, server_only, patch, original, kind, merge_key)

    def special_elements(
        self,
        original: list[Any],
        patch: list[Any],
        merge_key: str,
        path: tuple[str, ...],
        alias: _Alias,
    ) -> tuple[list[Any], list[Any]]:
        """``mergeSliceWithSpecialElements``: apply ``$patch`` elements of a list of maps."""
        plain: list[Any] = []
        replace = False
        for item in patch:
            directive = item.get(_DIRECTIVE)
            if directive is None:
                plain.append(item)
            elif directive == "delete":
                if merge_key not in item:
                    raise PatchError(_no_merge_key(item, merge_key, path))
                doomed = _hkey(item[merge_key])
                for index in reversed(range(len(original))):
                    if _identity(original[index], "map", merge_key) == doomed:
                        del original[index]
                        alias.delete(index)
            elif directive == "replace":
                replace = True
            elif directive == "merge":
                rest = {k: v for k, v in item.items() if k != _DIRECTIVE}
                if rest:
                    plain.append(rest)
            else:
                raise PatchError(
                    f"{_where(path)}: unknown patch type: {directive!r} in map: {item}"
                )
        if replace:
            alias.detach()
            return [self.fresh(item, path) for item in plain], []
        return original, plain

    def merge_elements(
        self,
        merged: list[Any],
        patch: list[Any],
        merge_key: str,
        path: tuple[str, ...],
        alias: _Alias,
    ) -> list[Any]:
        """``mergeSliceWithoutSpecialElements``: merge maps by key, add the unmatched ones."""
        for item in patch:
            if merge_key not in item:
                raise PatchError(_no_merge_key(item, merge_key, path))
            wanted = _hkey(item[merge_key])
            for index, existing in enumerate(merged):
                if _identity(existing, "map", merge_key) == wanted:
                    result = self.merge_map(existing, item, path)
                    merged[index] = {} if result is _DELETED else result
                    break
            else:
                merged.append(self.fresh(item, path))
                alias.append(merged[-1])
        return merged

    def set_element_order(
        self, original: dict[str, Any], patch: dict[str, Any], key: str, path: tuple[str, ...]
    ) -> None:
        """``mergePatchIntoOriginal``: merge the list named by a ``$setElementOrder/<field>``
        directive and order it: directive order, then patch order, then live order."""
        order = patch.pop(key)
        field = _directive_key(key, _ORDER_PREFIX, path)
        fpath = (*path, field)
        if not isinstance(order, list):
            raise PatchError(f"{_where(fpath)}: invalid patch format of setElementOrder list")
        current, change = original.get(field), patch.get(field)
        if field in patch and change is None:
            return  # the list is deleted
        if field in original and not isinstance(current, list):
            return  # a change of type: the ordinary merge replaces the value
        if field in patch and not isinstance(change, list):
            raise PatchError(f"{_where(fpath)}: expected a list, got {_kind(change)}")
        if field not in original and field not in patch:
            return
        merge_key = self.merge_keys(fpath)
        if merge_key is None:
            merge_key = _infer_merge_key(order)
            if merge_key is None:
                return  # not a merging list: the ordinary merge replaces it
        _validate_order(change or [], order, merge_key, fpath)
        live: list[Any] = current if isinstance(current, list) else []
        alias = _Alias(live)
        if not isinstance(change, list):
            merged = list(live)
        elif field not in original:
            merged = self.fresh_list(change, fpath)
        else:
            merged = self.merge_list(live, change, merge_key, fpath, alias)
            live = alias.array
        patch.pop(field, None)
        if not merged:
            original[field] = merged
            return
        kind = _element_kind(merged, fpath)
        in_order, server_only = _partition(merged, order, kind, merge_key, fpath)
        original[field] = _normalize_order(in_order, server_only, order, live, kind, merge_key)


_Identity = tuple[str, Any] | None


def _no_merge_key(item: Any, merge_key: str, path: tuple[str, ...]) -> str:
    return f"{_where(path)}: map: {item} does not contain declared merge key: {merge_key}"


def _dedupe(items: list[Any]) -> list[Any]:
    seen: set[tuple[str, Any]] = set()
    out: list[Any] = []
    for item in items:
        if _hkey(item) not in seen:
            seen.add(_hkey(item))
            out.append(item)
    return out


def _identity(item: Any, kind: str, merge_key: str) -> _Identity:
    """What identifies a list element: the merge key's value for maps, the value otherwise."""
    if kind == "map":
        if not isinstance(item, dict) or merge_key not in item:
            return None
        return _hkey(item[merge_key])
    return _hkey(item)


def _partition(
    merged: list[Any], by: list[Any], kind: str, merge_key: str, path: tuple[str, ...]
) -> tuple[list[Any], list[Any]]:
    """Split ``merged`` into the elements present in ``by`` and the server-only rest."""
    if kind == "map":
        for item in merged:
            if not isinstance(item, dict) or merge_key not in item:
                raise PatchError(_no_merge_key(item, merge_key, path))
    present = {_identity(item, kind, merge_key) for item in by}
    present.discard(None)
    inside = [item for item in merged if _identity(item, kind, merge_key) in present]
    outside = [item for item in merged if _identity(item, kind, merge_key) not in present]
    return inside, outside


def _positions(order: list[Any], kind: str, merge_key: str) -> dict[_Identity, int]:
    positions: dict[_Identity, int] = {}
    for index, item in enumerate(order):
        positions.setdefault(_identity(item, kind, merge_key), index)
    positions.pop(None, None)
    return positions


def _normalize_order(
    patch_items: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    kind: str,
    merge_key: str,
) -> list[Any]:
    """``normalizeElementOrder``: sort both groups, then interleave them by the live order.

    Patch items keep the patch order; each server-only item goes before the first patch item
    that comes after it in the live list. Patch items new to the list therefore come first
    unless a ``$setElementOrder`` directive places them, exactly as on a real API server.
    """

    def ident(item: Any) -> _Identity:
        return _identity(item, kind, merge_key)

    def ranked(items: list[Any], order: list[Any]) -> list[Any]:
        positions = _positions(order, kind, merge_key)
        return sorted(items, key=lambda item: positions.get(ident(item), len(order)))

    left, right = ranked(server_only, server_order), ranked(patch_items, patch_order)
    live = _positions(server_order, kind, merge_key)
    out: list[Any] = []
    while left or right:
        take_left = bool(left)
        if left and right:
            li, ri = live.get(ident(left[0])), live.get(ident(right[0]))
            take_left = li is not None and ri is not None and li < ri
        out.append((left if take_left else right).pop(0))
    return out


def _infer_merge_key(order: list[Any]) -> str | None:
    """The merge key a ``$setElementOrder`` list implies: its maps have only that key."""
    if not order:
        return None
    if all(not isinstance(item, dict | list) for item in order):
        return ""
    keys = {str(key) for item in order if isinstance(item, dict) for key in item}
    if len(keys) == 1 and all(isinstance(item, dict) and len(item) == 1 for item in order):
        return keys.pop()
    return None


def _validate_order(
    patch: list[Any], order: list[Any], merge_key: str, path: tuple[str, ...]
) -> None:
    """``validatePatchWithSetOrderList``: the patch list must follow the directive's order."""
    kind = "map" if merge_key else "scalar"
    if merge_key:
        for item in order:
            if not isinstance(item, dict) or merge_key not in item:
                raise PatchError(_no_merge_key(item, merge_key, path))
    if not order or not patch:
        return
    if merge_key:
        for item in patch:
            if not isinstance(item, dict):
                raise PatchError(f"{_where(path)}: expected a map, got {_kind(item)}")
        patch = [item for item in patch if item.get(_DIRECTIVE) != "delete"]
    p = o = 0
    while p < len(patch) and o < len(order):
        if isinstance(patch[p], dict) and _DIRECTIVE in patch[p]:
            p += 1
            continue
        if merge_key and merge_key not in patch[p]:
            raise PatchError(_no_merge_key(patch[p], merge_key, path))
        if _identity(patch[p], kind, merge_key) == _identity(order[o], kind, merge_key):
            p += 1
        o += 1
    if p < len(patch):
        raise PatchError(
            f"{_where(path)}: the order in patch list {patch} doesn't match "
            f"{_ORDER_PREFIX} list {order}"
        )


def strategic_merge_patch(
    target: dict[str, Any], patch: dict[str, Any], merge_keys: MergeKeys | None = None
) -> dict[str, Any]:
    """Apply a strategic merge patch the way kube-apiserver does for built-in kinds.

    ``merge_keys(path)`` tells, for the list at ``path`` (map keys from the root, no indices),
    the merge key, ``""`` for a primitive list merged as a set, or ``None`` to replace the
    list; it defaults to :func:`default_merge_keys`.
    """
    if not isinstance(target, dict):
        raise PatchError(f"the object to patch must be a JSON object, got {_kind(target)}")
    if not isinstance(patch, dict):
        raise PatchError(f"a strategic merge patch must be a JSON object, got {_kind(patch)}")
    merger = _StrategicMerge(merge_keys or default_merge_keys)
    result = merger.merge_map(copy.deepcopy(target), copy.deepcopy(patch), ())
    return {} if isinstance(result, _Deleted) else result
