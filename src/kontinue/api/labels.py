"""The labels and annotations kontinue puts on its objects, and what each one is for.

Labels are for selection (``kubectl get ex -l kontinue.cloud/root=deploy-x``, the client's list
filters, the watches of workers and controllers); annotations carry text for people and tools.
Every key lives in the ``kontinue.cloud`` prefix so nothing collides with users' own labels.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "ANNOTATION_DELETE_AT",
    "ANNOTATION_DESCRIPTION",
    "ANNOTATION_DISPLAY_NAME",
    "ANNOTATION_GATE",
    "ANNOTATION_GATE_LIMIT",
    "ANNOTATION_HIDDEN",
    "ANNOTATION_HOLDERS",
    "ANNOTATION_SCHEDULED_TIME",
    "ANNOTATION_WAITERS",
    "LABEL_FUNCTION",
    "LABEL_LINEAGE",
    "LABEL_PARENT",
    "LABEL_ROOT",
    "LABEL_SCHEDULED_EXECUTION",
    "LABEL_SEMAPHORE",
    "LABEL_SHARD",
    "LABEL_SHARD_GROUP",
    "LABEL_STEP",
    "LABEL_WORKER_GROUP",
    "PREFIX",
    "label_value",
]

PREFIX: Final = "kontinue.cloud/"
"""The prefix of every kontinue label and annotation key."""

LABEL_FUNCTION: Final = "kontinue.cloud/function"
"""On Executions (and their archives): the function they run, for listing by function."""
LABEL_WORKER_GROUP: Final = "kontinue.cloud/worker-group"
"""On Functions and Executions: the worker group that runs them, so each group watches only
its own executions."""
LABEL_PARENT: Final = "kontinue.cloud/parent"
"""On children (Executions, Suspensions, Jobs, Pods): the name of the parent Execution, to list
the direct children of an execution."""
LABEL_ROOT: Final = "kontinue.cloud/root"
"""On every object of an execution tree: the name of the root Execution, to fetch a whole tree
(and archive it) with one list call."""
LABEL_SCHEDULED_EXECUTION: Final = "kontinue.cloud/scheduled-execution"
"""On Executions started by a ScheduledExecution: its name, for the schedule's history."""
LABEL_STEP: Final = "kontinue.cloud/step"
"""On children: the id of the parent's step that created them, to find a step's child after a
crash between creating it and recording it."""
LABEL_LINEAGE: Final = "kontinue.cloud/lineage"
"""On Executions that continue another (``ktx.continue_as_new``): the first execution of the
chain, to list a chain with one call."""
LABEL_SHARD: Final = "kontinue.cloud/shard"
"""On Executions of a sharded worker group: the identity of the replica that runs it."""
LABEL_SHARD_GROUP: Final = "kontinue.cloud/shard-group"
"""On shard Leases: the worker group of the replica holding it."""
LABEL_SEMAPHORE: Final = "kontinue.cloud/semaphore"
"""On the Leases behind mutexes and function limits: the kind of gate (mutex or function)."""

ANNOTATION_DISPLAY_NAME: Final = "kontinue.cloud/display-name"
"""On Functions and Executions: a human-friendly name for the CLI and UI."""
ANNOTATION_DESCRIPTION: Final = "kontinue.cloud/description"
"""On Functions and Executions: a longer human-readable description."""
ANNOTATION_HIDDEN: Final = "kontinue.cloud/hidden"
"""On Functions: ``"true"`` hides the function from listings (helpers called only as children)."""
ANNOTATION_SCHEDULED_TIME: Final = "kontinue.cloud/scheduled-time"
"""On Executions started by a ScheduledExecution: the time the schedule was due."""
ANNOTATION_DELETE_AT: Final = "kontinue.cloud/delete-at"
"""On archives: when the TTL controller deletes them."""
ANNOTATION_GATE: Final = "kontinue.cloud/gate"
"""On semaphore Leases: ``kind/key`` of the mutex or function limit it stands for."""
ANNOTATION_GATE_LIMIT: Final = "kontinue.cloud/limit"
"""On semaphore Leases: how many executions may hold the gate at once."""
ANNOTATION_HOLDERS: Final = "kontinue.cloud/holders"
"""On semaphore Leases: the executions holding the gate, comma-separated."""
ANNOTATION_WAITERS: Final = "kontinue.cloud/waiters"
"""On semaphore Leases: the executions waiting for the gate, in arrival order."""


def label_value(text: str, fallback: str = "x") -> str:
    """``text`` as a valid label value: at most 63 characters of letters, digits, ``-``, ``_``
    and ``.``, beginning and ending with a letter or digit (other characters become ``-``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", text)[:63].strip("-_.") or fallback
