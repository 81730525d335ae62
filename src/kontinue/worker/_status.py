"""The pure parts of writing an Execution's status: step and error JSON, and conditions.

Conditions follow the kstatus conventions so generic tools (``kontinue.kube.status``,
``kubectl wait --for=condition=Ready``) read an execution correctly: ``Reconciling`` while it
has not ended, ``Stalled`` when it failed or was canceled, and ``Ready`` once it completed or
was skipped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kontinue.api import ExecutionError, ExecutionPhase, ExecutionStep, format_time

__all__ = [
    "EXECUTIONS",
    "FUNCTIONS",
    "JOBS",
    "SUSPENSIONS",
    "conditions_for",
    "dump_error",
    "dump_step",
    "status_ops",
]

JSON = dict[str, Any]

EXECUTIONS = "executions.kontinue.cloud"
SUSPENSIONS = "suspensions.kontinue.cloud"
FUNCTIONS = "functions.kontinue.cloud"
JOBS = "jobs.batch"


def dump_step(step: ExecutionStep) -> JSON:
    """The status form of a step (``value`` kept even when null: it is a recorded result)."""
    data: JSON = step.model_dump(mode="json", by_alias=True, exclude_none=True)
    if step.state.value != "Pending" and "value" not in data:
        data["value"] = None
    return data


def dump_error(error: ExecutionError) -> JSON:
    """The status form of an error."""
    return error.model_dump(mode="json", by_alias=True, exclude_none=True)


def _wanted(phase: ExecutionPhase, message: str | None) -> list[tuple[str, str, str, str]]:
    reason = phase.value
    text = message or phase.value
    if phase in (ExecutionPhase.COMPLETED, ExecutionPhase.SKIPPED):
        return [("Ready", "True", reason, text)]
    if phase in (ExecutionPhase.FAILED, ExecutionPhase.CANCELED):
        return [("Ready", "False", reason, text), ("Stalled", "True", reason, text)]
    return [("Ready", "False", reason, text), ("Reconciling", "True", reason, text)]


def conditions_for(
    phase: ExecutionPhase,
    message: str | None,
    previous: list[JSON],
    now: datetime,
    generation: int,
) -> list[JSON]:
    """The conditions of an execution in ``phase``, keeping transition times that still hold."""
    before = {str(c.get("type")): c for c in previous if isinstance(c, dict)}
    conditions = []
    for kind, status, reason, text in _wanted(phase, message):
        old = before.get(kind)
        since = (
            old.get("lastTransitionTime")
            if old is not None and old.get("status") == status and old.get("lastTransitionTime")
            else format_time(now)
        )
        conditions.append(
            {
                "type": kind,
                "status": status,
                "reason": reason,
                "message": text,
                "lastTransitionTime": since,
                "observedGeneration": generation,
            }
        )
    return conditions


def _pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def status_ops(current: JSON | None, changes: JSON, resource_version: str) -> list[JSON]:
    """A JSON patch (RFC 6902) applying ``changes`` to a status that is ``current``.

    Not a merge patch, where ``null`` means "delete": a result or stored value may hold nulls
    (``{"note": None}``) and must be stored as given. A key set to None in ``changes`` is
    removed; ``steps`` entries are added or removed one by one. The first operation sets the
    resourceVersion the change is based on, so the server refuses it (409) if the object
    changed meanwhile.
    """
    ops: list[JSON] = [
        {"op": "replace", "path": "/metadata/resourceVersion", "value": resource_version}
    ]
    if current is None:
        ops.append({"op": "add", "path": "/status", "value": {}})
        current = {}
    for key, value in changes.items():
        if key == "steps" and isinstance(value, dict):
            steps = current.get("steps")
            if not isinstance(steps, dict):
                kept = {k: v for k, v in value.items() if v is not None}
                ops.append({"op": "add", "path": _pointer("status", "steps"), "value": kept})
                continue
            for step_id, step in value.items():
                path = _pointer("status", "steps", step_id)
                if step is not None:
                    ops.append({"op": "add", "path": path, "value": step})
                elif step_id in steps:
                    ops.append({"op": "remove", "path": path})
            continue
        path = _pointer("status", key)
        if value is not None:
            ops.append({"op": "add", "path": path, "value": value})
        elif key in current:
            ops.append({"op": "remove", "path": path})
    return ops
