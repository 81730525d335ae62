"""The kontinue resources as pydantic models, and the CRDs generated from them.

Everything kontinue keeps lives in five namespaced custom resources of ``kontinue.cloud/v1alpha1``:
:class:`Execution` (one run of a function), :class:`Function` (published by workers),
:class:`Suspension` (a durable sleep or manual pause), :class:`ScheduledExecution` (cron) and
:class:`ArchivedExecution` (a finished tree, compressed).  This package is the single source of
their shape: the worker, controllers, client, CLI and UI read and write these models, and
:func:`crd_manifests` derives the CRDs from them (``python -m kontinue.api.generate_crds`` writes
``deploy/crds/``).  It sits at the bottom of the architecture: it imports only pydantic, the
standard library and the pure schema helpers of :mod:`kontinue.kube.schema`.
"""

from . import labels
from ._crds import RESOURCES, crd_manifests, custom_resource_definition, openapi_schema
from ._durations import DURATION_PATTERN, Duration, format_duration, parse_duration
from ._meta import (
    API_VERSION,
    GROUP,
    VERSION,
    Condition,
    ConditionStatus,
    KontinueModel,
    ObjectMeta,
    OwnerReference,
    Resource,
    ResourceNames,
    Time,
    format_time,
)
from .archives import (
    ARCHIVE_ENCODING,
    ArchivedExecution,
    ArchivedExecutionSpec,
    ArchivedExecutionStatus,
)
from .executions import (
    RERUNNABLE_PHASES,
    TERMINAL_PHASES,
    CancelRequest,
    ChildPolicy,
    ErrorKind,
    Execution,
    ExecutionAttempt,
    ExecutionError,
    ExecutionMutex,
    ExecutionParent,
    ExecutionPhase,
    ExecutionRetry,
    ExecutionSpec,
    ExecutionStatus,
    ExecutionStep,
    ExecutionTimeout,
    ExecutionTTL,
    RerunRequest,
    SkipRequest,
    StepKind,
    StepState,
)
from .functions import (
    Function,
    FunctionConcurrency,
    FunctionDefaults,
    FunctionSpec,
    FunctionStatus,
)
from .schedules import (
    ActiveRun,
    ConcurrencyPolicy,
    ExecutionDefaults,
    ScheduledExecution,
    ScheduledExecutionSpec,
    ScheduledExecutionStatus,
)
from .suspensions import (
    ResumeRequest,
    Suspension,
    SuspensionKind,
    SuspensionPhase,
    SuspensionSpec,
    SuspensionStatus,
)

__all__ = [
    "API_VERSION",
    "ARCHIVE_ENCODING",
    "DURATION_PATTERN",
    "GROUP",
    "RERUNNABLE_PHASES",
    "RESOURCES",
    "TERMINAL_PHASES",
    "VERSION",
    "ActiveRun",
    "ArchivedExecution",
    "ArchivedExecutionSpec",
    "ArchivedExecutionStatus",
    "CancelRequest",
    "ChildPolicy",
    "ConcurrencyPolicy",
    "Condition",
    "ConditionStatus",
    "Duration",
    "ErrorKind",
    "Execution",
    "ExecutionAttempt",
    "ExecutionDefaults",
    "ExecutionError",
    "ExecutionMutex",
    "ExecutionParent",
    "ExecutionPhase",
    "ExecutionRetry",
    "ExecutionSpec",
    "ExecutionStatus",
    "ExecutionStep",
    "ExecutionTTL",
    "ExecutionTimeout",
    "Function",
    "FunctionConcurrency",
    "FunctionDefaults",
    "FunctionSpec",
    "FunctionStatus",
    "KontinueModel",
    "ObjectMeta",
    "OwnerReference",
    "RerunRequest",
    "Resource",
    "ResourceNames",
    "ResumeRequest",
    "ScheduledExecution",
    "ScheduledExecutionSpec",
    "ScheduledExecutionStatus",
    "SkipRequest",
    "StepKind",
    "StepState",
    "Suspension",
    "SuspensionKind",
    "SuspensionPhase",
    "SuspensionSpec",
    "SuspensionStatus",
    "Time",
    "crd_manifests",
    "custom_resource_definition",
    "format_duration",
    "format_time",
    "labels",
    "openapi_schema",
    "parse_duration",
]
