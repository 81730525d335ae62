"""Function: what a worker publishes for each function it can run.

Clients read Functions to list what can be started, to validate and complete arguments before
creating an Execution (the argument schema carries descriptions, defaults and enums, which is what
the UI builds its form from), and to find the defaults for retries, timeouts and TTL.  A worker
group publishes each of its functions once; the status lists the workers currently serving it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Literal

from pydantic import Field

from ._meta import Condition, KontinueModel, Resource, ResourceNames
from .executions import ExecutionRetry, ExecutionTimeout, ExecutionTTL

__all__ = [
    "PROPERTY_ORDER",
    "SCALAR_ARGUMENT",
    "SCALAR_MARKER",
    "Function",
    "FunctionConcurrency",
    "FunctionDefaults",
    "FunctionSpec",
    "FunctionStatus",
    "ordered_properties",
    "scalar_schema",
    "with_property_order",
    "wrap_scalar_schema",
]

PROPERTY_ORDER = "x-kontinue-property-order"
"""The keyword listing an object schema's properties in the order the author wrote them.

A real API server hands custom resources back with every object's keys sorted (they pass
through Go maps), so the order of ``properties`` is lost; forms, prompts and listings read this
list instead."""


def with_property_order(schema: Any) -> Any:
    """``schema`` with :data:`PROPERTY_ORDER` beside every ``properties`` in it."""
    if isinstance(schema, list):
        return [with_property_order(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: with_property_order(value) for key, value in schema.items()}
    properties = schema.get("properties")
    if isinstance(properties, dict) and properties:
        out[PROPERTY_ORDER] = list(properties)
    return out


SCALAR_ARGUMENT = "value"
"""The property that holds the argument of a function whose argument is not an object.

``spec.arguments`` is a JSON object (the CRD says so, and kubectl users write one), so a
function taking ``n: int`` receives ``{"value": 3}``: its published schema says exactly that,
with :data:`SCALAR_MARKER` set, and the client wraps ``spawn(fn, 3)`` the same way."""

SCALAR_MARKER = "x-kontinue-scalar"
"""The keyword marking an argument schema as a wrapped scalar (see :data:`SCALAR_ARGUMENT`)."""

_NOT_OBJECTS = frozenset({"string", "integer", "number", "boolean", "array", "null"})


def scalar_schema(schema: dict[str, Any]) -> bool:
    """True when ``schema`` (an argument type's own JSON Schema) describes no object: a
    string, a number, a list, an enum..."""
    target: Any = schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
    kind = target.get("type") if isinstance(target, dict) else None
    return isinstance(kind, str) and kind in _NOT_OBJECTS


def wrap_scalar_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The object schema published for a scalar argument schema: ``{"value": <schema>}``,
    required, marked with :data:`SCALAR_MARKER` (definitions stay at the top)."""
    inner = {k: v for k, v in schema.items() if k != "$defs"}
    wrapped: dict[str, Any] = {
        "type": "object",
        "properties": {SCALAR_ARGUMENT: inner},
        "required": [SCALAR_ARGUMENT],
        SCALAR_MARKER: True,
    }
    if "$defs" in schema:
        wrapped["$defs"] = schema["$defs"]
    return wrapped


def ordered_properties(schema: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The ``properties`` of an object schema in the author's order (see
    :data:`PROPERTY_ORDER`); properties the list leaves out come last."""
    properties = schema.get("properties") or {}
    if not isinstance(properties, dict):
        return
    order = schema.get(PROPERTY_ORDER)
    names = [n for n in order if n in properties] if isinstance(order, list) else []
    names += [n for n in properties if n not in names]
    for name in names:
        yield name, properties[name]


class FunctionDefaults(KontinueModel):
    """Options applied to an execution of the function that does not set them itself."""

    retry: ExecutionRetry | None = None
    """Default retries of failed attempts."""
    timeout: ExecutionTimeout | None = None
    """Default attempt and overall time limits."""
    ttl: ExecutionTTL | None = None
    """Default archiving and deletion of finished root executions."""


class FunctionConcurrency(KontinueModel):
    """Limits on simultaneous executions of the function."""

    limit: int | None = Field(default=None, ge=1)
    """Most executions running at once across all workers of the group; others wait in
    Pending with a message saying why.  Absent: no limit."""


class FunctionSpec(KontinueModel):
    """How to call the function and what it returns."""

    name: str = Field(min_length=1)
    """The registered name executions refer to in ``spec.function``; it may differ from the
    object's name, which must be a valid Kubernetes name."""
    worker_group: str = Field(default="default", min_length=1)
    """The worker group that runs the function (also the ``kontinue.cloud/worker-group``
    label)."""
    display_name: str | None = None
    """Human-friendly name for the CLI and UI."""
    description: str | None = None
    """What the function does, for the CLI and UI."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """JSON Schema of the arguments, with descriptions, defaults and enums."""
    result: dict[str, Any] | None = None
    """JSON Schema of the result, when the function declares one."""
    defaults: FunctionDefaults | None = None
    """Retry, timeout and TTL options of executions that do not set their own."""
    concurrency: FunctionConcurrency | None = None
    """Limits on simultaneous executions."""


class FunctionStatus(KontinueModel):
    """Who serves the function, written by the workers of its group."""

    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    """Standard conditions, e.g. whether any worker serves the function."""
    observed_generation: int | None = None
    """The ``metadata.generation`` this status reflects."""
    workers: list[str] = Field(default_factory=list)
    """Identities of the workers currently able to run the function."""


class Function(Resource):
    """A function registered by a worker group: its argument schema, defaults and limits.

    The annotation ``kontinue.cloud/hidden: "true"`` hides it from listings.
    """

    names: ClassVar[ResourceNames] = ResourceNames("Function", "functions", "function", ("fn",))

    kind: Literal["Function"] = "Function"
    """The kind of this object."""
    spec: FunctionSpec
    """How to call the function and what it returns."""
    status: FunctionStatus = Field(default_factory=FunctionStatus)
    """Who serves the function."""
