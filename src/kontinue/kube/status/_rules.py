"""kstatus ``Compute``, ``Augment`` and the wait aggregator, after sigs.k8s.io/cli-utils.

Order of the rules, as in ``status.Compute``:

1. generic properties, which every kind shares: a deletion timestamp means ``Terminating``; an
   ``observedGeneration`` that differs from ``metadata.generation`` means ``InProgress``; a
   ``Reconciling=True`` condition means ``InProgress`` and ``Stalled=True`` means ``Failed``;
2. the per-kind rule of a built-in kind (:mod:`._kinds`), when there is one;
3. a ``Ready`` condition: ``True`` is ``Current``, ``False`` or ``Unknown`` is ``InProgress``;
4. otherwise ``Current``: a kind that exposes nothing to wait on is taken as reconciled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from kontinue.clock import format_time

from .._core import to_dict
from ._kinds import rule_for
from ._model import (
    READY,
    RECONCILING,
    STALLED,
    MalformedObjectError,
    Status,
    StatusResult,
    current,
    failed,
    get_str,
    in_progress,
    nested_int,
    nested_str,
    read_conditions,
)

__all__ = ["aggregate_status", "augment_conditions", "compute_status"]


def compute_status(
    obj: Mapping[str, Any] | Any | None, *, now: datetime | None = None
) -> StatusResult:
    """The kstatus status of ``obj`` as it stands, so callers can wait for "Current".

    ``obj`` is the whole object, status included, as read from the API (nothing is fetched), as
    a dict or a pydantic model (e.g. the official client's ``V1Deployment``);
    ``None`` means it does not exist and gives ``NotFound``.  A malformed object (e.g.
    ``status.conditions`` that is not a list) gives ``Unknown`` with the reason as message, which
    is what cli-utils' status readers make of ``Compute`` errors.  ``now`` (default: the wall
    clock) only matters to the Pod rule, which allows an unschedulable Pod 15 seconds.
    """
    if obj is None:
        return StatusResult(Status.NOT_FOUND, "Resource not found")
    if not isinstance(obj, Mapping):
        obj = to_dict(obj)
    try:
        return _compute(obj, _utc(now))
    except MalformedObjectError as exc:
        return StatusResult(Status.UNKNOWN, str(exc))


def augment_conditions(obj: Mapping[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """A copy of ``obj`` with the kstatus conditions its status implies (Go ``status.Augment``).

    Lets a tool that only understands ``Reconciling``/``Stalled`` read any object: each condition
    of :func:`compute_status` is added to ``status.conditions``, or updates the entry of the same
    type (``lastTransitionTime`` only moves when its ``status`` changes).  Like the Go code it
    never removes conditions, and it always leaves a ``status.conditions`` list behind.  ``obj``
    itself is not modified.  Raises :class:`ValueError` when the object is malformed.
    """
    moment = _utc(now)
    result = _compute(obj, moment)
    out = _thaw(obj)
    status = out.get("status")
    if status is None:
        status = out["status"] = {}
    elif not isinstance(status, dict):
        raise MalformedObjectError(".status is not an object")
    conditions = status.get("conditions")
    if conditions is None:
        conditions = []
    elif not isinstance(conditions, list):
        raise MalformedObjectError(".status.conditions is not an array")
    stamp = format_time(moment)
    for wanted in result.conditions:
        present = False
        for entry in conditions:
            if not isinstance(entry, dict):
                raise MalformedObjectError("condition does not have the expected structure")
            kind = entry.get("type")
            if not isinstance(kind, str):
                raise MalformedObjectError("condition type does not have the expected type")
            if kind != wanted.type:
                continue
            previous = entry.get("status")
            if not isinstance(previous, str):
                raise MalformedObjectError("condition status does not have the expected type")
            if previous != wanted.status:
                entry["lastTransitionTime"] = stamp
            entry["status"] = wanted.status
            entry["lastUpdateTime"] = stamp
            entry["reason"] = wanted.reason
            entry["message"] = wanted.message
            present = True
        if not present:
            conditions.append(
                {
                    "lastTransitionTime": stamp,
                    "lastUpdateTime": stamp,
                    "message": wanted.message,
                    "reason": wanted.reason,
                    "status": wanted.status,
                    "type": wanted.type,
                }
            )
    status["conditions"] = conditions
    return out


def aggregate_status(statuses: Iterable[Status], desired: Status = Status.CURRENT) -> Status:
    """One status for a set of objects that are waited on together (cli-utils AggregateStatus).

    Any ``Failed`` makes the whole ``Failed`` (nothing to wait for); otherwise any ``Unknown``
    makes it ``Unknown``; otherwise it is ``desired`` when every object has reached it, and
    ``InProgress`` when some have not.  An empty set is trivially ``desired``.
    """
    all_desired = True
    any_unknown = False
    for status in statuses:
        if status == Status.FAILED:
            return Status.FAILED
        if status == Status.UNKNOWN:
            any_unknown = True
        if status != desired:
            all_desired = False
    if any_unknown:
        return Status.UNKNOWN
    if all_desired:
        return desired
    return Status.IN_PROGRESS


def _compute(obj: Mapping[str, Any], now: datetime) -> StatusResult:
    """``status.Compute``: raises :class:`MalformedObjectError` where Go returns an error."""
    generic = _generic(obj)
    if generic is not None:
        return generic
    rule = rule_for(obj)
    if rule is not None:
        return rule(obj, now)
    ready = _ready(obj)
    if ready is not None:
        return ready
    return current("Resource is current")


def _generic(obj: Mapping[str, Any]) -> StatusResult | None:
    """Deletion, generation and the standard conditions (Go checkGenericProperties)."""
    if nested_str(obj, "metadata", "deletionTimestamp"):
        return StatusResult(Status.TERMINATING, "Resource scheduled for deletion")

    generation = nested_int(obj, "metadata", "generation")
    if generation is not None:
        observed = nested_int(obj, "status", "observedGeneration")
        if observed is not None and observed != generation:
            kind = get_str(obj, "kind", "")
            message = f"{kind} generation is {generation}, but latest observed generation is "
            return in_progress("LatestGenerationNotObserved", f"{message}{observed}")

    for cond in read_conditions(obj):
        if cond.type == RECONCILING and cond.status == "True":
            return in_progress(cond.reason, cond.message)
        if cond.type == STALLED and cond.status == "True":
            return failed(cond.reason, cond.message)
    return None


def _ready(obj: Mapping[str, Any]) -> StatusResult | None:
    """The widespread (if non-standard) ``Ready`` condition (Go checkReadyCondition).

    Only a present condition counts: a controller that sets ``Ready`` only once it is true looks,
    before that, like a kind without conditions, i.e. ``Current``.
    """
    for cond in read_conditions(obj):
        if cond.type != READY:
            continue
        if cond.status == "True":
            return current("Resource is Ready")
        if cond.status in ("False", "Unknown"):
            return in_progress(cond.reason, cond.message)
    return None


def _utc(now: datetime | None) -> datetime:
    """``now`` as an aware UTC time (naive means UTC); the wall clock when not given."""
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _thaw(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A deep, mutable copy: mappings become dicts and sequences lists."""

    def copy(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {key: copy(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [copy(item) for item in value]
        return value

    return {key: copy(value) for key, value in obj.items()}
