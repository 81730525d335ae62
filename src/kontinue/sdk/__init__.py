"""What workflow authors import: the execution context, its durable primitives, and errors.

The engine replays a workflow function from the top whenever it resumes; every durable call on
the :class:`ExecutionContext` returns its recorded outcome instead of running again (see
``_replay``). This package is independent of where the workflow runs: the worker implements the
:class:`~kontinue.sdk._context.Runtime` protocol the context calls.
"""

from ._context import (
    ExecutionContext,
    OutsideWorkflow,
    StepCall,
    SyncExecutionContext,
    current_context,
    current_step,
)
from ._functions import RESULT_LIMIT, FunctionDef
from ._jobs import ContainerResult, JobResult, PodResult
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
    "RESULT_LIMIT",
    "ChildCanceled",
    "ChildFailed",
    "ContainerResult",
    "ExecutionContext",
    "ExecutionTimedOut",
    "FunctionDef",
    "InfrastructureError",
    "InternalError",
    "JobResult",
    "NonDeterminismError",
    "NonRetryableError",
    "OutsideWorkflow",
    "PodResult",
    "RetryableError",
    "StepCall",
    "SyncExecutionContext",
    "ValidationFailed",
    "WorkflowError",
    "current_context",
    "current_step",
    "error_record",
]
