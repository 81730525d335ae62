"""What workflow authors import: the durable primitives and the errors workflows raise and see.

The engine replays a workflow function from the top whenever it resumes; every durable call
returns its recorded outcome instead of running again (see ``_replay``). This package holds the
pieces that are independent of where the workflow runs.
"""

from .errors import (
    ChildCanceled,
    ChildFailed,
    ExecutionTimedOut,
    InfrastructureError,
    InternalError,
    NonDeterminismError,
    NonRetryableError,
    RetryableError,
    ValidationFailed,
    WorkflowError,
    error_record,
)

__all__ = [
    "ChildCanceled",
    "ChildFailed",
    "ExecutionTimedOut",
    "InfrastructureError",
    "InternalError",
    "NonDeterminismError",
    "NonRetryableError",
    "RetryableError",
    "ValidationFailed",
    "WorkflowError",
    "error_record",
]
