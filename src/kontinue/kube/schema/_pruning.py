"""Pruning and defaulting: what kube-apiserver does to a custom resource before validating it."""

from __future__ import annotations

import copy
from typing import Any

from ._errors import JSON
from ._unchanged import KEPT, NOTHING, Unchanged, below

_META = ("apiVersion", "kind", "metadata")


def _render(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def prune(obj: JSON, schema: JSON, unchanged: Unchanged = NOTHING) -> list[str]:
    """Remove (in place) the fields ``schema`` does not declare; return their sorted paths.

    ``x-kubernetes-preserve-unknown-fields: true`` keeps unknown fields at its node (declared ones
    are still pruned below it), ``additionalProperties`` keeps every key (a boolean one prunes the
    values' own fields), and ``x-kubernetes-embedded-resource`` keeps ``apiVersion``, ``kind`` and
    ``metadata``.  At the root those three are always kept; metadata is not pruned here. What
    an update leaves ``unchanged`` is skipped.
    """
    removed: list[str] = []
    _prune(obj, {**schema, "x-kubernetes-embedded-resource": True}, [], removed, unchanged.root)
    return sorted(removed)


def _prune(x: Any, s: JSON | None, path: list[str | int], removed: list[str], kept: Any) -> None:
    if kept is KEPT:
        return
    if s is not None and s.get("x-kubernetes-preserve-unknown-fields") is True:
        _skip_prune(x, s, path, removed, kept)
    elif isinstance(x, dict):
        if s is None:
            removed.extend(_render([*path, k]) for k in x)
            x.clear()
            return
        props, extra = s.get("properties") or {}, s.get("additionalProperties")
        for k in list(x):
            if s.get("x-kubernetes-embedded-resource") and k in _META:
                continue
            if k in props or extra is not None:
                sub = props[k] if k in props else _sub(extra)
                _prune(x[k], sub, [*path, k], removed, below(kept, k))
            else:
                if k not in _META or path:
                    removed.append(_render([*path, k]))
                del x[k]
    elif isinstance(x, list):
        for i, item in enumerate(x):
            _prune(item, _sub(s.get("items")) if s else None, [*path, i], removed, below(kept, i))


def _skip_prune(x: Any, s: JSON, path: list[str | int], removed: list[str], kept: Any) -> None:
    if kept is KEPT:
        return
    props, extra = s.get("properties") or {}, s.get("additionalProperties")
    if isinstance(x, dict):
        for k in x:
            if s.get("x-kubernetes-embedded-resource") and k in _META:
                continue
            if k in props or extra is not None:
                sub = props[k] if k in props else _sub(extra)
                _prune(x[k], sub, [*path, k], removed, below(kept, k))
    elif isinstance(x, list) and isinstance(s.get("items"), dict):
        for i, item in enumerate(x):
            _skip_prune(item, s["items"], [*path, i], removed, below(kept, i))


def _sub(schema: Any) -> JSON | None:
    return schema if isinstance(schema, dict) else None


def _field_schema(s: JSON | None, key: str) -> JSON | None:
    if s is None:
        return None
    props = s.get("properties") or {}
    return _sub(props[key]) if key in props else _sub(s.get("additionalProperties"))


def apply_defaults(obj: JSON, schema: JSON, unchanged: Unchanged = NOTHING) -> None:
    """Drop non-nullable nulls without a default, then apply ``default`` values, in place.

    An absent field, or a non-nullable null, gets a deep copy of its default; defaulting recurses
    into objects (properties and additionalProperties) and array items.  A nullable null is kept.
    What an update leaves ``unchanged`` is skipped.
    """
    _prune_nulls(obj, schema, unchanged.root)
    _default(obj, schema, unchanged.root)


def _prune_nulls(x: Any, s: JSON | None, kept: Any) -> None:
    if kept is KEPT:
        return
    if isinstance(x, dict):
        for k in list(x):
            sub = _field_schema(s, k)
            if (
                x[k] is None
                and sub is not None
                and not sub.get("nullable")
                and not _has_default(sub)
            ):
                del x[k]
            else:
                _prune_nulls(x[k], sub, below(kept, k))
    elif isinstance(x, list):
        for i, item in enumerate(x):
            _prune_nulls(item, _sub(s.get("items")) if s else None, below(kept, i))


def _has_default(s: JSON) -> bool:
    return s.get("default") is not None


def _default(x: Any, s: JSON | None, kept: Any) -> None:
    if s is None or kept is KEPT:
        return
    if isinstance(x, dict):
        props = s.get("properties") or {}
        for k, prop in props.items():
            if not isinstance(prop, dict) or not _has_default(prop):
                continue
            if k not in x or (x[k] is None and not prop.get("nullable")):
                x[k] = copy.deepcopy(prop["default"])
        extra = s.get("additionalProperties")
        for k in list(x):
            if k in props:
                _default(x[k], _sub(props[k]), below(kept, k))
            elif extra is not None:
                sub = _sub(extra)
                if x[k] is None and sub is not None and not sub.get("nullable"):
                    x[k] = copy.deepcopy(sub.get("default"))
                _default(x[k], sub, below(kept, k))
    elif isinstance(x, list):
        items = _sub(s.get("items"))
        for i in range(len(x)):
            if x[i] is None and items is not None and not items.get("nullable"):
                x[i] = copy.deepcopy(items.get("default"))
            _default(x[i], items, below(kept, i))
