"""The value algebra of server-side apply, as structured-merge-diff defines it.

Applying a configuration merges it into the live object (:func:`merge`: the configuration wins
for scalars and atomic nodes, maps merge by key, keyed lists and sets by item, in
structured-merge-diff's order), then prunes what the manager applied last time and no longer
does, unless someone still owns it (:func:`prune`). Both walk values along their
:class:`~.fieldtypes.Type`. :func:`field_set` is the set of paths a configuration *owns*
(``ToFieldSet``), :func:`validation_errors` what kube-apiserver refuses in one before merging it.
All functions are pure: they build new values and never change their inputs.
"""

from __future__ import annotations

from typing import Any, Final

from kontinue.kube.schema._errors import _go_sharp

from .fieldsets import Malformed, Path, Tree, element_string, item_element, tree_from_paths
from .fieldtypes import ATOMIC, LIST, MAP, SCALAR, Type

__all__ = [
    "MISSING",
    "field_set",
    "merge",
    "node_paths",
    "prune",
    "remove_items",
    "validation_errors",
    "with_named_fields",
]


class _Missing:
    """An absent value (as opposed to JSON null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final[Any] = _Missing()


# Merging ---------------------------------------------------------------------------------------


def merge(lhs: Any, rhs: Any, t: Type) -> Any:
    """``rhs`` (the configuration) merged into ``lhs`` (the live value); either may be MISSING."""
    if rhs is MISSING:
        return lhs
    facet = t.facet(rhs)
    if facet == MAP:
        left = lhs if isinstance(lhs, dict) else None
        right = rhs if isinstance(rhs, dict) else None
        if t.map_atomic or (not left and not right):
            return rhs
        out: dict[str, Any] = {}
        left, right = left or {}, right or {}
        for key, value in left.items():
            out[key] = merge(value, right.get(key, MISSING), t.field(key))
        for key, value in right.items():
            if key not in left:
                out[key] = merge(MISSING, value, t.field(key))
        return out
    if facet == LIST:
        left_list = lhs if isinstance(lhs, list) else None
        right_list = rhs if isinstance(rhs, list) else None
        if t.list_kind == ATOMIC or (not left_list and not right_list):
            return rhs
        return _merge_items(left_list or [], right_list or [], t)
    return rhs


def _index(items: list[Any], t: Type, duplicates: bool) -> tuple[list[str], dict[str, Any]]:
    elements: list[str] = []
    observed: dict[str, Any] = {}
    for item in items:
        element = item_element(item, t)
        if element in observed:
            if not duplicates:
                raise Malformed(f"duplicate entries for key {element_string(element)}")
            observed[element] = None
        else:
            observed[element] = item
        elements.append(element)
    return elements, observed


def _merge_items(lhs: list[Any], rhs: list[Any], t: Type) -> list[Any]:
    """Merge keyed lists or sets: live items stay where they are, applied items come in the
    configuration's order (``mergingWalker.visitListItems``)."""
    items = t.items if t.items is not None else Type(SCALAR)
    rhs_elements, rhs_items = _index(rhs, t, duplicates=False)
    lhs_elements, lhs_items = _index(lhs, t, duplicates=True)
    shared = [e for e in rhs_elements if e in lhs_items]
    next_shared: str | None = shared.pop(0) if shared else None
    merged: set[str] = set()
    out: list[Any] = []
    li = ri = 0
    while li < len(lhs_elements) or ri < len(rhs_elements):
        if li < len(lhs_elements) and ri < len(rhs_elements):
            element = lhs_elements[li]
            if element == rhs_elements[ri]:
                merged.add(element)
                out.append(merge(_live(lhs_items[element]), rhs_items[element], items))
                li += 1
                ri += 1
                next_shared = shared.pop(0) if shared else None
                continue
            if element in rhs_items and next_shared is not None and next_shared != element:
                li += 1  # a shared item, but not the one due now
                continue
        if li < len(lhs_elements):
            element = lhs_elements[li]
            if element not in rhs_items:
                out.append(lhs[li])
                li += 1
                continue
            if element in merged:
                li += 1
        if ri < len(rhs_elements):
            element = rhs_elements[ri]
            merged.add(element)
            out.append(merge(_live(lhs_items.get(element, MISSING)), rhs_items[element], items))
            ri += 1
            if next_shared is not None and next_shared == element:
                next_shared = shared.pop(0) if shared else None
    return out


def _live(item: Any) -> Any:
    return MISSING if item is None else item


# Field sets ------------------------------------------------------------------------------------


def field_set(value: Any, t: Type, path: Path = ()) -> set[Path]:
    """The paths ``value`` owns when applied (``ToFieldSet``): its scalars, atomic nodes, list
    items, undeclared map keys, and fields that are null or empty maps."""
    out: set[Path] = set()
    _field_set(value, t, path, out)
    return out


def _field_set(value: Any, t: Type, path: Path, out: set[Path]) -> None:
    facet = t.facet(value)
    if facet == SCALAR:
        out.add(path)
    elif facet == LIST:
        if t.list_kind == ATOMIC:
            out.add(path)
        elif isinstance(value, list):
            items = t.items if t.items is not None else Type(SCALAR)
            elements = [item_element(item, t) for item in value]
            seen: set[str] = set()
            duplicates: set[str] = set()
            for element in elements:
                (duplicates if element in seen else seen).add(element)
            for element in duplicates:
                out.add((*path, element))
            for element, item in zip(elements, value, strict=True):
                if element not in duplicates:
                    child = (*path, element)
                    _field_set(item, items, child, out)
                    out.add(child)
    elif t.map_atomic:
        out.add(path)
    elif isinstance(value, dict):
        for key, sub in value.items():
            child = (*path, "f:" + key)
            _field_set(sub, t.field(key), child, out)
            if sub is None or sub == {} or key not in t.fields:
                out.add(child)


def node_paths(value: Any, t: Type, path: Path, out: list[Path]) -> None:
    """Every node of ``value`` at ``path`` (what a comparison reports as added or removed)."""
    out.append(path)
    facet = t.facet(value)
    if facet == MAP and isinstance(value, dict) and value and not t.map_atomic:
        for key, sub in value.items():
            node_paths(sub, t.field(key), (*path, "f:" + key), out)
    elif facet == LIST and isinstance(value, list) and value and t.list_kind != ATOMIC:
        items = t.items if t.items is not None else Type(SCALAR)
        for item in value:
            node_paths(item, items, (*path, item_element(item, t)), out)


def with_named_fields(paths: set[Path], t: Type) -> set[Path]:
    """``paths`` plus the declared struct fields they go through (``EnsureNamedFieldsAreMembers``),
    so that pruning removes a struct field whose contents it removes."""
    out = set(paths)
    for path in paths:
        node = t
        for depth, element in enumerate(path[:-1]):
            if element.startswith("f:"):
                name = element[2:]
                if node.facets & MAP and name in node.fields:
                    out.add(path[: depth + 1])
                node = node.field(name)
            else:
                node = node.items if node.items is not None else Type(SCALAR)
    return out


# Removing ---------------------------------------------------------------------------------------


def remove_items(value: Any, paths: set[Path], t: Type) -> Any:
    """``value`` without the members of ``paths`` (``RemoveItems``)."""
    if not paths:
        return value
    return _remove(value, tree_from_paths(paths), t)


def _remove(value: Any, tree: Tree, t: Type) -> Any:
    facet = t.facet(value)
    if facet == SCALAR:
        return value
    if facet == LIST:
        if not isinstance(value, list) or not value or t.list_kind == ATOMIC:
            return None
        items = t.items if t.items is not None else Type(SCALAR)
        kept: list[Any] = []
        for item in value:
            element = item_element(item, t)
            sub = tree.get(element)
            if sub is not None and (not sub or "." in sub):
                continue
            kept.append(_remove(item, sub, items) if sub else item)
        return kept or None
    if not isinstance(value, dict) or not value or t.map_atomic:
        return None
    out: dict[str, Any] = {}
    for key, sub_value in value.items():
        sub = tree.get("f:" + key)
        if sub is not None and (not sub or "." in sub):
            continue
        out[key] = _remove(sub_value, sub, t.field(key)) if sub else sub_value
    return out or None


def prune(merged: Any, t: Type, last: set[Path], owned: set[Path]) -> Any:
    """``merged`` without what the applier applied last time (``last``), no longer applies and
    nobody owns (``owned``: every manager's fields, the new configuration's included)."""
    if not last:
        return merged
    last_named = with_named_fields(last, t)
    pruned = remove_items(merged, last_named, t)
    merged_set = with_named_fields(field_set(merged, t), t)
    pruned_set = with_named_fields(field_set(pruned, t), t)
    owned_named = with_named_fields(owned, t)
    pruned = remove_items(merged, merged_set - (pruned_set | owned_named), t)
    pruned_set = with_named_fields(field_set(pruned, t), t)
    return remove_items(merged, (merged_set - pruned_set) & last_named, t)


# Validation -------------------------------------------------------------------------------------


def validation_errors(value: Any, t: Type) -> list[str]:
    """Why kube-apiserver cannot type an applied configuration (``path: reason`` each)."""
    errors: list[str] = []
    _validate(value, t, "", errors)
    return errors


def _go_type(value: Any) -> str:
    """Go's ``%T`` of a decoded JSON value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return "<nil>"


def _go_plain(value: Any) -> str:
    """Go's ``%v`` of a decoded JSON value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + " ".join(_go_plain(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_plain(value[k])}" for k in sorted(value)) + "]"
    if value is None:
        return "<nil>"
    return _go_sharp(value)


def _scalar_error(value: Any, t: Type) -> str | None:
    """``validateScalar``: a value of the wrong kind for a typed scalar."""
    if value is None:
        return None
    if t.scalar == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"expected numeric (int or float), got {_go_type(value)}"
    elif t.scalar == "string":
        if not isinstance(value, str):
            return f"expected string, got &value.valueUnstructured{{Value:{_go_sharp(value)}}}"
    elif t.scalar == "boolean":
        if not isinstance(value, bool):
            return f"expected boolean, got &{{{_go_plain(value)}}}"
    elif isinstance(value, dict | list):
        return f"expected any scalar, got &{{{_go_plain(value)}}}"
    return None


def _validate(value: Any, t: Type, where: str, errors: list[str]) -> None:
    facet = t.facet(value)
    if facet == SCALAR:
        error = _scalar_error(value, t)
        if error:
            errors.append(f"{where}: {error}")
        return
    if value is None:
        return
    if facet == LIST:
        if not isinstance(value, list):
            errors.append(f"{where}: expected list, got &{{{_go_plain(value)}}}")
            return
        seen: set[str] = set()
        items = t.items if t.items is not None else Type(SCALAR)
        for index, item in enumerate(value):
            if t.list_kind == ATOMIC:
                shown = f"[{index}]"
            else:
                try:
                    element = item_element(item, t)
                except Malformed as exc:
                    errors.append(f"{where}: element {index}: {exc}")
                    return
                shown = element_string(element)
                if element in seen:
                    errors.append(f"{where}: duplicate entries for key {shown}")
                seen.add(element)
            _validate(item, items, where + shown, errors)
        return
    if not isinstance(value, dict):
        errors.append(f"{where}: expected map, got &{{{_go_plain(value)}}}")
        return
    for key in sorted(value):
        if key not in t.fields and t.elements is None:
            errors.append(f"{where}.{key}: field not declared in schema")
            return
        _validate(value[key], t.field(key), f"{where}.{key}", errors)
