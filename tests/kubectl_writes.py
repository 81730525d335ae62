"""Writes a test makes as kubectl would, past the checks of kontinue's client.

The worker must cope with what any client may write: an execution of a function nobody
publishes, arguments or resume data that do not fit the schema. ``kontinue.client`` refuses
those before writing; these helpers write them as a plain API request does.
"""

from __future__ import annotations

import uuid
from typing import Any

from kontinue.api import API_VERSION, labels
from kontinue.testing import WorkflowEnvironment

SUSPENSIONS = "suspensions.kontinue.cloud"


def create_execution(
    env: WorkflowEnvironment, function: str, arguments: Any = None, *, group: str
) -> str:
    """Create an Execution of ``function`` for worker ``group`` with ``arguments`` as given
    (no published Function is read, nothing is checked); returns its name."""
    name = f"{function}-{uuid.uuid4().hex[:8]}"
    function_label = labels.label_value(function, "function")
    body = {
        "apiVersion": API_VERSION,
        "kind": "Execution",
        "metadata": {
            "name": name,
            "labels": {labels.LABEL_FUNCTION: function_label, labels.LABEL_WORKER_GROUP: group},
        },
        "spec": {"function": function, "arguments": arguments or {}},
    }
    env.kube.create(body)
    return name


def request_resume(env: WorkflowEnvironment, suspension: str, data: Any = None) -> None:
    """Ask for ``suspension`` to resume with ``data``, unchecked (the worker checks it)."""
    ops = [{"op": "add", "path": "/spec/resume", "value": {"data": data}}]
    env.kube.patch(SUSPENSIONS, ops, name=suspension, type="json")
