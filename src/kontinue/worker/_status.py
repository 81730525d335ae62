"""The pure parts of writing an Execution's status: step and error JSON, and JSON patches
(the conditions are :func:`kontinue.api.conditions_for`, shared with the client)."""

from __future__ import annotations

from typing import Any

from kontinue.api import ExecutionError, ExecutionStep

__all__ = [
    "EXECUTIONS",
    "FUNCTIONS",
    "JOBS",
    "SUSPENSIONS",
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
