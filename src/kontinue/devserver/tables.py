"""Server-side printing: the ``meta.k8s.io/v1`` ``Table`` that ``kubectl get`` asks for.

Since Kubernetes 1.11 ``kubectl get`` does not choose columns itself. It sends
``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` and prints the columns the API server
returns; ``-o wide`` only reveals the columns with ``priority > 0``. For ``kubectl get`` against
the embedded dev server to look like a real cluster, this module reproduces what
kube-apiserver sends:

* custom resources: apiextensions-apiserver's ``tableconvertor``. A ``Name`` column comes
  first, then ``additionalPrinterColumns`` (default: ``Age``), evaluated with JSONPath and typed
  the way its ``cellForJSONValue`` types them;
* a few built-in kinds: the column sets of ``pkg/printers/internalversion`` with the cells of
  :mod:`.printers` (pods' READY/STATUS/RESTARTS, jobs' COMPLETIONS/DURATION, events' OBJECT,
  ...), plus the default ``NAME / CREATED AT`` table that CRDs themselves get;
* ``includeObject`` (``None`` / ``Metadata`` / ``Object``), and watch events, where only the
  first event of a stream carries ``columnDefinitions`` (kube sets ``NoHeaders`` after it).

Like kube-apiserver, the server always sends the wide cells and kubectl hides the rest. All
functions are pure and take an explicit ``now``; ages are :mod:`.printers`' ``human_duration``,
re-exported here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from jsonpath_ng.ext.parser import parse as _jsonpath_parse
from jsonpath_ng.jsonpath import JSONPath

from .printers import (
    Cell,
    age,
    as_int,
    as_text,
    created_at,
    entry_count,
    event_count,
    event_field,
    event_first_seen,
    event_last_seen,
    event_object,
    event_source,
    field_at,
    human_duration,
    job_completions,
    job_duration,
    job_status,
    label_selector,
    pod_ip,
    pod_ready,
    pod_restarts,
    pod_status,
    readiness_gates,
    row_conditions,
    since,
    template_containers,
    text_at,
)

__all__ = [
    "Column",
    "builtin_columns",
    "human_duration",
    "printer_columns",
    "render_table",
    "table_for_watch_event",
]

_Obj = dict[str, Any]


@dataclass(frozen=True)
class Column:
    """One column of a Table: its definition plus how to compute its cells.

    A cell comes from ``cell(obj, now)`` when set (built-in kinds; the value is sent as is),
    otherwise from ``json_path`` evaluated like apiextensions-apiserver does (``date`` cells
    become ages such as ``"5m"``).
    """

    name: str
    type: str
    json_path: str = ""
    format: str = ""
    description: str = ""
    priority: int = 0
    cell: Cell | None = None

    def definition(self) -> dict[str, Any]:
        """The ``TableColumnDefinition`` JSON for this column."""
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


# --- JSONPath results, printed the way Go prints them --------------------------------------


def _go_float(value: float) -> str:
    """``fmt.Sprint(float64)``: shortest digits, ``%e`` form below 1e-4 and from 1e6 up."""
    if value == 0 or not math.isfinite(value):
        return {"inf": "+Inf", "-inf": "-Inf", "nan": "NaN"}.get(repr(value), "0")
    sign, raw_digits, raw_exp = Decimal(repr(value)).normalize().as_tuple()
    digits, minus = "".join(map(str, raw_digits)), "-" if sign else ""
    exp = len(digits) - 1 + int(raw_exp)  # decimal exponent of the first digit
    if exp < -4 or exp >= 6:  # strconv's 'g' with the shortest precision uses 6 here
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{minus}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    return format(Decimal(f"{minus}{digits}e{exp - len(digits) + 1}"), "f")


def _go_json(value: Any) -> str:
    """Compact ``encoding/json`` output: sorted keys, ``2.0`` as ``2``, HTML-safe escapes."""

    def integral(v: Any) -> Any:
        if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
            return int(v)
        if isinstance(v, dict):
            return {k: integral(x) for k, x in v.items()}
        return [integral(x) for x in v] if isinstance(v, list) else v

    text = json.dumps(integral(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for ch in "<>&\u2028\u2029":  # these only occur inside strings, where Go escapes them
        text = text.replace(ch, f"\\u{ord(ch):04x}")
    return text


def _go_text(value: Any) -> str:
    """How k8s JSONPath prints one result: JSON for maps/lists, ``fmt.Fprint`` otherwise."""
    if value is None:
        return "<no value>"  # text/template's printableValue of a nil interface
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    return _go_json(value) if isinstance(value, dict | list) else str(value)


# --- JSONPath (Kubernetes dialect, evaluated with jsonpath-ng) -----------------------------


# A step is ".field" / "..field" (with "\." escapes) or a "[...]" subscript, filters included.
_JSONPATH_STEP = re.compile(
    r"""(\.\.?)((?:\\.|[^.\[\\])*)|(\[(?:'[^']*'|"[^"]*"|\[[^\]]*\]|[^\]'"])*\])"""
)


def _translate_jsonpath(path: str) -> str:
    """Rewrite a Kubernetes JSONPath (``.a.b[0]``, ``..x``, ``a\\.b``) in jsonpath-ng syntax.

    Field names are always bracket-quoted, so dots, slashes and jsonpath-ng keywords such as
    ``len`` stay plain keys; ``[...]`` subscripts and ``[?(...)]`` filters pass through.
    """
    path = path.strip().removeprefix("{").removesuffix("}").strip().removeprefix("$")
    out, pos = ["$"], 0
    for step in _JSONPATH_STEP.finditer(path):
        if step.start() != pos:
            break
        dots, name, subscript = step.groups()
        name = re.sub(r"\\(.)", r"\1", name or "")  # "\." is a literal dot
        if subscript or dots == "..":
            out.append(subscript or "..")
        if name:
            out.append("[*]" if name == "*" else json.dumps([name], ensure_ascii=False))
        pos = step.end()
    if not path or pos != len(path):
        raise ValueError(f"unsupported JSONPath {path!r}")
    return "".join(out)


@lru_cache(maxsize=1024)
def _compile_jsonpath(path: str) -> JSONPath:
    try:
        return _jsonpath_parse(_translate_jsonpath(path))
    except Exception as exc:  # jsonpath-ng raises several unrelated exception types
        raise ValueError(f"unrecognized column definition {path!r}: {exc}") from exc


def _jsonpath_cell(column: Column, obj: _Obj, now: datetime) -> Any:
    """apiextensions' tableconvertor: the first JSONPath result, typed by the column type."""
    try:
        matches = _compile_jsonpath(column.json_path).find(obj) if column.json_path else []
    except Exception:  # an evaluation error is an empty cell, as in kube
        return None
    if not matches:
        return None
    value, kind = matches[0].value, column.type
    if kind == "string":
        return _go_text(value)
    if value is None or (isinstance(value, bool) and kind != "boolean"):
        return None
    if kind in ("integer", "number") and isinstance(value, int | float):
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "date" and isinstance(value, str):
        return since(value, now)
    return None


# --- column sets ---------------------------------------------------------------------------

_NAME_DESC = "Name must be unique within a namespace. Cannot be updated."
_CREATED_DESC = (
    "CreationTimestamp is a timestamp representing the server time when this object was created."
)
_DESCRIPTIONS = {  # kubectl does not show descriptions; kube takes them from the API docs
    "Ready": "The aggregate readiness state of this pod for accepting traffic.",
    "Status": "The aggregate status of the object.",
    "Restarts": "The number of times the containers in this pod have been restarted.",
    "IP": "IP address allocated to the pod.",
    "Node": "The node the pod is bound to.",
    "Nominated Node": "The node the pod is nominated to run on after preemption.",
    "Readiness Gates": "True readiness gate conditions / readiness gates.",
    "Completions": "The number of pods which reached phase Succeeded.",
    "Duration": "Time required to complete the job.",
    "Containers": "Names of each container in the template.",
    "Images": "Images referenced by each container in the template.",
    "Selector": "A label query over pods that should match the pod count.",
    "Last Seen": "The time at which the most recent occurrence of this event was recorded.",
    "First Seen": "The time at which the event was first recorded.",
    "Type": "The type of the event or secret.",
    "Reason": "Why the action represented by this event was taken.",
    "Object": "The object this event is about.",
    "Subobject": "The part of the object this event is about.",
    "Source": "The component reporting this event.",
    "Message": "A human-readable description of the status of this operation.",
    "Count": "The number of times this event has occurred.",
    "Data": "The number of data entries.",
    "Secrets": "The number of secrets of the service account.",
    "Holder": "The identity of the holder of the lease.",
}


def _columns(*specs: Column | tuple[str, Cell, int]) -> tuple[Column, ...]:
    """Columns from ``(name, cell, priority)`` specs (string cells, descriptions by name)."""
    return tuple(
        s
        if isinstance(s, Column)
        else Column(s[0], "string", "", "", _DESCRIPTIONS[s[0]], s[2], s[1])
        for s in specs
    )


_NAME = Column(
    "Name", "string", format="name", description=_NAME_DESC, cell=text_at("metadata", "name")
)
_AGE = Column("Age", "string", description=_CREATED_DESC, cell=age)
_CRD_AGE = Column("Age", "date", ".metadata.creationTimestamp", description=_CREATED_DESC)


def printer_columns(additional_printer_columns: list[dict[str, Any]] | None) -> list[Column]:
    """Columns for a custom resource version, from its ``additionalPrinterColumns``.

    ``Name`` always comes first; with no printer columns the default is ``Age``
    (``.metadata.creationTimestamp``, type ``date``), as in apiextensions-apiserver. Like its
    ``tableconvertor.New``, columns are kept up to the first unparsable ``jsonPath``.
    """
    columns = [_NAME]
    for spec in additional_printer_columns or ():
        path = as_text(spec.get("jsonPath"))
        try:
            _compile_jsonpath(path)
        except ValueError:
            break
        desc = as_text(spec.get("description")) or (
            f"Custom resource definition column (in JSONPath format): {path}"
        )
        name, kind, fmt = (as_text(spec.get(k)) for k in ("name", "type", "format"))
        columns.append(Column(name, kind, path, fmt, desc, as_int(spec.get("priority"))))
    return columns if additional_printer_columns else [_NAME, _CRD_AGE]


_POD_COLUMNS = _columns(
    _NAME,
    ("Ready", pod_ready, 0),
    ("Status", pod_status, 0),
    ("Restarts", pod_restarts, 0),
    _AGE,
    ("IP", pod_ip, 1),
    ("Node", text_at("spec", "nodeName", default="<none>"), 1),
    ("Nominated Node", text_at("status", "nominatedNodeName", default="<none>"), 1),
    ("Readiness Gates", readiness_gates, 1),
)


_JOB_COLUMNS = _columns(
    _NAME,
    ("Status", job_status, 0),
    ("Completions", job_completions, 0),
    ("Duration", job_duration, 0),
    _AGE,
    ("Containers", template_containers("name"), 1),
    ("Images", template_containers("image"), 1),
    ("Selector", label_selector, 1),
)

_EVENT_COLUMNS = _columns(
    ("Last Seen", event_last_seen, 0),
    ("Type", event_field("type"), 0),
    ("Reason", event_field("reason"), 0),
    ("Object", event_object, 0),
    ("Subobject", event_field("involvedObject", "fieldPath"), 1),
    ("Source", event_source, 1),
    ("Message", event_field("message"), 0),
    ("First Seen", event_first_seen, 1),
    ("Count", event_count, 1),
    Column("Name", "string", format="name", description=_NAME_DESC, priority=1, cell=_NAME.cell),
)

_BUILTIN: dict[tuple[str, str], tuple[Column, ...]] = {
    ("", "pods"): _POD_COLUMNS,
    ("batch", "jobs"): _JOB_COLUMNS,
    ("", "events"): _EVENT_COLUMNS,
    ("events.k8s.io", "events"): _EVENT_COLUMNS,
    ("", "namespaces"): _columns(_NAME, ("Status", text_at("status", "phase"), 0), _AGE),
    ("", "configmaps"): _columns(_NAME, ("Data", entry_count("data", "binaryData"), 0), _AGE),
    ("", "secrets"): _columns(
        _NAME, ("Type", text_at("type"), 0), ("Data", entry_count("data"), 0), _AGE
    ),
    ("", "serviceaccounts"): _columns(_NAME, _AGE),
    ("coordination.k8s.io", "leases"): _columns(
        _NAME, ("Holder", text_at("spec", "holderIdentity"), 0), _AGE
    ),
    # CRDs get the apiserver's default table convertor: NAME and CREATED AT (an RFC 3339 date).
    ("apiextensions.k8s.io", "customresourcedefinitions"): (
        _NAME,
        Column("Created At", "date", description=_CREATED_DESC, cell=created_at),
    ),
}


def builtin_columns(group: str, resource: str) -> list[Column]:
    """kube-apiserver's columns for a built-in resource; unknown ones get ``Name`` + ``Age``.

    The core group may be given as ``""`` or ``"core"``. Jobs have the pre-1.30 columns
    (NAME COMPLETIONS DURATION AGE; kube 1.30 added a STATUS column after NAME).
    """
    columns = _BUILTIN.get(("" if group == "core" else group, resource))
    return list(columns) if columns else printer_columns(None)


# --- tables --------------------------------------------------------------------------------


def _row(columns: Iterable[Column], obj: _Obj, now: datetime, include: str) -> dict[str, Any]:
    cells = [c.cell(obj, now) if c.cell else _jsonpath_cell(c, obj, now) for c in columns]
    row: dict[str, Any] = {"cells": cells}
    if conditions := row_conditions(obj):  # like kube's printPod
        row["conditions"] = conditions
    if include == "Object":
        row["object"] = obj
    elif include == "None":
        row["object"] = None
    else:
        metadata = dict(field_at(obj, "metadata") or {})
        row["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": metadata,
        }
    return row


def _table(
    columns: list[Column],
    objects: Iterable[_Obj],
    now: datetime,
    include_object: str,
    list_meta: dict[str, Any],
    with_definitions: bool,
) -> dict[str, Any]:
    if include_object not in ("", "None", "Metadata", "Object"):
        raise ValueError(f'unrecognized includeObject value: "{include_object}"')
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": [c.definition() for c in columns] if with_definitions else None,
        "rows": [_row(columns, obj, now, include_object) for obj in objects],
    }


def render_table(
    columns: list[Column],
    objects: list[dict[str, Any]],
    *,
    now: datetime,
    include_object: str = "Metadata",
    resource_version: str = "",
    continue_token: str = "",
    remaining: int | None = None,
) -> dict[str, Any]:
    """A ``meta.k8s.io/v1`` Table of ``objects`` (one row each), as kube-apiserver builds it.

    ``include_object`` is the ``includeObject`` query parameter: ``"None"`` (``object: null``),
    ``"Metadata"`` (the default, also for ``""``: a ``PartialObjectMetadata``) or ``"Object"``
    (the object as stored). Anything else raises ValueError, to be answered with a 400 like
    kube's ``unrecognized includeObject value``. ``now`` (naive means UTC) dates every age.
    """
    list_meta: dict[str, Any] = {}
    if resource_version:
        list_meta["resourceVersion"] = resource_version
    if continue_token:
        list_meta["continue"] = continue_token
    if remaining is not None:
        list_meta["remainingItemCount"] = remaining
    return _table(columns, objects, now, include_object, list_meta, True)


def table_for_watch_event(
    columns: list[Column],
    obj: dict[str, Any],
    now: datetime,
    include_object: str = "Metadata",
    *,
    include_column_definitions: bool = True,
) -> dict[str, Any]:
    """The one-row Table carried by a watch event when the watch was asked for ``as=Table``.

    kube-apiserver sends ``columnDefinitions`` with the first event of a watch stream only and
    ``null`` afterwards (its watch ``Fixup`` sets ``NoHeaders`` after the first object; kubectl
    reuses the last headers it saw). Pass ``include_column_definitions=False`` for every event
    after the first. ``metadata.resourceVersion`` is the object's own.
    """
    rv = as_text(field_at(obj, "metadata", "resourceVersion"))
    list_meta = {"resourceVersion": rv} if rv else {}
    return _table(columns, [obj], now, include_object, list_meta, include_column_definitions)
