"""The labels and annotations kontinue puts on its objects, and what each one is for.

Labels are for selection (``kubectl get ex -l kontinue.cloud/root=deploy-x``, the client's list
filters, the watches of workers and controllers); annotations carry text for people and tools.
Every key lives in the ``kontinue.cloud`` prefix so nothing collides with users' own labels.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "ANNOTATION_DESCRIPTION",
    "ANNOTATION_DISPLAY_NAME",
    "ANNOTATION_HIDDEN",
    "LABEL_FUNCTION",
    "LABEL_PARENT",
    "LABEL_ROOT",
    "LABEL_SCHEDULED_EXECUTION",
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

ANNOTATION_DISPLAY_NAME: Final = "kontinue.cloud/display-name"
"""On Functions and Executions: a human-friendly name for the CLI and UI."""
ANNOTATION_DESCRIPTION: Final = "kontinue.cloud/description"
"""On Functions and Executions: a longer human-readable description."""
ANNOTATION_HIDDEN: Final = "kontinue.cloud/hidden"
"""On Functions: ``"true"`` hides the function from listings (helpers called only as children)."""


def label_value(text: str, fallback: str = "x") -> str:
    """``text`` as a valid label value: at most 63 characters of letters, digits, ``-``, ``_``
    and ``.``, beginning and ending with a letter or digit (other characters become ``-``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", text)[:63].strip("-_.") or fallback
