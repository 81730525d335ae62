"""The values kstatus computes and the field readers its rules share.

Field readers copy the two families of apimachinery accessors the Go rules use: the lenient
``GetIntField``/``GetStringField``/``GetBoolField`` (a missing or mistyped field gives the default)
and the strict ``unstructured.NestedInt64``/``NestedString``/``FromUnstructured`` (a mistyped field
is an error, which :func:`compute_status` reports as ``Unknown``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "READY",
    "RECONCILING",
    "STALLED",
    "Condition",
    "MalformedObjectError",
    "Status",
    "StatusResult",
    "current",
    "failed",
    "get_bool",
    "get_int",
    "get_str",
    "in_progress",
    "nested_int",
    "nested_str",
    "read_conditions",
]

READY = "Ready"
"""The non-standard but widespread condition type that many controllers (and kontinue) set."""

RECONCILING = "Reconciling"
"""kstatus condition type: True while the controller still works towards the desired state."""

STALLED = "Stalled"
"""kstatus condition type: True when the controller cannot make progress without help."""


class Status(StrEnum):
    """The kstatus status of one object; the values are the strings cli-utils prints.

    A ``str`` so it compares and serialises as the bare value (``"Current"``), like Go's
    ``status.Status`` string type.
    """

    IN_PROGRESS = "InProgress"
    """The controller has not caught up with the spec yet, but may still get there."""
    FAILED = "Failed"
    """The controller reports that it cannot reach the desired state."""
    CURRENT = "Current"
    """The object is fully reconciled: what was asked for is in place."""
    TERMINATING = "Terminating"
    """The object has a deletion timestamp and is being torn down."""
    NOT_FOUND = "NotFound"
    """The object does not exist."""
    UNKNOWN = "Unknown"
    """The status could not be computed (e.g. the object is malformed)."""


@dataclass(frozen=True)
class Condition:
    """One entry of ``status.conditions`` (the shape nearly every Kubernetes kind uses).

    Values are the raw strings: ``status`` is ``"True"``, ``"False"`` or ``"Unknown"``.
    """

    type: str
    status: str
    reason: str = ""
    message: str = ""


@dataclass(frozen=True)
class StatusResult:
    """What :func:`compute_status` found out about one object.

    ``conditions`` are the standard kstatus conditions the status implies (a ``Reconciling`` for
    ``InProgress``, a ``Stalled`` for ``Failed``, usually none otherwise): the ones
    :func:`augment_conditions` writes into the object.

    ``changes_at`` is when the status will change by itself if the object stays as it is (a
    Pod unschedulable for 15 seconds turns ``Failed``), so a waiter knows to look again then
    rather than only when the object changes; ``None`` for the usual case. It does not take
    part in comparisons.
    """

    status: Status
    message: str
    conditions: tuple[Condition, ...] = ()
    changes_at: datetime | None = dataclasses.field(default=None, compare=False)


class MalformedObjectError(ValueError):
    """A field the rules read strictly has the wrong type; cli-utils returns such errors."""


def current(message: str) -> StatusResult:
    """A ``Current`` result, which carries no kstatus condition."""
    return StatusResult(Status.CURRENT, message)


def in_progress(reason: str, message: str) -> StatusResult:
    """An ``InProgress`` result with its ``Reconciling=True`` condition (Go newInProgressStatus)."""
    return StatusResult(
        Status.IN_PROGRESS, message, (Condition(RECONCILING, "True", reason, message),)
    )


def failed(reason: str, message: str) -> StatusResult:
    """A ``Failed`` result with its ``Stalled=True`` condition (Go newFailedStatus)."""
    return StatusResult(Status.FAILED, message, (Condition(STALLED, "True", reason, message),))


def _lookup(obj: Mapping[str, Any], path: Sequence[str]) -> tuple[Any, bool]:
    """Walk ``path`` like ``NestedFieldNoCopy``: ``(value, found)``; a non-map on the way raises.

    A ``null`` on the way counts as absent (Go would call it a non-map and fail).
    """
    value: Any = obj
    for depth, field in enumerate(path):
        if value is None:
            return None, False
        if not isinstance(value, Mapping):
            where = ".".join(path[:depth])
            raise MalformedObjectError(
                f".{where} accessor error: {value!r} is of the type "
                f"{type(value).__name__}, expected map[string]interface{{}}"
            )
        if field not in value:
            return None, False
        value = value[field]
    return value, True


def _lenient(obj: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path, or None when it is missing or the path runs into a non-map."""
    try:
        value, _ = _lookup(obj, path.split("."))
    except MalformedObjectError:
        return None
    return value


def get_int(obj: Mapping[str, Any], path: str, default: int) -> int:
    """An integer field, or ``default`` when it is missing or not an integer (Go GetIntField)."""
    value = _lenient(obj, path)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return default


def get_str(obj: Mapping[str, Any], path: str, default: str) -> str:
    """A string field, or ``default`` when it is missing or not a string (Go GetStringField)."""
    value = _lenient(obj, path)
    return value if isinstance(value, str) else default


def get_bool(obj: Mapping[str, Any], path: str, default: bool) -> bool:
    """A boolean field, or ``default`` when it is missing or not a boolean (Go GetBoolField)."""
    value = _lenient(obj, path)
    return value if isinstance(value, bool) else default


def nested_int(obj: Mapping[str, Any], *path: str) -> int | None:
    """An integer field or None when absent; any other type raises (Go NestedInt64)."""
    value, found = _lookup(obj, path)
    if not found:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise MalformedObjectError(
        f".{'.'.join(path)} accessor error: {value!r} is of the type "
        f"{type(value).__name__}, expected int64"
    )


def nested_str(obj: Mapping[str, Any], *path: str) -> str | None:
    """A string field or None when absent; any other type raises (Go NestedString)."""
    value, found = _lookup(obj, path)
    if not found:
        return None
    if isinstance(value, str):
        return value
    raise MalformedObjectError(
        f".{'.'.join(path)} accessor error: {value!r} is of the type "
        f"{type(value).__name__}, expected string"
    )


def read_conditions(obj: Mapping[str, Any]) -> list[Condition]:
    """``status.conditions`` as :class:`Condition` values, in order (Go GetObjectWithConditions).

    Missing or null parts read as empty; a wrongly typed part raises, as the Go conversion of the
    object into a typed struct does.  Fields other than type/status/reason/message are ignored.
    """
    status = obj.get("status")
    if status is None:
        return []
    if not isinstance(status, Mapping):
        raise MalformedObjectError(f".status is a {type(status).__name__}, expected an object")
    items = status.get("conditions")
    if items is None:
        return []
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise MalformedObjectError(
            f".status.conditions is a {type(items).__name__}, expected an array"
        )
    result: list[Condition] = []
    for index, item in enumerate(items):
        if item is None:
            continue
        if not isinstance(item, Mapping):
            raise MalformedObjectError(
                f".status.conditions[{index}] is a {type(item).__name__}, expected an object"
            )
        fields: dict[str, str] = {}
        for name in ("type", "status", "reason", "message"):
            value = item.get(name)
            if value is None:
                value = ""
            elif not isinstance(value, str):
                raise MalformedObjectError(
                    f".status.conditions[{index}].{name} is a {type(value).__name__}, "
                    "expected a string"
                )
            fields[name] = value
        result.append(Condition(**fields))
    return result
