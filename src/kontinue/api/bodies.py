"""The one place an Execution's body and the labels of an execution tree are made.

The client (a root started by a person), a run (a child started by its parent's step), the
schedule controller (a root started on time) and the worker (labelling an execution someone
created with kubectl) all build them here, so every execution carries the same labels: the
function, the worker group, the root of its tree, and for children their parent and step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from . import labels
from ._meta import API_VERSION

__all__ = [
    "ParentRef",
    "child_labels",
    "execution_body",
    "execution_labels",
    "owner_reference",
]

JSON = dict[str, Any]


@dataclass(frozen=True)
class ParentRef:
    """The execution (and its step) that creates a child; ``root`` is its tree's root."""

    name: str
    uid: str
    step: str
    root: str


def owner_reference(execution: str, uid: str) -> JSON:
    """An owner reference to the Execution ``execution``: its children, Suspensions and Jobs
    are deleted with it."""
    return {
        "apiVersion": API_VERSION,
        "kind": "Execution",
        "name": execution,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def child_labels(parent: ParentRef, group: str) -> dict[str, str]:
    """The labels of anything a step creates (an Execution, a Suspension, a Job)."""
    return {
        labels.LABEL_PARENT: parent.name,
        labels.LABEL_ROOT: parent.root,
        labels.LABEL_STEP: labels.label_value(parent.step, "step"),
        labels.LABEL_WORKER_GROUP: group,
    }


def execution_labels(
    function: str, group: str, *, name: str, parent: ParentRef | None = None
) -> dict[str, str]:
    """The labels every Execution carries: its function and group, and its tree (a root is
    its own root; a child names its parent, root and step)."""
    found = {
        labels.LABEL_FUNCTION: labels.label_value(function, "function"),
        labels.LABEL_WORKER_GROUP: group,
    }
    if parent is None:
        found[labels.LABEL_ROOT] = name
    else:
        found.update(child_labels(parent, group))
    return found


def _dump(value: BaseModel | None) -> JSON | None:
    return value.model_dump(mode="json", by_alias=True, exclude_none=True) if value else None


def execution_body(
    *,
    name: str,
    namespace: str,
    function: str,
    arguments: Any,
    group: str,
    parent: ParentRef | None = None,
    retry: BaseModel | None = None,
    timeout: BaseModel | None = None,
    ttl: BaseModel | None = None,
    mutex: BaseModel | None = None,
    display_name: str | None = None,
    description: str | None = None,
    extra_labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    continued_from: BaseModel | None = None,
) -> JSON:
    """The Execution to create: ``function`` called with ``arguments`` (already checked),
    run by worker ``group``, a root or the child of ``parent``. Extra labels never override
    the tree's own."""
    meta: JSON = {
        "name": name,
        "namespace": namespace,
        "labels": {
            **(extra_labels or {}),
            **execution_labels(function, group, name=name, parent=parent),
        },
    }
    notes = dict(annotations or {})
    if display_name:
        notes[labels.ANNOTATION_DISPLAY_NAME] = display_name
    if description:
        notes[labels.ANNOTATION_DESCRIPTION] = description
    if notes:
        meta["annotations"] = notes
    spec: JSON = {"function": function, "arguments": arguments}
    if parent is not None:
        meta["ownerReferences"] = [owner_reference(parent.name, parent.uid)]
        spec["parent"] = {"name": parent.name, "step": parent.step}
    if continued_from is not None:
        spec["continuedFrom"] = _dump(continued_from)
        lineage = str(spec["continuedFrom"]["lineage"])
        meta["labels"][labels.LABEL_LINEAGE] = labels.label_value(lineage, "lineage")
    for key, value in (("retry", retry), ("timeout", timeout), ("ttl", ttl), ("mutex", mutex)):
        dumped = _dump(value)
        if dumped is not None:
            spec[key] = dumped
    return {"apiVersion": API_VERSION, "kind": "Execution", "metadata": meta, "spec": spec}
