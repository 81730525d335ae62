"""Executions no worker has picked up: why they wait, and ending them without a worker.

A worker says why an execution waits in its status message, but only a live worker of the
function's group writes anything: with none running, an execution stays Pending with no message
and a cancel request is never acted on. The client tells that case apart by the group's Lease
(held and renewed by its live leader) and, for a cancel or skip, ends such an execution itself:
its status write carries the resourceVersion it read, so a worker claiming it meanwhile wins.
The client does the reads and the write; these are the pure parts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from kontinue.api import Execution, ExecutionPhase, conditions_for, format_time, labels, parse_time

__all__ = ["end_ops", "group_of", "is_unclaimed", "lease_reason", "worker_lease_name"]

JSON = dict[str, Any]

_SKEW = timedelta(seconds=5)
"""Clock skew allowed between the leader that renewed a Lease and this client."""


def worker_lease_name(group: str) -> str:
    """The Lease held by the live leader of worker ``group``."""
    return f"kontinue-worker-{group}"


def is_unclaimed(execution: Execution) -> bool:
    """Pending and never started: no worker has begun an attempt (it may not exist)."""
    return execution.status.phase == ExecutionPhase.PENDING and execution.status.attempt == 0


def group_of(execution: Execution, functions: list[JSON]) -> tuple[str | None, str | None]:
    """The worker group that runs ``execution`` (its label, else its published Function's), or
    why there is none: (group, None) or (None, reason); (None, None) when any group may."""
    group = (execution.metadata.labels or {}).get(labels.LABEL_WORKER_GROUP)
    if group is not None:
        return group, None
    name = execution.spec.function
    for function in functions:
        if (function.get("spec") or {}).get("name") == name:
            meta = function.get("metadata") or {}
            return (meta.get("labels") or {}).get(labels.LABEL_WORKER_GROUP), None
    ns = execution.metadata.namespace
    return None, (
        f"no worker has published function {name!r} in namespace {ns}: start a worker that runs it"
    )


def lease_reason(group: str, namespace: str, lease: JSON | None, now: datetime) -> str | None:
    """Why no worker of ``group`` is running, from its Lease (None: absent); None if one is."""
    if lease is None:
        return f"no worker of group {group!r} has run in namespace {namespace}: start one"
    spec = lease.get("spec") or {}
    renewed = spec.get("renewTime")
    if not spec.get("holderIdentity") or not renewed:
        return f"no worker of group {group!r} is running in namespace {namespace}: start one"
    duration = timedelta(seconds=int(spec.get("leaseDurationSeconds") or 15))
    when = parse_time(str(renewed))
    if when is not None and when + duration + _SKEW < now:
        return (
            f"no worker of group {group!r} is running in namespace {namespace} (its lease "
            f"{worker_lease_name(group)} was last renewed at {format_time(when)}): start one"
        )
    return None


def end_ops(
    execution: Execution, phase: ExecutionPhase, message: str, now: datetime, result: Any = None
) -> list[JSON]:
    """The status JSON patch ending ``execution`` in ``phase`` as its worker would, refused
    (409) if the execution changed since it was read."""
    status: JSON = execution.status.model_dump(mode="json", by_alias=True, exclude_none=True)
    status |= {
        "phase": phase.value,
        "message": message,
        "finishedAt": format_time(now),
        "conditions": conditions_for(
            phase,
            message,
            status.get("conditions") or [],
            now,
            execution.metadata.generation or 0,
        ),
    }
    if phase == ExecutionPhase.SKIPPED:
        status["result"] = result
    return [
        {
            "op": "replace",
            "path": "/metadata/resourceVersion",
            "value": execution.metadata.resource_version,
        },
        {"op": "add", "path": "/status", "value": status},
    ]
