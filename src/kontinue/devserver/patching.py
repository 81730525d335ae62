"""The three PATCH flavours of the Kubernetes API, applied to plain JSON values.

Clients patch with a JSON merge patch (RFC 7386), a JSON patch (RFC 6902) or, for built-in kinds,
a *strategic* merge patch, which :mod:`.strategic` implements and this module re-exports so that
callers find all three in one place. Inputs are deep-copied, never mutated; errors are
:class:`PatchError`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import jsonpatch
import jsonpointer
import orjson

from .decoding import BodyError, check_depth
from .strategic import PatchError, strategic_merge_patch

__all__ = [
    "MAX_JSON_PATCH_COPY_BYTES",
    "PatchError",
    "json_patch",
    "merge_patch",
    "strategic_merge_patch",
]


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 JSON merge patch: objects merge recursively, ``null`` deletes a member,
    anything else (arrays included) replaces the target value."""

    def merge(into: Any, change: Any) -> Any:
        if not isinstance(change, dict):
            return change
        result = into if isinstance(into, dict) else {}
        for key, value in change.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = merge(result.get(key), value)
        return result

    return merge(_copy(target), _copy(patch))


#: Bytes (as JSON) that the ``copy`` operations of one JSON patch may duplicate in all, as
#: kube-apiserver's default ``JSONPatchMaxCopyBytes``: a few copies of a parent into its own
#: child otherwise double the document with each operation.
MAX_JSON_PATCH_COPY_BYTES = 3 * 1024 * 1024


def json_patch(target: Any, operations: Any) -> Any:
    """Apply an RFC 6902 JSON patch, one operation after the other.

    A failing operation, including a ``test`` that does not hold, raises :class:`PatchError`
    naming the operation's index and path; the target is left untouched either way. So does a
    patch whose ``copy`` operations duplicate more than :data:`MAX_JSON_PATCH_COPY_BYTES` in all
    (checked before each copy is made), or whose result nests deeper than
    :data:`~.decoding.MAX_DEPTH`.
    """
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a JSON array of operations")
    document = _copy(target)
    copied = 0
    for index, operation in enumerate(operations):
        if not isinstance(operation, Mapping):
            raise PatchError(f"JSON patch operation {index}: must be an object")
        where = f"JSON patch operation {index} ({operation.get('op')!s} {operation.get('path')!s})"
        if operation.get("op") == "copy":
            copied += _copy_size(document, operation.get("from"), where)
            if copied > MAX_JSON_PATCH_COPY_BYTES:
                raise PatchError(
                    f"{where}: the copies of this patch exceed {MAX_JSON_PATCH_COPY_BYTES} bytes"
                )
        try:
            document = jsonpatch.JsonPatch([operation]).apply(document, in_place=True)
        except jsonpatch.JsonPatchTestFailed as err:
            raise PatchError(f"{where}: test failed: {err}") from None
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as err:
            raise PatchError(f"{where}: {err}") from None
        except (KeyError, IndexError, TypeError, ValueError) as err:
            raise PatchError(f"{where}: cannot apply: {err}") from None
    try:
        check_depth(document)
    except BodyError as err:
        raise PatchError(f"JSON patch result: {err}") from None
    return document


def _copy_size(document: Any, source: Any, where: str) -> int:
    """The size as JSON of what a ``copy`` from ``source`` duplicates (0 when it cannot be
    resolved: the operation itself then fails with its own error)."""
    if not isinstance(source, str):
        return 0
    try:
        value = jsonpointer.JsonPointer(source).resolve(document)
        return len(orjson.dumps(value))
    except (jsonpointer.JsonPointerException, KeyError, IndexError, TypeError):
        return 0
    except orjson.JSONEncodeError as err:
        raise PatchError(f"{where}: cannot copy: {err}") from None


def _copy(document: Any) -> Any:
    """A deep copy of a JSON document (through orjson: several times faster than deepcopy)."""
    try:
        return orjson.loads(orjson.dumps(document))
    except TypeError:  # not plain JSON (e.g. an integer beyond 64 bits)
        return copy.deepcopy(document)
