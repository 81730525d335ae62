"""The errors workflows raise and see, one class per kind of the spec.

A workflow fails with an :class:`ExecutionError` record in its status; these exceptions are
that record in Python form, in both directions: raising :class:`RetryableError` or
:class:`NonRetryableError` in a workflow decides whether it is retried, and a child's failure
comes back to its parent as :class:`ChildFailed` carrying the child's own error. Any other
exception a workflow raises is an ``Execution`` error and is retried (bugs are often transient
in infrastructure code: a flaky API, a timeout).
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any, ClassVar

from kontinue.api import TRACEBACK_LIMIT, ErrorKind, ExecutionError
from kontinue.errors import KontinueError

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
    "trimmed_traceback",
    "type_name",
]


class WorkflowError(KontinueError):
    """An error with a kind and a retry decision, as recorded in an execution's status."""

    kind: ClassVar[ErrorKind] = ErrorKind.EXECUTION
    default_retryable: ClassVar[bool] = True

    def __init__(self, message: str, *, retryable: bool | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = self.default_retryable if retryable is None else retryable
        self.details = details

    def to_record(self) -> ExecutionError:
        """The status form of this error."""
        return ExecutionError(
            kind=self.kind, message=self.message, retryable=self.retryable, details=self.details
        )

    @staticmethod
    def from_record(record: ExecutionError) -> WorkflowError:
        """The exception for a recorded error (a child's, or one replayed from a step)."""
        cls = _BY_KIND.get(record.kind, WorkflowError)
        error = cls.__new__(cls)
        WorkflowError.__init__(
            error, record.message, retryable=record.retryable, details=record.details
        )
        return error


class RetryableError(WorkflowError):
    """Raise it to fail this attempt but let the execution's retry policy try again."""

    default_retryable = True


class NonRetryableError(WorkflowError):
    """Raise it to fail the execution for good: retrying cannot help (bad input, a refusal)."""

    default_retryable = False


class InfrastructureError(WorkflowError):
    """The platform failed (API server unreachable, a Job could not be created): retried."""

    kind = ErrorKind.INFRASTRUCTURE
    default_retryable = True


class ValidationFailed(WorkflowError):
    """Arguments or a result do not match the function's schema; ``details`` lists the fields."""

    kind = ErrorKind.VALIDATION
    default_retryable = False


class ExecutionTimedOut(WorkflowError):
    """The attempt timeout (retryable) or the overall timeout (not retryable) expired."""

    kind = ErrorKind.TIMEOUT
    default_retryable = False


class InternalError(WorkflowError):
    """kontinue itself found an inconsistency; not retried, since it would happen again."""

    kind = ErrorKind.INTERNAL
    default_retryable = False


class NonDeterminismError(InternalError):
    """On replay, the workflow made a different durable call than the one recorded at that step
    (its code changed, or it depends on something that is not replayed: time, randomness, I/O
    outside ``ktx``). Mixing the old results into the new code would be silently wrong."""


class ChildFailed(WorkflowError):
    """A child execution failed; ``child_error`` is its own error, ``child`` its name."""

    kind = ErrorKind.CHILD_FAILED
    default_retryable = False

    @property
    def child(self) -> str:
        """The name of the failed child execution."""
        return str((self.details or {}).get("child", ""))

    @property
    def child_error(self) -> ExecutionError | None:
        """The child's own recorded error (None when it recorded none)."""
        error = (self.details or {}).get("error")
        return ExecutionError.model_validate(error) if error else None

    @classmethod
    def of(cls, child: str, function: str, error: ExecutionError | None) -> ChildFailed:
        """The error a parent sees for its failed child."""
        reason = f": {error.message}" if error else ""
        return cls(
            f"child execution {child} ({function}) failed{reason}",
            details={
                "child": child,
                "function": function,
                "error": error.model_dump(mode="json", by_alias=True, exclude_none=True)
                if error
                else None,
            },
        )


class ChildCanceled(WorkflowError):
    """A child execution was canceled before it finished."""

    kind = ErrorKind.CHILD_CANCELED
    default_retryable = False

    @classmethod
    def of(cls, child: str, function: str) -> ChildCanceled:
        """The error a parent sees for its canceled child."""
        return cls(
            f"child execution {child} ({function}) was canceled",
            details={"child": child, "function": function},
        )


_BY_KIND: dict[ErrorKind, type[WorkflowError]] = {
    ErrorKind.INFRASTRUCTURE: InfrastructureError,
    ErrorKind.VALIDATION: ValidationFailed,
    ErrorKind.CHILD_FAILED: ChildFailed,
    ErrorKind.CHILD_CANCELED: ChildCanceled,
    ErrorKind.TIMEOUT: ExecutionTimedOut,
    ErrorKind.INTERNAL: InternalError,
    ErrorKind.EXECUTION: WorkflowError,
}


def error_record(error: BaseException) -> ExecutionError:
    """How an exception raised by a workflow is recorded: ours keep their kind and retry
    decision; any other exception is a retryable ``Execution`` error named after its type.
    Both carry the exception's type and where it was raised (:func:`trimmed_traceback`)."""
    if isinstance(error, WorkflowError):
        record = error.to_record()
    else:
        text = str(error)
        message = f"{type(error).__name__}: {text}" if text else type(error).__name__
        record = ExecutionError(kind=ErrorKind.EXECUTION, message=message, retryable=True)
    record.type = type_name(type(error))
    record.traceback = trimmed_traceback(error)
    return record


def type_name(cls: type) -> str:
    """``module.Qualname`` of an exception type (builtins by name alone)."""
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


_RUNNER = str(Path(__file__).resolve().parents[1] / "worker")
"""Frames of the worker that called the workflow: left out of a recorded traceback."""


def trimmed_traceback(error: BaseException, limit: int = TRACEBACK_LIMIT) -> str:
    """The formatted traceback of ``error`` without the worker's own frames at its top, at most
    ``limit`` characters: the end, where the error was raised, is kept."""
    summary = traceback.TracebackException.from_exception(error)
    frames = list(summary.stack)
    while len(frames) > 1 and frames[0].filename.startswith(_RUNNER):
        frames.pop(0)
    summary.stack = traceback.StackSummary.from_list(frames)
    text = "".join(summary.format()).rstrip("\n")
    if len(text) <= limit:
        return text
    marker = "(earlier lines left out)\n"
    return marker + text[len(text) - (limit - len(marker)) :]
