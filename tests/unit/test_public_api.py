"""The public names of each package: changing them is an API change, so it is deliberate."""

from __future__ import annotations

import kontinue.clock
import kontinue.devserver
import kontinue.kube.schema
import kontinue.kube.selectors


def test_devserver_exports() -> None:
    assert sorted(kontinue.devserver.__all__) == [
        "ApiStatus",
        "Controller",
        "DEFAULT_PORT",
        "DevServer",
        "DevServerError",
        "DevServerSettings",
        "DevServerThread",
        "LogSource",
        "Registry",
        "default_data_dir",
    ]


def test_toolkit_exports() -> None:
    assert sorted(kontinue.kube.selectors.__all__) == [
        "FieldSelector",
        "LabelSelector",
        "Requirement",
        "SelectorError",
    ]
    assert sorted(kontinue.kube.schema.__all__) == sorted(
        [
            "OMITTED",
            "FieldError",
            "Unchanged",
            "apply_defaults",
            "check_structural",
            "format_invalid_message",
            "prune",
            "validate",
            "validate_status",
        ]
    )
    assert sorted(kontinue.clock.__all__) == ["Clock", "ManualClock", "SystemClock", "format_time"]


def test_kube_exports() -> None:
    import kontinue.kube

    assert sorted(kontinue.kube.__all__) == sorted(
        [
            "ALL_NAMESPACES",
            "Accumulator",
            "AccumulatorClosed",
            "AlreadyExists",
            "ApiError",
            "AsyncKubeClient",
            "AsyncMockTransport",
            "AsyncTransport",
            "BadRequest",
            "Conflict",
            "ConnectionFailed",
            "Delta",
            "DeltaType",
            "Forbidden",
            "Gone",
            "Invalid",
            "KubeClient",
            "KubeError",
            "KubeSettings",
            "MethodNotAllowed",
            "MockTransport",
            "NotFound",
            "Query",
            "Request",
            "ResourceInfo",
            "Response",
            "ServerError",
            "SyncAccumulator",
            "TooLarge",
            "TooManyRequests",
            "Transport",
            "Unauthorized",
            "WatchEvent",
            "to_dict",
        ]
    )
    for name in kontinue.kube.__all__:
        assert getattr(kontinue.kube, name) is not None, name


def test_importing_the_toolkit_does_not_load_the_kubernetes_library() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, kontinue.kube, kontinue.kube.selectors, kontinue.kube.schema, "
        "kontinue.devserver; print('kubernetes' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_sdk_exports() -> None:
    import kontinue.sdk

    assert sorted(kontinue.sdk.__all__) == [
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
        "RESULT_LIMIT",
        "RetryableError",
        "StepCall",
        "SyncExecutionContext",
        "ValidationFailed",
        "WorkflowError",
        "current_context",
        "current_step",
        "error_record",
    ]


def test_engine_exports() -> None:
    import kontinue.testing
    import kontinue.worker

    assert sorted(kontinue.worker.__all__) == [
        "MetricsUnavailable",
        "Worker",
        "WorkerSettings",
        "function_object_name",
    ]
    assert sorted(kontinue.testing.__all__) == [
        "Identities",
        "Intercept",
        "RunningWorker",
        "TestServer",
        "WorkflowEnvironment",
        "async_eventually",
        "eventually",
        "identities",
        "service_account_kubeconfig",
    ]
    assert sorted(kontinue.__all__) == sorted(
        [
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
    )
    for name in kontinue.__all__:
        assert getattr(kontinue, name) is not None, name


def test_importing_kontinue_is_cheap() -> None:
    import subprocess
    import sys

    probe = "import sys, kontinue; print('kontinue.worker' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_the_testing_package_works_without_pytest() -> None:
    """pytest comes with the ``testing`` extra; WorkflowEnvironment does not need it."""
    import subprocess
    import sys

    probe = (
        "import sys; sys.modules['pytest'] = None\n"
        "from kontinue.testing import TestServer, WorkflowEnvironment\n"
        "print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr
