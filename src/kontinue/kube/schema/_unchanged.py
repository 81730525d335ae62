"""What an update leaves as it was stored: found once, then skipped by every admission step."""

from __future__ import annotations

from typing import Any

import orjson

KEPT: Any = object()
"""Marks a value an update left exactly as stored."""


class Unchanged:
    """Which parts of an updated object are exactly as stored, in the shape of the object.

    A stored object was pruned, defaulted and validated when it was written, so an update's
    admission only needs to look at what it changes (apiserver ratchets the validation of
    unchanged values likewise). "Exactly" means equal as JSON: Python has ``1 == 1.0 == True``.
    ``root`` is :data:`KEPT` for an unchanged value, a dict (by key) or list (by index) of the
    same for a changed object or array, and None for a new value.
    """

    __slots__ = ("root",)

    def __init__(self, new: Any = None, old: Any = None) -> None:
        self.root: Any = None if old is None else _compare(new, old)


def _compare(new: Any, old: Any) -> Any:
    if isinstance(new, (dict, list)):
        if new == old and orjson.dumps(new) == orjson.dumps(old):
            return KEPT
        if isinstance(new, dict) and isinstance(old, dict):
            return {key: _compare(value, old[key]) for key, value in new.items() if key in old}
        if isinstance(new, list) and isinstance(old, list):
            return [_compare(value, was) for value, was in zip(new, old, strict=False)]
        return None
    return KEPT if type(new) is type(old) and new == old else None


def below(kept: Any, key: str | int) -> Any:
    """The part of an :class:`Unchanged` tree at ``key`` (a property name or an index)."""
    if isinstance(kept, dict):
        return kept.get(key)
    if isinstance(kept, list) and isinstance(key, int) and key < len(kept):
        return kept[key]
    return None


NOTHING = Unchanged()
"""A create: nothing was stored before, everything is looked at."""
