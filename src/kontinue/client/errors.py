"""The errors of the client, each with the exit code the CLI uses for it.

Kubernetes errors (:class:`~kontinue.kube.NotFound`, :class:`~kontinue.kube.Forbidden`, ...) pass
through unchanged where they say everything; these add what only kontinue knows: arguments that
do not match a function's schema, a request that the execution's state forbids, an awaited
execution that failed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from kontinue.api import Execution, ExecutionError
from kontinue.errors import KontinueError

__all__ = [
    "EXIT_FAILED",
    "EXIT_FORBIDDEN",
    "EXIT_INVALID",
    "EXIT_NOT_FOUND",
    "EXIT_TIMEOUT",
    "ClientError",
    "ExecutionFailed",
    "InvalidArguments",
    "InvalidState",
    "ResultMismatch",
    "UnknownFunction",
    "WaitTimeout",
]

EXIT_INVALID = 2
"""Exit code for input the command cannot use (bad JSON, arguments violating the schema)."""
EXIT_NOT_FOUND = 3
"""Exit code when an execution, function, suspension or Job does not exist."""
EXIT_FAILED = 4
"""Exit code when an awaited execution failed, was canceled, or a request is not allowed in
the execution's state."""
EXIT_TIMEOUT = 5
"""Exit code when waiting ran out of time."""
EXIT_FORBIDDEN = 6
"""Exit code when the API server refused the request to this user (RBAC) or knew no user."""


class ClientError(KontinueError):
    """An error of the kontinue client; ``exit_code`` is what the CLI exits with."""

    exit_code: ClassVar[int] = 1


class UnknownFunction(ClientError):
    """No Function of that name is published in the namespace."""

    exit_code = EXIT_NOT_FOUND


class InvalidArguments(ClientError):
    """Arguments that do not match the function's schema; nothing was created.

    ``problems`` lists each as ``{"field": ..., "message": ...}``.
    """

    exit_code = EXIT_INVALID

    def __init__(self, message: str, problems: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.problems = problems


class InvalidState(ClientError):
    """The request is not allowed in the execution's current phase (e.g. canceling an
    execution that has ended, retrying one that did not fail)."""

    exit_code = EXIT_FAILED


class ExecutionFailed(ClientError):
    """The execution failed or was canceled; ``error`` is its recorded error, ``traceback``
    where workflow code raised it (when it did)."""

    exit_code = EXIT_FAILED

    def __init__(self, execution: Execution) -> None:
        self.execution = execution
        self.error: ExecutionError | None = execution.status.error
        self.traceback: str | None = self.error.traceback if self.error else None
        name = execution.metadata.name
        phase = execution.status.phase.value
        why = self.error.message if self.error else execution.status.message or phase
        super().__init__(f"execution {name} {phase.lower()}: {why}")


class ResultMismatch(ClientError):
    """The execution's result does not match the type it was parsed as."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.details = details


class WaitTimeout(ClientError, TimeoutError):
    """Waiting for an execution ran out of time (the execution goes on)."""

    exit_code = EXIT_TIMEOUT
