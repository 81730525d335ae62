"""The pure parts of a run's steps: the names of what they create, what a new attempt runs
again, how values are stored and outcomes replayed. No I/O."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
from pydantic import ValidationError

from kontinue.api import ChildPolicy, ExecutionStep, StepKind, StepState, labels
from kontinue.sdk._functions import RESULT_LIMIT
from kontinue.sdk._jobs import JobResult
from kontinue.sdk._replay import child_name
from kontinue.sdk.errors import InternalError, ValidationFailed, WorkflowError

__all__ = [
    "CHILD_INLINE_LIMIT",
    "json_value",
    "merge_patches",
    "next_on_grid",
    "outcome",
    "parent_of",
    "resource_name",
    "steps_to_clear",
    "value_size",
]

JSON = dict[str, Any]
_UNSUCCESSFUL = {"Failed", "Canceled"}


def resource_name(parent: str, step: str, attempt: int, *, limit: int = 253) -> str:
    """The deterministic name of what a step creates, distinct per attempt after the first."""
    return child_name(parent, step if attempt <= 1 else f"{step}#{attempt}", limit=limit)


CHILD_INLINE_LIMIT = 16 * 1024
"""Child results up to this many encoded bytes are copied into the parent's step; larger ones
stay in the child (the parent's status would otherwise grow with every big child)."""


def value_size(value: Any) -> int:
    return len(orjson.dumps(value))


def parent_of(obj: JSON) -> str | None:
    return ((obj.get("metadata") or {}).get("labels") or {}).get(labels.LABEL_PARENT)


def steps_to_clear(
    steps: dict[str, ExecutionStep],
    policy: ChildPolicy,
    child_phase: Callable[[str], str | None] = lambda name: None,
) -> list[str]:
    """The recorded steps a new attempt runs again under child ``policy``.

    Stores, sleeps, suspensions and polls belong to an attempt and always run again. Children
    (executions, Jobs) are kept with policy None, kept unless they failed with RetryFailed, and
    all run again with RetryAll. A Job that failed is a done step (the workflow gets its
    :class:`~kontinue.sdk.JobResult`), yet a failed child all the same; so is a child that
    ended Failed or Canceled while its step was still waiting for it (``child_phase`` gives a
    child execution's phase by name: canceling a parent cancels its children, and the parent
    never records that).
    """
    children = {StepKind.EXECUTE, StepKind.JOB, StepKind.POD, StepKind.SCRIPT}
    cleared = []
    for step_id, step in steps.items():
        if (
            step.kind not in children
            or policy == ChildPolicy.RETRY_ALL
            or (policy == ChildPolicy.RETRY_FAILED and _child_failed(step, child_phase))
        ):
            cleared.append(step_id)
    return cleared


def _child_failed(step: ExecutionStep, child_phase: Callable[[str], str | None]) -> bool:
    if step.state == StepState.FAILED:
        return True
    if step.state == StepState.PENDING and step.kind == StepKind.EXECUTE and step.child:
        return child_phase(step.child) in _UNSUCCESSFUL
    if step.kind == StepKind.EXECUTE or step.state != StepState.DONE:
        return False
    try:
        return JobResult.model_validate(step.value).message is not None  # its Failed condition
    except ValidationError:
        return True  # not a Job's outcome: run it again rather than trust it


def next_on_grid(start: datetime, interval: timedelta, now: datetime) -> datetime:
    """The first ``start + k * interval`` (k >= 1) after ``now``: a poll's period stays its
    interval however late each check wakes."""
    if interval <= timedelta(0):
        return now
    k = max(1, (now - start) // interval + 1)
    return start + k * interval


def outcome(step: ExecutionStep) -> Any:
    if step.state == StepState.FAILED:
        if step.error is None:
            raise InternalError(f"step recorded as failed without an error ({step.kind.value})")
        raise WorkflowError.from_record(step.error)
    return step.value


def json_value(value: Any, *, what: str) -> Any:
    from pydantic import BaseModel, TypeAdapter

    try:
        if isinstance(value, BaseModel):
            dumped = value.model_dump(mode="json", by_alias=True)
        else:
            dumped = TypeAdapter(type(value)).dump_python(value, mode="json")
    except Exception as error:
        raise ValidationFailed(f"{what} cannot be stored as JSON: {error}") from None
    size = value_size(dumped)
    if size > RESULT_LIMIT:
        raise ValidationFailed(
            f"{what} is {size} bytes encoded, more than the {RESULT_LIMIT} byte limit"
        )
    return dumped


def merge_patches(older: JSON, newer: JSON) -> JSON:
    merged = dict(older)
    for key, value in newer.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged
