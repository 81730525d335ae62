"""The CustomResourceDefinitions, generated from the models so the two cannot disagree.

pydantic's JSON Schema is turned into a *structural* OpenAPI v3 schema as the API server requires:
``$ref``s inlined, ``Optional[X]`` written as ``X`` (the server drops nulls of such fields), no
titles, free-form JSON marked ``x-kubernetes-preserve-unknown-fields``.  Defaults, enums, bounds,
patterns and the field docstrings (what ``kubectl explain`` shows) are kept, so the server applies
the same defaults and rejects the same values as the models.  Anything the conversion does not
know raises instead of being dropped silently, and every result is checked with
:func:`kontinue.kube.schema.check_structural`.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from kontinue.kube.schema import check_structural

from ._durations import format_duration
from ._meta import GROUP, VERSION, Resource, format_time
from .archives import ArchivedExecution
from .executions import Execution
from .functions import Function
from .schedules import ScheduledExecution
from .suspensions import Suspension

__all__ = ["RESOURCES", "crd_manifests", "custom_resource_definition", "openapi_schema"]

JSON = dict[str, Any]

RESOURCES: tuple[type[Resource], ...] = (
    Execution,
    Function,
    Suspension,
    ScheduledExecution,
    ArchivedExecution,
)
"""Every kontinue kind, in the order their CRDs are listed and installed."""

CATEGORIES = ["kontinue"]
"""``kubectl get kontinue`` lists every kontinue object."""


def _column(name: str, path: str, kind: str = "string", priority: int = 0) -> JSON:
    column: JSON = {"name": name, "type": kind, "jsonPath": path}
    if priority:
        column["priority"] = priority
    return column


_AGE = _column("Age", ".metadata.creationTimestamp", "date")
_PRINTER_COLUMNS: dict[str, list[JSON]] = {
    "Execution": [
        _column("Function", ".spec.function"),
        _column("Phase", ".status.phase"),
        _column("Attempt", ".status.attempt", "integer", priority=1),
        _column("Message", ".status.message"),
        _AGE,
    ],
    "Function": [
        _column("Worker-Group", ".spec.workerGroup"),
        _column("Description", ".spec.description", priority=1),
        _AGE,
    ],
    "Suspension": [
        _column("Execution", ".spec.execution"),
        _column("Kind", ".spec.kind"),
        _column("Phase", ".status.phase"),
        # A string, not a date: kubectl renders future dates as "<invalid>".
        _column("Resume-At", ".spec.resumeAt"),
        _AGE,
    ],
    "ScheduledExecution": [
        _column("Schedule", ".spec.schedule"),
        _column("Function", ".spec.function"),
        _column("Suspend", ".spec.suspend", "boolean"),
        _column("Last-Schedule", ".status.lastScheduleTime", "date"),
        _AGE,
    ],
    "ArchivedExecution": [
        _column("Function", ".spec.function"),
        _column("Phase", ".status.phase"),
        _column("Started", ".status.startedAt", "date"),
        _column("Finished", ".status.finishedAt", "date"),
        _AGE,
    ],
}

_ROOT_FIELDS: JSON = {
    "apiVersion": {
        "description": (
            "APIVersion defines the versioned schema of this representation of an object. "
            "Servers should convert recognized schemas to the latest internal value, and may "
            "reject unrecognized values."
        ),
        "type": "string",
    },
    "kind": {
        "description": (
            "Kind is a string value representing the REST resource this object represents. "
            "Servers may infer this from the endpoint the client submits requests to."
        ),
        "type": "string",
    },
    "metadata": {"type": "object"},
}

# Output order of a schema node's keywords; a keyword not listed here is an error.
_KEY_ORDER = (
    "description",
    "type",
    "format",
    "pattern",
    "enum",
    "default",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "required",
    "properties",
    "additionalProperties",
    "items",
)


class _SchemaGenerator(GenerateJsonSchema):
    """pydantic's generator, writing duration and time defaults the way the models dump them."""

    def encode_default(self, dft: Any) -> Any:
        if isinstance(dft, timedelta):
            return format_duration(dft)
        if isinstance(dft, datetime):
            return format_time(dft)
        return super().encode_default(dft)


def openapi_schema(model: type[Resource]) -> JSON:
    """The structural ``openAPIV3Schema`` of a resource model."""
    raw = model.model_json_schema(
        by_alias=True, mode="validation", schema_generator=_SchemaGenerator
    )
    defs: JSON = raw.pop("$defs", {})
    schema = _convert(raw, defs, model.__name__)
    fields = {k: v for k, v in schema["properties"].items() if k not in _ROOT_FIELDS}
    schema["properties"] = {**_ROOT_FIELDS, **fields}
    # Fresh objects throughout: shared ones would come out of YAML as anchors and aliases.
    fresh: JSON = json.loads(json.dumps(schema))
    return fresh


def _convert(node: JSON, defs: JSON, path: str) -> JSON:
    node = dict(node)
    if "$ref" in node:
        node = {**_definition(node.pop("$ref"), defs, path), **node}
    all_of = node.pop("allOf", None)
    if all_of is not None:  # older pydantic wraps a $ref with siblings in allOf
        if len(all_of) != 1:
            raise ValueError(f"{path}: allOf with {len(all_of)} schemas is not supported")
        node = {**_convert(all_of[0], defs, path), **node}
    any_of = node.pop("anyOf", None)
    if any_of is not None:
        options = [option for option in any_of if option.get("type") != "null"]
        if len(options) != 1:
            raise ValueError(f"{path}: unions are not structural; only Optional[X] is supported")
        node = {**_convert(options[0], defs, path), **node}
    node.pop("title", None)
    if node.get("default", 0) is None:
        del node["default"]
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if "description" in node:
        node["description"] = _paragraphs(node["description"])
    if "properties" in node:
        node["properties"] = {
            name: _convert(sub, defs, f"{path}.{name}") for name, sub in node["properties"].items()
        }
    if isinstance(node.get("items"), dict):
        node["items"] = _convert(node["items"], defs, f"{path}[]")
    extra = node.get("additionalProperties")
    if extra is True:
        del node["additionalProperties"]
        node["x-kubernetes-preserve-unknown-fields"] = True
    elif isinstance(extra, dict):
        node["additionalProperties"] = _convert(extra, defs, f"{path}{{}}")
    if not any(key in node for key in ("type", "properties", "items")):
        node["x-kubernetes-preserve-unknown-fields"] = True  # any JSON value
    unknown = set(node) - set(_KEY_ORDER)
    if unknown:
        raise ValueError(f"{path}: JSON Schema keywords {sorted(unknown)} are not supported")
    return {key: node[key] for key in _KEY_ORDER if key in node}


def _definition(ref: str, defs: JSON, path: str) -> JSON:
    name = ref.rpartition("/")[2]
    if not ref.startswith("#/$defs/") or name not in defs:
        raise ValueError(f"{path}: unresolvable $ref {ref!r}")
    return _convert(defs[name], defs, path)


def _paragraphs(text: str) -> str:
    """Docstring text as kubectl explain shows it: one line per paragraph, Markdown quotes."""
    paragraphs = re.split(r"\n\s*\n", text.strip().replace("``", "`"))
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def custom_resource_definition(model: type[Resource]) -> JSON:
    """The ``apiextensions.k8s.io/v1`` CRD of a resource model.

    Raises :class:`ValueError` if its schema is not structural (a bug in the models).
    """
    names = model.names
    schema = openapi_schema(model)
    errors = check_structural(schema, path="spec.versions[0].schema.openAPIV3Schema")
    if errors:
        details = "; ".join(error.message() for error in errors)
        raise ValueError(f"the {names.kind} schema is not structural: {details}")
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": names.qualified,
            "labels": {"app.kubernetes.io/part-of": "kontinue"},
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": names.kind,
                "listKind": f"{names.kind}List",
                "plural": names.plural,
                "singular": names.singular,
                "shortNames": list(names.short_names),
                "categories": list(CATEGORIES),
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": json.loads(
                        json.dumps(_PRINTER_COLUMNS[names.kind])
                    ),
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def crd_manifests() -> dict[str, JSON]:
    """Every kontinue CRD by file name (``kontinue.cloud_<plural>.yaml``), in install order."""
    return {
        f"{GROUP}_{model.names.plural}.yaml": custom_resource_definition(model)
        for model in RESOURCES
    }
