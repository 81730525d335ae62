"""Kubernetes objects as data: owner references, indexes by name, merging a desired state.

The helpers of kates that need no server (``HasOwnerReference``, ``SetOwnerReferences``,
``ByName``, ``MergeUpdate``), for objects given as dicts, pydantic models or models of the
official client. Nothing here does I/O; what comes back has the type that went in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import orjson

from ._core import JSON, from_dict, to_dict

__all__ = [
    "by_name",
    "has_owner_reference",
    "merge_update",
    "owner_reference",
    "set_owner_references",
]

T = TypeVar("T")


def owner_reference(
    owner: Any, *, controller: bool = True, block_owner_deletion: bool = True
) -> JSON:
    """The ``ownerReferences`` entry that makes an object owned by ``owner``.

    ``owner`` must be as the server returned it: its ``apiVersion``, ``kind``,
    ``metadata.name`` and ``metadata.uid`` are needed. By default the owner is the controller
    (``controller: true``, as client-go's ``NewControllerRef``) and deleting it in the
    foreground waits for the owned object (``blockOwnerDeletion``).
    """
    body = to_dict(owner)
    meta = body.get("metadata") or {}
    missing = [
        path
        for path, value in (
            ("apiVersion", body.get("apiVersion")),
            ("kind", body.get("kind")),
            ("metadata.name", meta.get("name")),
            ("metadata.uid", meta.get("uid")),
        )
        if not value
    ]
    if missing:
        raise ValueError(
            f"the owner has no {', '.join(missing)}: pass the object as the server returned it "
            "(created or read through a client)"
        )
    return {
        "apiVersion": body["apiVersion"],
        "kind": body["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": controller,
        "blockOwnerDeletion": block_owner_deletion,
    }


def has_owner_reference(owner: Any, obj: Any) -> bool:
    """Whether ``obj`` lists ``owner`` among its ``ownerReferences`` (compared by uid, which
    tells a recreated owner of the same name apart)."""
    uid = (to_dict(owner).get("metadata") or {}).get("uid")
    if not uid:
        return False
    references = (to_dict(obj).get("metadata") or {}).get("ownerReferences") or []
    return any(isinstance(ref, Mapping) and ref.get("uid") == uid for ref in references)


def set_owner_references(owner: Any, *objects: T) -> list[T]:
    """Copies of ``objects`` owned by ``owner``: each gets :func:`owner_reference` of it
    (as controller) unless it already has one to ``owner``. Other references are kept.

    Unlike the seed, which sets them in place, the objects given are left alone; the copies
    have their types (a dict, a pydantic model, a model of the official client).
    """
    reference = owner_reference(owner)
    result: list[T] = []
    for obj in objects:
        if has_owner_reference(owner, obj):
            result.append(_copy(obj))
            continue
        body = _plain(obj)
        meta = body.setdefault("metadata", {})
        meta["ownerReferences"] = [*(meta.get("ownerReferences") or []), dict(reference)]
        result.append(_typed(body, obj))
    return result


def by_name(objects: Iterable[T]) -> dict[str, T]:
    """``objects`` by ``metadata.name`` (kates ``ByName``), in the order given; when two have
    the same name (from different namespaces), the later one wins."""
    found: dict[str, T] = {}
    for obj in objects:
        name = (to_dict(obj).get("metadata") or {}).get("name")
        if not name:
            raise ValueError("an object without metadata.name cannot be indexed by name")
        found[str(name)] = obj
    return found


def merge_update(current: JSON, desired: JSON) -> JSON:
    """``desired`` laid over ``current``, the way ``upsert`` updates an existing object (kates
    ``MergeUpdate``): labels and annotations are merged (``desired``'s win), every other
    top-level field of ``desired`` except ``apiVersion``, ``kind``, ``metadata`` and
    ``status`` replaces ``current``'s; the rest of ``current`` (its resourceVersion among it)
    is kept. Neither argument is modified.
    """
    merged = dict(current)
    meta = dict(current.get("metadata") or {})
    for key in ("labels", "annotations"):
        wanted = (desired.get("metadata") or {}).get(key)
        if wanted:
            meta[key] = {**(meta.get(key) or {}), **wanted}
    merged["metadata"] = meta
    for key, value in desired.items():
        if key not in ("apiVersion", "kind", "metadata", "status"):
            merged[key] = value
    return merged


def _plain(obj: Any) -> JSON:
    """A deep copy of ``obj`` as JSON."""
    copied: JSON = orjson.loads(orjson.dumps(to_dict(obj)))
    return copied


def _copy(obj: T) -> T:
    return _typed(_plain(obj), obj)


def _typed(body: JSON, like: T) -> T:
    result: T = from_dict(body, None if isinstance(like, dict) else type(like))  # type: ignore[assignment]
    return result
