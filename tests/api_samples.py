"""One filled-in object of each kontinue kind, in wire form, shared by the unit and e2e tests.

Each sample sets every field (so round trips exercise them all) and holds only values the API
server would store unchanged: compact durations, times with seconds, no empty collections.
"""

from __future__ import annotations

import copy
from typing import Any

from kontinue.api import (
    ArchivedExecution,
    Execution,
    Function,
    Resource,
    ScheduledExecution,
    Suspension,
)

JSON = dict[str, Any]

API_VERSION = "kontinue.cloud/v1alpha1"
T0 = "2024-05-06T07:08:09Z"
T1 = "2024-05-06T07:09:10Z"

_ERROR: JSON = {
    "kind": "Execution",
    "message": "boom",
    "retryable": True,
    "details": {"trace": ["a", "b"]},
}
_CONDITION: JSON = {
    "type": "Ready",
    "status": "True",
    "reason": "Done",
    "message": "all good",
    "lastTransitionTime": T1,
    "observedGeneration": 2,
}

EXECUTION: JSON = {
    "apiVersion": API_VERSION,
    "kind": "Execution",
    "metadata": {
        "name": "deploy-1",
        "labels": {"kontinue.cloud/function": "deploy", "kontinue.cloud/root": "deploy-1"},
        "annotations": {"kontinue.cloud/display-name": "Deploy"},
    },
    "spec": {
        "function": "deploy",
        "arguments": {"env": "prod", "replicas": 3, "tags": ["a"], "nested": {"x": None}},
        "retry": {"retries": 3, "backoff": "1m30s", "childPolicy": "RetryFailed"},
        "timeout": {"attempt": "10m", "overall": "1h30m"},
        "ttl": {"archiveAfter": "1d", "deleteAfter": "7d"},
        "mutex": {"name": "prod"},
        "parent": {"name": "pipeline-1", "step": "2"},
        "cancel": {"reason": "not now", "requestedAt": T1},
        "skip": {"result": {"skipped": True}, "reason": "manual", "requestedAt": T1},
        "rerun": {"count": 1, "childPolicy": "RetryAll", "requestedAt": T1},
    },
    "status": {
        "phase": "Failed",
        "message": "boom",
        "result": [1, "two", {"three": 3}],
        "error": _ERROR,
        "attempt": 2,
        "attempts": [
            {"attempt": 1, "phase": "Failed", "error": _ERROR, "startedAt": T0, "finishedAt": T1}
        ],
        "resumptions": 4,
        "startedAt": T0,
        "finishedAt": T1,
        "nextAttemptAt": T1,
        "reruns": 1,
        "steps": {
            "1": {
                "kind": "execute",
                "name": "build",
                "child": "deploy-1-1",
                "state": "Done",
                "value": "image:1.2",
                "attempt": 1,
            },
            "nap": {"kind": "sleep", "state": "Pending", "resumeAt": T1, "attempt": 2},
            "3": {"kind": "store", "state": "Failed", "error": _ERROR, "attempt": 2},
        },
        "attemptStartedAt": T1,
        "conditions": [_CONDITION],
        "observedGeneration": 2,
    },
}

FUNCTION: JSON = {
    "apiVersion": API_VERSION,
    "kind": "Function",
    "metadata": {"name": "deploy", "labels": {"kontinue.cloud/worker-group": "ops"}},
    "spec": {
        "name": "deploy",
        "workerGroup": "ops",
        "displayName": "Deploy",
        "description": "Deploys a service",
        "arguments": {
            "type": "object",
            "properties": {"env": {"type": "string", "enum": ["dev", "prod"], "default": "dev"}},
        },
        "result": {"type": "string"},
        "defaults": {
            "retry": {"retries": 1, "backoff": "5s", "childPolicy": "None"},
            "timeout": {"overall": "2h"},
            "ttl": {"deleteAfter": "30d"},
        },
        "concurrency": {"limit": 2},
    },
    "status": {"conditions": [_CONDITION], "observedGeneration": 1, "workers": ["w-1", "w-2"]},
}

SUSPENSION: JSON = {
    "apiVersion": API_VERSION,
    "kind": "Suspension",
    "metadata": {"name": "deploy-1-approve", "labels": {"kontinue.cloud/parent": "deploy-1"}},
    "spec": {
        "execution": "deploy-1",
        "step": "approve",
        "kind": "Manual",
        "message": "Approve the production deploy",
        "schema": {"type": "object", "properties": {"approved": {"type": "boolean"}}},
        "resume": {"data": {"approved": True}, "requestedAt": T1, "requestedBy": "alice"},
    },
    "status": {
        "phase": "Resumed",
        "resumedAt": T1,
        "data": {"approved": True},
        "message": "approved by alice",
        "conditions": [_CONDITION],
    },
}

SCHEDULED_EXECUTION: JSON = {
    "apiVersion": API_VERSION,
    "kind": "ScheduledExecution",
    "metadata": {"name": "nightly"},
    "spec": {
        "schedule": "0 3 * * *",
        "timeZone": "Europe/Paris",
        "function": "deploy",
        "arguments": {"env": "dev"},
        "executionDefaults": {
            "retry": {"retries": 2, "backoff": "30s", "childPolicy": "None"},
            "timeout": {"attempt": "15m"},
            "ttl": {"archiveAfter": "2h"},
            "mutex": {"name": "nightly"},
        },
        "historyLimit": 3,
        "suspend": True,
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": 300,
    },
    "status": {
        "active": [{"name": "nightly-1", "scheduledTime": T0}],
        "lastScheduleTime": T0,
        "lastSuccessfulTime": T1,
        "nextScheduleTime": T1,
        "missedRuns": 2,
        "message": "running",
        "conditions": [_CONDITION],
    },
}

ARCHIVED_EXECUTION: JSON = {
    "apiVersion": API_VERSION,
    "kind": "ArchivedExecution",
    "metadata": {"name": "deploy-1", "labels": {"kontinue.cloud/root": "deploy-1"}},
    "spec": {
        "function": "deploy",
        "root": "deploy-1",
        "archivedAt": T1,
        "encoding": "gzip+json+base64",
        "data": "H4sIAAAAAAAAA6tWKkktLlGyUlBKSSxJVKoFAHsxG0sRAAAA",
        "size": 17,
        "parts": 2,
        "part": 1,
    },
    "status": {"phase": "Completed", "message": "done", "startedAt": T0, "finishedAt": T1},
}

SAMPLES: dict[type[Resource], JSON] = {
    Execution: EXECUTION,
    Function: FUNCTION,
    Suspension: SUSPENSION,
    ScheduledExecution: SCHEDULED_EXECUTION,
    ArchivedExecution: ARCHIVED_EXECUTION,
}
"""Every kind with its sample (copy before changing one: use :func:`sample`)."""


def sample(model: type[Resource], name: str | None = None, *, status: bool = True) -> JSON:
    """A deep copy of the sample of ``model``, optionally renamed and without status."""
    obj = copy.deepcopy(SAMPLES[model])
    if name is not None:
        obj["metadata"]["name"] = name
    if not status:
        obj.pop("status")
    return obj
