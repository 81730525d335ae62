"""kontinue: Kubernetes-native durable execution for Python.

Workflows are plain Python functions; every bit of their state lives in Kubernetes custom
resources, so any worker can resume any execution after a crash::

    import kontinue

    worker = kontinue.Worker(namespace="default", group="default")

    @worker.function("hello")
    async def hello(ktx: kontinue.ExecutionContext, args: Greeting) -> str:
        await ktx.sleep("5s")
        return f"hello {args.name}"

The names below are imported on first use, so ``import kontinue`` stays cheap for the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from kontinue.api import ExecutionPhase, ExecutionRetry, ExecutionTimeout, ExecutionTTL
    from kontinue.sdk import (
        ChildCanceled,
        ChildFailed,
        ExecutionContext,
        ExecutionTimedOut,
        NonRetryableError,
        RetryableError,
        StepCall,
        SyncExecutionContext,
        ValidationFailed,
        WorkflowError,
        current_step,
    )
    from kontinue.worker import Worker, WorkerSettings

__all__ = [
    "ChildCanceled",
    "ChildFailed",
    "ExecutionContext",
    "ExecutionPhase",
    "ExecutionRetry",
    "ExecutionTTL",
    "ExecutionTimedOut",
    "ExecutionTimeout",
    "NonRetryableError",
    "RetryableError",
    "StepCall",
    "SyncExecutionContext",
    "ValidationFailed",
    "Worker",
    "WorkerSettings",
    "WorkflowError",
    "__version__",
    "current_step",
]

_HOMES = {
    "ExecutionPhase": "kontinue.api",
    "ExecutionRetry": "kontinue.api",
    "ExecutionTTL": "kontinue.api",
    "ExecutionTimeout": "kontinue.api",
    "Worker": "kontinue.worker",
    "WorkerSettings": "kontinue.worker",
}


def __getattr__(name: str) -> Any:
    if name not in __all__ or name == "__version__":
        raise AttributeError(f"module 'kontinue' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(_HOMES.get(name, "kontinue.sdk")), name)
    globals()[name] = value
    return value
