"""Workflow errors and their status records."""

from __future__ import annotations

from kontinue.api import ErrorKind, ExecutionError
from kontinue.sdk import (
    ChildFailed,
    InfrastructureError,
    NonRetryableError,
    RetryableError,
    ValidationFailed,
    WorkflowError,
    error_record,
)


def test_plain_exceptions_are_retryable_execution_errors() -> None:
    try:
        raise KeyError("missing")
    except KeyError as error:
        record = error_record(error)
    assert record.model_copy(update={"traceback": None}) == ExecutionError(
        kind=ErrorKind.EXECUTION, message="KeyError: 'missing'", retryable=True, type="KeyError"
    )
    assert record.traceback is not None
    assert record.traceback.endswith("KeyError: 'missing'")
    assert 'raise KeyError("missing")' in record.traceback
    assert error_record(RuntimeError()).message == "RuntimeError"


def test_helpers_decide_the_retry() -> None:
    assert error_record(RetryableError("flaky")).retryable is True
    assert error_record(NonRetryableError("refused")).retryable is False
    assert error_record(InfrastructureError("api down")).kind == ErrorKind.INFRASTRUCTURE
    assert error_record(ValidationFailed("bad", details=[{"field": "x"}])).details == [
        {"field": "x"}
    ]


def test_records_come_back_as_typed_exceptions() -> None:
    child_error = ExecutionError(kind=ErrorKind.EXECUTION, message="boom", retryable=True)
    failed = ChildFailed.of("deploy-0", "prepare-infra", child_error)
    assert "child execution deploy-0 (prepare-infra) failed: boom" in str(failed)
    again = WorkflowError.from_record(failed.to_record())
    assert isinstance(again, ChildFailed)
    assert again.child == "deploy-0" and again.child_error == child_error
    assert again.retryable is False
