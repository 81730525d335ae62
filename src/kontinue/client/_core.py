"""Everything the client does that needs no I/O: bodies, selectors, validation, results.

Both clients (``AsyncClient`` and the generated ``Client``) call these, so the rules live once:
how arguments are merged with a function's defaults and checked against its schema, how list
filters become label selectors, what a request patch looks like, which phase allows which
request, and how a result is parsed.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import jsonschema
from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from kontinue.api import (
    RERUNNABLE_PHASES,
    ArchivedExecution,
    ChildPolicy,
    Execution,
    ExecutionMutex,
    ExecutionPhase,
    ExecutionRetry,
    ExecutionTimeout,
    ExecutionTTL,
    Function,
    Suspension,
    decode_archive,
    format_time,
    labels,
)
from kontinue.api.bodies import execution_body
from kontinue.api.functions import SCALAR_ARGUMENT, SCALAR_MARKER
from kontinue.api.resources import ARCHIVES, EXECUTIONS, FUNCTIONS, JOBS, SCHEDULES, SUSPENSIONS

from .errors import ExecutionFailed, InvalidArguments, InvalidState, ResultMismatch

__all__ = [
    "ARCHIVES",
    "EXECUTIONS",
    "FUNCTIONS",
    "JOBS",
    "SCHEDULES",
    "SUSPENSIONS",
    "archived_executions",
    "cancel_patch",
    "check_arguments",
    "check_skip_result",
    "execution_selector",
    "merge_defaults",
    "parse_result",
    "rerun_patch",
    "resume_patch",
    "skip_patch",
    "spawn_body",
]

T = TypeVar("T")
JSON = dict[str, Any]


def arguments_json(args: Any, schema: JSON | None = None) -> JSON:
    """Arguments given as a dict, a pydantic model or a dataclass, as JSON; for a function
    whose published ``schema`` wraps a scalar argument (``n: int``), the bare value too
    (as ``{"value": ...}``)."""
    if args is None:
        return {}
    if schema and schema.get(SCALAR_MARKER) and not isinstance(args, dict):
        value = args.model_dump(mode="json") if isinstance(args, BaseModel) else args
        return {SCALAR_ARGUMENT: TypeAdapter(type(value)).dump_python(value, mode="json")}
    if isinstance(args, BaseModel):
        dumped = args.model_dump(mode="json", by_alias=True, exclude_unset=False)
    elif isinstance(args, dict):
        dumped = TypeAdapter(dict[str, Any]).dump_python(args, mode="json")
    else:
        dumped = TypeAdapter(type(args)).dump_python(args, mode="json")
    if not isinstance(dumped, dict):
        raise InvalidArguments(
            f"arguments must be an object (a dict, model or dataclass), got {type(args).__name__}",
            [{"field": "(root)", "message": "must be an object"}],
        )
    return dumped


def schema_problems(schema: JSON, value: Any) -> list[dict[str, str]]:
    """Each place where ``value`` violates the JSON Schema ``schema``, as ``{"field",
    "message"}`` (``(root)`` for the value itself), in field order."""
    validator = jsonschema.Draft202012Validator(schema)
    return [
        {"field": ".".join(str(p) for p in e.absolute_path) or "(root)", "message": e.message}
        for e in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    ]


def _listed(problems: list[dict[str, str]]) -> str:
    return "; ".join(f"{p['field']}: {p['message']}" for p in problems)


def _resolve(schema: JSON, root: JSON) -> JSON:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return target if isinstance(target, dict) else {}
    return schema


def merge_defaults(schema: JSON, given: JSON) -> JSON:
    """``given`` completed with the defaults of the schema's top-level properties (given values
    win); nested objects are completed too when the given value is an object."""
    merged = copy.deepcopy(given)

    def fill(node: JSON, value: JSON) -> None:
        node = _resolve(node, schema)
        for key, prop in (node.get("properties") or {}).items():
            prop = _resolve(prop, schema) if isinstance(prop, dict) else {}
            if key not in value and "default" in prop:
                value[key] = copy.deepcopy(prop["default"])
            elif isinstance(value.get(key), dict) and prop.get("properties"):
                fill(prop, value[key])

    fill(schema, merged)
    return merged


def check_arguments(function: str, schema: JSON, arguments: JSON) -> None:
    """Raise :class:`InvalidArguments` naming every field that violates ``schema``."""
    if not schema:
        return
    problems = schema_problems(schema, arguments)
    if problems:
        raise InvalidArguments(f"invalid arguments for {function}: {_listed(problems)}", problems)


def check_skip_result(execution: Execution, schema: JSON | None, result: Any) -> None:
    """Raise :class:`InvalidArguments` naming every field of a skip's ``result`` that does not
    fit the function's result ``schema`` (a parent would fail parsing it). Without a result,
    only an execution with a parent is checked: a root's result is read by nobody."""
    if not schema or (result is None and execution.spec.parent is None):
        return
    problems = schema_problems(schema, result)
    if problems:
        raise InvalidArguments(
            f"invalid result for {execution.metadata.name} (the result schema of "
            f"{execution.spec.function}): {_listed(problems)}",
            problems,
        )


def spawn_body(
    function: Function,
    arguments: JSON,
    *,
    namespace: str,
    name: str | None = None,
    retry: ExecutionRetry | None = None,
    timeout: ExecutionTimeout | None = None,
    ttl: ExecutionTTL | None = None,
    mutex: str | ExecutionMutex | None = None,
    extra_labels: dict[str, str] | None = None,
    display_name: str | None = None,
    description: str | None = None,
) -> JSON:
    """The Execution to create for ``function``: arguments merged with its defaults and
    checked against its schema (raising before anything is created)."""
    spec_name = function.spec.name
    merged = merge_defaults(function.spec.arguments, arguments)
    check_arguments(spec_name, function.spec.arguments, merged)
    return execution_body(
        name=name or f"{_name_prefix(spec_name)}-{uuid.uuid4().hex[:8]}",
        namespace=namespace,
        function=spec_name,
        arguments=merged,
        group=function.spec.worker_group,
        retry=retry,
        timeout=timeout,
        ttl=ttl,
        mutex=ExecutionMutex(name=mutex) if isinstance(mutex, str) else mutex,
        display_name=display_name,
        description=description,
        extra_labels=extra_labels,
    )


def _name_prefix(function: str) -> str:
    import re

    return re.sub(r"[^a-z0-9-]+", "-", function.lower()).strip("-")[:40] or "execution"


def execution_selector(
    *,
    function: str | None = None,
    root: str | None = None,
    schedule: str | None = None,
    worker_group: str | None = None,
    label_selector: str | dict[str, str] | None = None,
    only_root: bool = False,
) -> str:
    """The label selector for the list filters."""
    parts: list[str] = []
    if isinstance(label_selector, dict):
        parts += [f"{k}={v}" for k, v in label_selector.items()]
    elif label_selector:
        parts.append(label_selector)
    if function:
        parts.append(f"{labels.LABEL_FUNCTION}={labels.label_value(function, 'function')}")
    if root:
        parts.append(f"{labels.LABEL_ROOT}={root}")
    if schedule:
        parts.append(f"{labels.LABEL_SCHEDULED_EXECUTION}={schedule}")
    if worker_group:
        parts.append(f"{labels.LABEL_WORKER_GROUP}={worker_group}")
    if only_root:
        parts.append(f"!{labels.LABEL_PARENT}")
    return ",".join(parts)


def filter_phases(
    executions: list[Execution], phases: Sequence[ExecutionPhase | str] | None
) -> list[Execution]:
    """Only the executions in one of ``phases`` (all when None)."""
    if not phases:
        return executions
    wanted = {ExecutionPhase(p) for p in phases}
    return [e for e in executions if e.status.phase in wanted]


def archived_executions(parts: Sequence[ArchivedExecution]) -> dict[str, list[JSON]]:
    """The objects stored in an archive, by kind (``executions``, ``suspensions``, ``jobs``)."""
    tree = decode_archive(parts)
    return {key: list(tree.get(key) or []) for key in ("executions", "suspensions", "jobs")}


def group_archives(items: Sequence[JSON]) -> dict[str, list[ArchivedExecution]]:
    """Archive parts grouped by the root they belong to."""
    grouped: dict[str, list[ArchivedExecution]] = {}
    for item in items:
        archive = ArchivedExecution.model_validate(item)
        grouped.setdefault(archive.spec.root, []).append(archive)
    return grouped


def cancel_patch(execution: Execution, message: str | None, now: datetime) -> list[JSON]:
    """The JSON patch asking to cancel ``execution`` (only before it ended)."""
    if execution.is_terminal:
        raise InvalidState(
            f"execution {execution.metadata.name} already ended "
            f"({execution.status.phase.value}): only running executions can be canceled"
        )
    reason = message or "Canceled by client"
    request = {"reason": reason, "requestedAt": format_time(now)}
    return [{"op": "add", "path": "/spec/cancel", "value": request}]


def skip_patch(
    execution: Execution,
    result: Any,
    message: str | None,
    now: datetime,
    result_schema: JSON | None = None,
) -> list[JSON]:
    """The JSON patch asking to skip ``execution`` with ``result`` (only before it ended),
    checked against the function's ``result_schema`` (see :func:`check_skip_result`)."""
    if execution.is_terminal:
        raise InvalidState(
            f"execution {execution.metadata.name} already ended "
            f"({execution.status.phase.value}): only running executions can be skipped"
        )
    value = arguments_json(result) if isinstance(result, BaseModel) else result
    check_skip_result(execution, result_schema, value)
    request = {"result": value, "reason": message or "Skipped by client"}
    request["requestedAt"] = format_time(now)
    return [{"op": "add", "path": "/spec/skip", "value": request}]


def rerun_patch(execution: Execution, child_policy: ChildPolicy | str, now: datetime) -> list[JSON]:
    """The JSON patch asking for another run of a Failed or Canceled execution."""
    if execution.status.phase not in RERUNNABLE_PHASES:
        raise InvalidState(
            f"execution {execution.metadata.name} is {execution.status.phase.value}: only "
            "Failed or Canceled executions can be retried"
        )
    if execution.rerun_requested:
        raise InvalidState(f"a retry of {execution.metadata.name} is already pending")
    count = (execution.spec.rerun.count if execution.spec.rerun else 0) + 1
    policy = ChildPolicy(child_policy)
    request = {"count": count, "childPolicy": policy.value, "requestedAt": format_time(now)}
    ops: list[JSON] = [
        {
            "op": "replace",
            "path": "/metadata/resourceVersion",
            "value": execution.metadata.resource_version,
        },
        {"op": "add", "path": "/spec/rerun", "value": request},
    ]
    # a cancel or skip request belongs to the run it ended: the new run starts clean
    if execution.spec.cancel is not None:
        ops.append({"op": "remove", "path": "/spec/cancel"})
    if execution.spec.skip is not None:
        ops.append({"op": "remove", "path": "/spec/skip"})
    return ops


def resume_patch(suspension: Suspension, data: Any, by: str | None, now: datetime) -> list[JSON]:
    """The JSON patch resuming a waiting Suspension, with ``data`` checked against its
    schema first."""
    if not suspension.is_waiting:
        raise InvalidState(
            f"suspension {suspension.metadata.name} is {suspension.status.phase.value}, not "
            "Waiting: there is nothing to resume"
        )
    value = arguments_json(data) if isinstance(data, BaseModel) else data
    schema = suspension.spec.data_schema
    problems = schema_problems(schema, value) if schema else []
    if problems:
        raise InvalidArguments(
            f"invalid resume data for {suspension.metadata.name}: {_listed(problems)}", problems
        )
    request: JSON = {"data": value, "requestedAt": format_time(now)}
    if by:
        request["requestedBy"] = by
    # "add" replaces a previous (rejected) request whole: nothing of it is merged in
    return [{"op": "add", "path": "/spec/resume", "value": request}]


def parse_result(execution: Execution, type_: type[T] | Any = Any) -> T:
    """The result of a Completed (or Skipped) execution as ``type_``.

    Raises :class:`ExecutionFailed` for a failed or canceled execution, :class:`InvalidState`
    for one still running, and :class:`ResultMismatch` when the result does not fit ``type_``.
    """
    phase = execution.status.phase
    if phase in (ExecutionPhase.FAILED, ExecutionPhase.CANCELED):
        raise ExecutionFailed(execution)
    if phase not in (ExecutionPhase.COMPLETED, ExecutionPhase.SKIPPED):
        raise InvalidState(
            f"execution {execution.metadata.name} is {phase.value}: it has no result yet"
        )
    if type_ is Any:
        return execution.status.result  # type: ignore[no-any-return]
    try:
        return TypeAdapter(type_).validate_python(execution.status.result)  # type: ignore[no-any-return]
    except PydanticValidationError as error:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(root)", "message": e["msg"]}
            for e in error.errors(include_url=False)
        ]
        listed = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise ResultMismatch(
            f"the result of {execution.metadata.name} is not a "
            f"{getattr(type_, '__name__', type_)}: {listed}",
            problems,
        ) from None
