"""Server-side printing: the ``meta.k8s.io/v1`` ``Table`` that ``kubectl get`` asks for.

Since Kubernetes 1.11 ``kubectl get`` does not choose columns itself. It sends
``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` and prints the columns the API server
returns; ``-o wide`` only reveals the columns with ``priority > 0``. For ``kubectl get`` against
the embedded dev server to look like a real cluster, this module reproduces what
kube-apiserver sends:

* custom resources: apiextensions-apiserver's ``tableconvertor``. A ``Name`` column comes
  first, then ``additionalPrinterColumns`` (default: ``Age``), evaluated with JSONPath and typed
  the way its ``cellForJSONValue`` types them;
* a few built-in kinds: the column sets and cell logic of ``pkg/printers/internalversion``
  (pods' READY/STATUS/RESTARTS, jobs' COMPLETIONS/DURATION, events' OBJECT, ...), plus the
  default ``NAME / CREATED AT`` table that CRDs themselves get;
* ``includeObject`` (``None`` / ``Metadata`` / ``Object``), and watch events, where only the
  first event of a stream carries ``columnDefinitions`` (kube sets ``NoHeaders`` after it).

Like kube-apiserver, the server always sends the wide cells and kubectl hides the rest. All
functions are pure and take an explicit ``now``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from jsonpath_ng.ext.parser import parse as _jsonpath_parse
from jsonpath_ng.jsonpath import JSONPath

__all__ = [
    "Column",
    "builtin_columns",
    "human_duration",
    "printer_columns",
    "render_table",
    "table_for_watch_event",
]

_Obj = dict[str, Any]
_Cell = Callable[[_Obj, datetime], Any]


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
    cell: _Cell | None = None

    def definition(self) -> dict[str, Any]:
        """The ``TableColumnDefinition`` JSON for this column."""
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


# --- time ----------------------------------------------------------------------------------

_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)  # Go's time.Time{}, what metav1.Time.IsZero() means
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def human_duration(delta: timedelta) -> str:
    """``k8s.io/apimachinery/pkg/util/duration.HumanDuration``: ~2-3 significant figures."""
    micros = delta // timedelta(microseconds=1)
    seconds = -(-micros // 1_000_000) if micros < 0 else micros // 1_000_000  # toward zero
    if seconds < -1:  # up to 2s of clock skew still counts as "now"
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m" + (f"{seconds % 60}s" if seconds % 60 else "")
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h" + (f"{minutes % 60}m" if minutes % 60 else "")
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" + (f"{hours % 24}h" if hours % 24 else "")
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    years, days = hours // 24 // 365, (hours // 24) % 365
    if hours < 24 * 365 * 8:
        return f"{years}y" + (f"{days}d" if days else "")
    return f"{years}y"


def _parse_time(value: Any) -> datetime:
    """An RFC 3339 ``metav1.Time``; absent/empty/null is the zero time, junk raises ValueError."""
    if value is None or value in ("", "null"):
        return _ZERO_TIME
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError(f"not an RFC 3339 time: {value!r}")
    return datetime.fromisoformat(value)


def _time_or_zero(value: Any) -> datetime:
    try:
        return _parse_time(value)
    except ValueError:
        return _ZERO_TIME


def _since_time(when: datetime, now: datetime) -> str:
    return "<unknown>" if when == _ZERO_TIME else human_duration(now - when)


def _since(value: Any, now: datetime) -> str:
    """kube's ``translateTimestampSince``: the age of a timestamp field, or ``<unknown>``."""
    try:
        return _since_time(_parse_time(value), now)
    except (ValueError, OverflowError):
        return "<invalid>"


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
        return _since(value, now)
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


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _field(*keys: str, default: str = "") -> _Cell:
    """A cell showing the string at ``keys`` (or ``default`` when it is missing or empty)."""
    return lambda obj, now: _str(_get(obj, *keys)) or default


def _count(*fields: str) -> _Cell:
    """A cell counting the entries of the maps or lists in top-level ``fields``."""
    return lambda obj, now: sum(len(v) for f in fields if isinstance(v := obj.get(f), dict | list))


def _created_at(obj: _Obj, now: datetime) -> str:
    t = _time_or_zero(_get(obj, "metadata", "creationTimestamp")).astimezone(UTC)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"


def _columns(*specs: Column | tuple[str, _Cell, int]) -> tuple[Column, ...]:
    """Columns from ``(name, cell, priority)`` specs (string cells, descriptions by name)."""
    return tuple(
        s
        if isinstance(s, Column)
        else Column(s[0], "string", "", "", _DESCRIPTIONS[s[0]], s[2], s[1])
        for s in specs
    )


def _age(obj: _Obj, now: datetime) -> str:
    return _since(_get(obj, "metadata", "creationTimestamp"), now)


_NAME = Column(
    "Name", "string", format="name", description=_NAME_DESC, cell=_field("metadata", "name")
)
_AGE = Column("Age", "string", description=_CREATED_DESC, cell=_age)
_CRD_AGE = Column("Age", "date", ".metadata.creationTimestamp", description=_CREATED_DESC)


def printer_columns(additional_printer_columns: list[dict[str, Any]] | None) -> list[Column]:
    """Columns for a custom resource version, from its ``additionalPrinterColumns``.

    ``Name`` always comes first; with no printer columns the default is ``Age``
    (``.metadata.creationTimestamp``, type ``date``), as in apiextensions-apiserver. Like its
    ``tableconvertor.New``, columns are kept up to the first unparsable ``jsonPath``.
    """
    columns = [_NAME]
    for spec in additional_printer_columns or ():
        path = _str(spec.get("jsonPath"))
        try:
            _compile_jsonpath(path)
        except ValueError:
            break
        desc = _str(spec.get("description")) or (
            f"Custom resource definition column (in JSONPath format): {path}"
        )
        name, kind, fmt = (_str(spec.get(k)) for k in ("name", "type", "format"))
        columns.append(Column(name, kind, path, fmt, desc, _int(spec.get("priority"))))
    return columns if additional_printer_columns else [_NAME, _CRD_AGE]


def _first_true(conditions: Any, kind: Any) -> bool:
    for cond in _items(conditions):
        if _get(cond, "type") == kind:
            return bool(_get(cond, "status") == "True")
    return False


def _exit_reason(term: Any, prefix: str = "") -> str:
    if _str(_get(term, "reason")):
        return prefix + _str(_get(term, "reason"))
    if _int(_get(term, "signal")):
        return f"{prefix}Signal:{_int(_get(term, 'signal'))}"
    return f"{prefix}ExitCode:{_int(_get(term, 'exitCode'))}"


def _pod_summary(pod: _Obj, now: datetime) -> tuple[str, str, str]:
    """READY, STATUS and RESTARTS, following kube's ``printPod`` (sidecar containers too)."""
    status, conditions = _get(pod, "status"), _get(pod, "status", "conditions")
    inits = _items(_get(pod, "spec", "initContainers"))
    sidecars = {_get(c, "name") for c in inits if _get(c, "restartPolicy") == "Always"}
    total = len(_items(_get(pod, "spec", "containers"))) + len(sidecars)
    phase = _str(_get(status, "phase"))
    reason = _str(_get(status, "reason")) or phase
    for cond in _items(conditions):
        if _get(cond, "type") == "PodScheduled" and _get(cond, "reason") == "SchedulingGated":
            reason = "SchedulingGated"

    ready = restarts = sidecar_restarts = 0
    last_restart = last_sidecar_restart = _ZERO_TIME
    initializing = False
    for i, cs in enumerate(_items(_get(status, "initContainerStatuses"))):
        count = _int(_get(cs, "restartCount"))
        finished = _time_or_zero(_get(cs, "lastState", "terminated", "finishedAt"))
        restarts, last_restart = restarts + count, max(last_restart, finished)
        is_sidecar = _get(cs, "name") in sidecars
        if is_sidecar:
            sidecar_restarts += count
            last_sidecar_restart = max(last_sidecar_restart, finished)
        term, waiting = _get(cs, "state", "terminated"), _get(cs, "state", "waiting")
        if isinstance(term, dict) and _int(term.get("exitCode")) == 0:
            continue
        if is_sidecar and _get(cs, "started") is True:
            ready += _get(cs, "ready") is True
            continue
        if isinstance(term, dict):
            reason = _exit_reason(term, "Init:")
        elif _str(_get(waiting, "reason")) not in ("", "PodInitializing"):
            reason = "Init:" + _str(_get(waiting, "reason"))
        else:
            reason = f"Init:{i}/{len(inits)}"
        initializing = True
        break

    if not initializing or _first_true(conditions, "Initialized"):
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running, error_reason = False, ""
        for cs in reversed(_items(_get(status, "containerStatuses"))):
            restarts += _int(_get(cs, "restartCount"))
            finished = _time_or_zero(_get(cs, "lastState", "terminated", "finishedAt"))
            last_restart = max(last_restart, finished)
            term, waiting = _get(cs, "state", "terminated"), _get(cs, "state", "waiting")
            if _str(_get(waiting, "reason")):
                reason = _str(_get(waiting, "reason"))
            elif isinstance(term, dict):
                reason = _exit_reason(term)
                error_reason = reason if _int(term.get("exitCode")) else error_reason
            elif _get(cs, "ready") is True and isinstance(_get(cs, "state", "running"), dict):
                has_running, ready = True, ready + 1
        if reason == "Completed":  # one container finished, but others may still be running
            if has_running and _first_true(conditions, "Ready"):
                reason = "Running"
            elif error_reason or has_running:
                reason = error_reason or "NotReady"

    if _get(pod, "metadata", "deletionTimestamp") is not None:
        if _get(status, "reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    restarts_text = str(restarts)
    if restarts and last_restart != _ZERO_TIME:
        restarts_text = f"{restarts} ({_since_time(last_restart, now)} ago)"
    return f"{ready}/{total}", reason, restarts_text


def _pod_ip(pod: _Obj, now: datetime) -> str:
    ips = _items(_get(pod, "status", "podIPs"))
    return _str(_get(ips[0], "ip") if ips else _get(pod, "status", "podIP")) or "<none>"


def _readiness_gates(pod: _Obj, now: datetime) -> str:
    gates, conditions = (
        _items(_get(pod, "spec", "readinessGates")),
        _get(pod, "status", "conditions"),
    )
    ok = sum(_first_true(conditions, _get(gate, "conditionType")) for gate in gates)
    return f"{ok}/{len(gates)}" if gates else "<none>"


def _row_completed(reason: str, message: str) -> list[dict[str, str]]:
    return [{"type": "Completed", "status": "True", "reason": reason, "message": message}]


_POD_ROW_CONDITIONS = {
    "Succeeded": _row_completed("Succeeded", "The pod has completed successfully."),
    "Failed": _row_completed("Failed", "The pod failed."),
}
_POD_COLUMNS = _columns(
    _NAME,
    ("Ready", lambda o, now: _pod_summary(o, now)[0], 0),
    ("Status", lambda o, now: _pod_summary(o, now)[1], 0),
    ("Restarts", lambda o, now: _pod_summary(o, now)[2], 0),
    _AGE,
    ("IP", _pod_ip, 1),
    ("Node", _field("spec", "nodeName", default="<none>"), 1),
    ("Nominated Node", _field("status", "nominatedNodeName", default="<none>"), 1),
    ("Readiness Gates", _readiness_gates, 1),
)


def _job_completions(job: _Obj, now: datetime) -> str:
    succeeded, completions = (
        _int(_get(job, "status", "succeeded")),
        _get(job, "spec", "completions"),
    )
    if isinstance(completions, int) and not isinstance(completions, bool):
        return f"{succeeded}/{completions}"
    parallelism = _int(_get(job, "spec", "parallelism"))
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def _job_duration(job: _Obj, now: datetime) -> str:
    start = _time_or_zero(_get(job, "status", "startTime"))
    end = _time_or_zero(_get(job, "status", "completionTime"))
    if start == _ZERO_TIME:
        return ""
    return human_duration((now if end == _ZERO_TIME else end) - start)


def _template_containers(key: str) -> _Cell:
    containers = ("spec", "template", "spec", "containers")
    return lambda job, now: ",".join(_str(_get(c, key)) for c in _items(_get(job, *containers)))


def _label_selector(job: _Obj, now: datetime) -> str:
    """``metav1.FormatLabelSelector`` of the job's selector: ``a=b,c in (d,e),!f`` or ``<none>``."""
    selector = _get(job, "spec", "selector")
    reqs = [(str(k), f"{k}={v}") for k, v in (_get(selector, "matchLabels") or {}).items()]
    for expr in _items(_get(selector, "matchExpressions")):
        key, values = _str(_get(expr, "key")), sorted(map(str, _items(_get(expr, "values"))))
        formats = {"Exists": key, "DoesNotExist": f"!{key}"}
        formats |= {
            "In": f"{key} in ({','.join(values)})",
            "NotIn": f"{key} notin ({','.join(values)})",
        }
        if _get(expr, "operator") not in formats:
            return "<error>"
        reqs.append((key, formats[_get(expr, "operator")]))
    return ",".join(text for _, text in sorted(reqs, key=lambda r: r[0])) or "<none>"


_JOB_COLUMNS = _columns(
    _NAME,
    ("Completions", _job_completions, 0),
    ("Duration", _job_duration, 0),
    _AGE,
    ("Containers", _template_containers("name"), 1),
    ("Images", _template_containers("image"), 1),
    ("Selector", _label_selector, 1),
)

# events.k8s.io/v1 Events are printed by the core/v1 printer after conversion to these names.
_EVENTS_V1_TO_CORE = {
    "regarding": "involvedObject",
    "note": "message",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
    "reportingController": "reportingComponent",
}


def _core_event(ev: _Obj) -> _Obj:
    if not _str(ev.get("apiVersion")).startswith("events.k8s.io/") and "regarding" not in ev:
        return ev
    return {_EVENTS_V1_TO_CORE.get(k, k): v for k, v in ev.items()}


def _event_summary(obj: _Obj, now: datetime) -> tuple[str, str, int, str, str]:
    """LAST SEEN, FIRST SEEN, COUNT, OBJECT and SOURCE, as kube's ``printEvent`` has them."""
    ev = _core_event(obj)
    first = _since(ev.get("firstTimestamp"), now)
    if _time_or_zero(ev.get("firstTimestamp")) == _ZERO_TIME:
        first = _since(ev.get("eventTime"), now)
    last = _since(ev.get("lastTimestamp"), now)
    if _time_or_zero(ev.get("lastTimestamp")) == _ZERO_TIME:
        last = first
    count = _int(ev.get("count")) or 1  # singleton events have no count in the new API
    if isinstance(ev.get("series"), dict):
        last = _since(_get(ev, "series", "lastObservedTime"), now)
        count = _int(_get(ev, "series", "count"))
    kind, name = (
        _str(_get(ev, "involvedObject", "kind")).lower(),
        _get(ev, "involvedObject", "name"),
    )
    component = _str(_get(ev, "source", "component")) or _str(ev.get("reportingComponent"))
    instance = _str(_get(ev, "source", "host")) or _str(ev.get("reportingInstance"))
    source = f"{component}, {instance}" if instance else component
    return last, first, count, f"{kind}/{name}" if _str(name) else kind, source


def _event(index: int) -> _Cell:
    return lambda obj, now: _event_summary(obj, now)[index]


def _event_field(*keys: str) -> _Cell:
    return lambda obj, now: _str(_get(_core_event(obj), *keys)).strip()


_EVENT_COLUMNS = _columns(
    ("Last Seen", _event(0), 0),
    ("Type", _event_field("type"), 0),
    ("Reason", _event_field("reason"), 0),
    ("Object", _event(3), 0),
    ("Subobject", _event_field("involvedObject", "fieldPath"), 1),
    ("Source", _event(4), 1),
    ("Message", _event_field("message"), 0),
    ("First Seen", _event(1), 1),
    ("Count", _event(2), 1),
    Column("Name", "string", format="name", description=_NAME_DESC, priority=1, cell=_NAME.cell),
)

_BUILTIN: dict[tuple[str, str], tuple[Column, ...]] = {
    ("", "pods"): _POD_COLUMNS,
    ("batch", "jobs"): _JOB_COLUMNS,
    ("", "events"): _EVENT_COLUMNS,
    ("events.k8s.io", "events"): _EVENT_COLUMNS,
    ("", "namespaces"): _columns(_NAME, ("Status", _field("status", "phase"), 0), _AGE),
    ("", "configmaps"): _columns(_NAME, ("Data", _count("data", "binaryData"), 0), _AGE),
    ("", "secrets"): _columns(
        _NAME, ("Type", _field("type"), 0), ("Data", _count("data"), 0), _AGE
    ),
    ("", "serviceaccounts"): _columns(_NAME, ("Secrets", _count("secrets"), 0), _AGE),
    ("coordination.k8s.io", "leases"): _columns(
        _NAME, ("Holder", _field("spec", "holderIdentity"), 0), _AGE
    ),
    # CRDs get the apiserver's default table convertor: NAME and CREATED AT (an RFC 3339 date).
    ("apiextensions.k8s.io", "customresourcedefinitions"): (
        _NAME,
        Column("Created At", "date", description=_CREATED_DESC, cell=_created_at),
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
    if obj.get("kind") == "Pod" and obj.get("apiVersion") == "v1":  # like kube's printPod
        conditions = _POD_ROW_CONDITIONS.get(_str(_get(obj, "status", "phase")))
        if conditions:
            row["conditions"] = [dict(c) for c in conditions]
    if include == "Object":
        row["object"] = obj
    elif include == "None":
        row["object"] = None
    else:
        metadata = dict(_get(obj, "metadata") or {})
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
    rv = _str(_get(obj, "metadata", "resourceVersion"))
    list_meta = {"resourceVersion": rv} if rv else {}
    return _table(columns, [obj], now, include_object, list_meta, include_column_definitions)
