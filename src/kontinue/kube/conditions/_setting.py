"""Conditions as data: find one, or set one the way ``meta.SetStatusCondition`` does. No I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["MAX_MESSAGE", "find_condition", "set_condition"]

JSON = dict[str, Any]

MAX_MESSAGE = 32768
"""``metav1.Condition.message`` is limited to this many characters; longer ones are cut."""


def find_condition(obj: Mapping[str, Any], condition_type: str) -> JSON | None:
    """The ``status.conditions`` entry of ``condition_type`` in ``obj``, if there is one."""
    status = obj.get("status")
    conditions = status.get("conditions") if isinstance(status, Mapping) else None
    for condition in conditions if isinstance(conditions, list) else []:
        if isinstance(condition, dict) and condition.get("type") == condition_type:
            return condition
    return None


def set_condition(
    conditions: Sequence[Mapping[str, Any]],
    condition_type: str,
    status: str,
    reason: str,
    message: str,
    *,
    observed_generation: int | None,
    now: str,
) -> list[JSON]:
    """A copy of ``conditions`` with ``condition_type`` set (appended if new, in place if not).

    ``lastTransitionTime`` becomes ``now`` only when the status changes, so it keeps meaning
    "since when has this been so" across repeated writes of the same status.
    """
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 3] + "..."
    wanted: JSON = {"type": condition_type, "status": status}
    if observed_generation is not None:
        wanted["observedGeneration"] = observed_generation
    wanted.update(reason=reason, message=message)
    result: list[JSON] = []
    replaced = False
    for condition in conditions:
        if condition.get("type") != condition_type:
            result.append(dict(condition))
            continue
        if replaced:
            continue  # a duplicate entry of the type (invalid anyway): keep one
        unchanged = condition.get("status") == status and condition.get("lastTransitionTime")
        wanted["lastTransitionTime"] = condition["lastTransitionTime"] if unchanged else now
        result.append(wanted)
        replaced = True
    if not replaced:
        wanted["lastTransitionTime"] = now
        result.append(wanted)
    return result
