"""Cells of the built-in kinds' Tables, computed like kube-apiserver's printers.

Each cell is a pure ``cell(obj, now)`` that ports the cell logic of
``pkg/printers/internalversion`` (pods' READY/STATUS/RESTARTS, jobs' COMPLETIONS/DURATION,
events' OBJECT, ...); :mod:`.tables` arranges them into columns. Ages and durations live here
too, as kube's ``translateTimestampSince`` and apimachinery's ``HumanDuration`` print them,
because the cells need them and the Table machinery's ``date`` columns reuse them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "Cell",
    "age",
    "as_int",
    "as_text",
    "created_at",
    "entry_count",
    "event_count",
    "event_field",
    "event_first_seen",
    "event_last_seen",
    "event_object",
    "event_source",
    "field_at",
    "human_duration",
    "job_completions",
    "job_duration",
    "label_selector",
    "pod_ip",
    "pod_ready",
    "pod_restarts",
    "pod_status",
    "readiness_gates",
    "row_conditions",
    "since",
    "template_containers",
    "text_at",
]

_Obj = dict[str, Any]
Cell = Callable[[_Obj, datetime], Any]
"""A cell's value for an object at ``now``, sent as is."""


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


def since(value: Any, now: datetime) -> str:
    """kube's ``translateTimestampSince``: the age of a timestamp field, or ``<unknown>``."""
    try:
        return _since_time(_parse_time(value), now)
    except (ValueError, OverflowError):
        return "<invalid>"


# --- reading fields ------------------------------------------------------------------------


def field_at(obj: Any, *keys: str) -> Any:
    """``obj[k1][k2]...``, or None where the path is missing (lenient reads of decoded JSON)."""
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def as_text(value: Any) -> str:
    """``value`` if it is a string, else ``""``."""
    return value if isinstance(value, str) else ""


def as_int(value: Any) -> int:
    """``value`` as an int if it is a number (not a bool), else 0."""
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def text_at(*keys: str, default: str = "") -> Cell:
    """A cell showing the string at ``keys`` (or ``default`` when it is missing or empty)."""
    return lambda obj, now: as_text(field_at(obj, *keys)) or default


def entry_count(*fields: str) -> Cell:
    """A cell counting the entries of the maps or lists in top-level ``fields``."""
    return lambda obj, now: sum(len(v) for f in fields if isinstance(v := obj.get(f), dict | list))


def created_at(obj: _Obj, now: datetime) -> str:
    """The creation time as an RFC 3339 date, for the CRDs' ``CREATED AT`` column."""
    t = _time_or_zero(field_at(obj, "metadata", "creationTimestamp")).astimezone(UTC)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"


def age(obj: _Obj, now: datetime) -> str:
    """AGE: the time since creation, e.g. ``5m``."""
    return since(field_at(obj, "metadata", "creationTimestamp"), now)


# --- pods ----------------------------------------------------------------------------------


def _first_true(conditions: Any, kind: Any) -> bool:
    for cond in _items(conditions):
        if field_at(cond, "type") == kind:
            return bool(field_at(cond, "status") == "True")
    return False


def _exit_reason(term: Any, prefix: str = "") -> str:
    if as_text(field_at(term, "reason")):
        return prefix + as_text(field_at(term, "reason"))
    if as_int(field_at(term, "signal")):
        return f"{prefix}Signal:{as_int(field_at(term, 'signal'))}"
    return f"{prefix}ExitCode:{as_int(field_at(term, 'exitCode'))}"


def _pod_summary(pod: _Obj, now: datetime) -> tuple[str, str, str]:
    """READY, STATUS and RESTARTS, following kube's ``printPod`` (sidecar containers too)."""
    status, conditions = field_at(pod, "status"), field_at(pod, "status", "conditions")
    inits = _items(field_at(pod, "spec", "initContainers"))
    sidecars = {field_at(c, "name") for c in inits if field_at(c, "restartPolicy") == "Always"}
    total = len(_items(field_at(pod, "spec", "containers"))) + len(sidecars)
    phase = as_text(field_at(status, "phase"))
    reason = as_text(field_at(status, "reason")) or phase
    for cond in _items(conditions):
        if (
            field_at(cond, "type") == "PodScheduled"
            and field_at(cond, "reason") == "SchedulingGated"
        ):
            reason = "SchedulingGated"

    ready = restarts = sidecar_restarts = 0
    last_restart = last_sidecar_restart = _ZERO_TIME
    initializing = False
    for i, cs in enumerate(_items(field_at(status, "initContainerStatuses"))):
        count = as_int(field_at(cs, "restartCount"))
        finished = _time_or_zero(field_at(cs, "lastState", "terminated", "finishedAt"))
        restarts, last_restart = restarts + count, max(last_restart, finished)
        is_sidecar = field_at(cs, "name") in sidecars
        if is_sidecar:
            sidecar_restarts += count
            last_sidecar_restart = max(last_sidecar_restart, finished)
        term, waiting = field_at(cs, "state", "terminated"), field_at(cs, "state", "waiting")
        if isinstance(term, dict) and as_int(term.get("exitCode")) == 0:
            continue
        if is_sidecar and field_at(cs, "started") is True:
            ready += field_at(cs, "ready") is True
            continue
        if isinstance(term, dict):
            reason = _exit_reason(term, "Init:")
        elif as_text(field_at(waiting, "reason")) not in ("", "PodInitializing"):
            reason = "Init:" + as_text(field_at(waiting, "reason"))
        else:
            reason = f"Init:{i}/{len(inits)}"
        initializing = True
        break

    if not initializing or _first_true(conditions, "Initialized"):
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running, error_reason = False, ""
        for cs in reversed(_items(field_at(status, "containerStatuses"))):
            restarts += as_int(field_at(cs, "restartCount"))
            finished = _time_or_zero(field_at(cs, "lastState", "terminated", "finishedAt"))
            last_restart = max(last_restart, finished)
            term, waiting = field_at(cs, "state", "terminated"), field_at(cs, "state", "waiting")
            if as_text(field_at(waiting, "reason")):
                reason = as_text(field_at(waiting, "reason"))
            elif isinstance(term, dict):
                reason = _exit_reason(term)
                error_reason = reason if as_int(term.get("exitCode")) else error_reason
            elif field_at(cs, "ready") is True and isinstance(
                field_at(cs, "state", "running"), dict
            ):
                has_running, ready = True, ready + 1
        if reason == "Completed":  # one container finished, but others may still be running
            if has_running and _first_true(conditions, "Ready"):
                reason = "Running"
            elif error_reason or has_running:
                reason = error_reason or "NotReady"

    if field_at(pod, "metadata", "deletionTimestamp") is not None:
        if field_at(status, "reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    restarts_text = str(restarts)
    if restarts and last_restart != _ZERO_TIME:
        restarts_text = f"{restarts} ({_since_time(last_restart, now)} ago)"
    return f"{ready}/{total}", reason, restarts_text


def pod_ready(pod: _Obj, now: datetime) -> str:
    """READY: ready containers (sidecars included) out of all, e.g. ``1/2``."""
    return _pod_summary(pod, now)[0]


def pod_status(pod: _Obj, now: datetime) -> str:
    """STATUS: the reason kubectl shows, e.g. ``Running``, ``Init:0/1``, ``CrashLoopBackOff``."""
    return _pod_summary(pod, now)[1]


def pod_restarts(pod: _Obj, now: datetime) -> str:
    """RESTARTS: the restart count, with the age of the last restart, e.g. ``3 (5m ago)``."""
    return _pod_summary(pod, now)[2]


def pod_ip(pod: _Obj, now: datetime) -> str:
    """IP: the first pod IP, or ``<none>``."""
    ips = _items(field_at(pod, "status", "podIPs"))
    return as_text(field_at(ips[0], "ip") if ips else field_at(pod, "status", "podIP")) or "<none>"


def readiness_gates(pod: _Obj, now: datetime) -> str:
    """READINESS GATES: gates whose condition is true out of all, or ``<none>``."""
    gates, conditions = (
        _items(field_at(pod, "spec", "readinessGates")),
        field_at(pod, "status", "conditions"),
    )
    ok = sum(_first_true(conditions, field_at(gate, "conditionType")) for gate in gates)
    return f"{ok}/{len(gates)}" if gates else "<none>"


def _row_completed(reason: str, message: str) -> list[dict[str, str]]:
    return [{"type": "Completed", "status": "True", "reason": reason, "message": message}]


_POD_ROW_CONDITIONS = {
    "Succeeded": _row_completed("Succeeded", "The pod has completed successfully."),
    "Failed": _row_completed("Failed", "The pod failed."),
}


def row_conditions(obj: _Obj) -> list[dict[str, str]]:
    """The row ``conditions`` of kube's ``printPod``: ``Completed`` once a v1 Pod has finished."""
    if obj.get("kind") != "Pod" or obj.get("apiVersion") != "v1":
        return []
    conditions = _POD_ROW_CONDITIONS.get(as_text(field_at(obj, "status", "phase")))
    return [dict(c) for c in conditions] if conditions else []


# --- jobs ----------------------------------------------------------------------------------


def job_status(job: _Obj, now: datetime) -> str:
    """STATUS: the Job's state from its conditions, as kubectl's printer names it."""
    conditions = field_at(job, "status", "conditions")
    for kind in ("Failed", "Complete", "Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if _first_true(conditions, kind):
            return kind
    if field_at(job, "metadata", "deletionTimestamp"):
        return "Terminating"
    return "Running"


def job_completions(job: _Obj, now: datetime) -> str:
    """COMPLETIONS: succeeded pods out of the wanted completions, e.g. ``1/3`` or ``0/1 of 2``."""
    succeeded, completions = (
        as_int(field_at(job, "status", "succeeded")),
        field_at(job, "spec", "completions"),
    )
    if isinstance(completions, int) and not isinstance(completions, bool):
        return f"{succeeded}/{completions}"
    parallelism = as_int(field_at(job, "spec", "parallelism"))
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def job_duration(job: _Obj, now: datetime) -> str:
    """DURATION: from start to completion (or to ``now`` while running); empty before start."""
    start = _time_or_zero(field_at(job, "status", "startTime"))
    end = _time_or_zero(field_at(job, "status", "completionTime"))
    if start == _ZERO_TIME:
        return ""
    return human_duration((now if end == _ZERO_TIME else end) - start)


def template_containers(key: str) -> Cell:
    """A cell joining ``key`` (``name`` or ``image``) of the pod template's containers."""
    containers = ("spec", "template", "spec", "containers")
    return lambda job, now: ",".join(
        as_text(field_at(c, key)) for c in _items(field_at(job, *containers))
    )


def label_selector(job: _Obj, now: datetime) -> str:
    """``metav1.FormatLabelSelector`` of the job's selector: ``a=b,c in (d,e),!f`` or ``<none>``."""
    selector = field_at(job, "spec", "selector")
    reqs = [(str(k), f"{k}={v}") for k, v in (field_at(selector, "matchLabels") or {}).items()]
    for expr in _items(field_at(selector, "matchExpressions")):
        key, values = (
            as_text(field_at(expr, "key")),
            sorted(map(str, _items(field_at(expr, "values")))),
        )
        formats = {"Exists": key, "DoesNotExist": f"!{key}"}
        formats |= {
            "In": f"{key} in ({','.join(values)})",
            "NotIn": f"{key} notin ({','.join(values)})",
        }
        if field_at(expr, "operator") not in formats:
            return "<error>"
        reqs.append((key, formats[field_at(expr, "operator")]))
    return ",".join(text for _, text in sorted(reqs, key=lambda r: r[0])) or "<none>"


# --- events --------------------------------------------------------------------------------

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
    if not as_text(ev.get("apiVersion")).startswith("events.k8s.io/") and "regarding" not in ev:
        return ev
    return {_EVENTS_V1_TO_CORE.get(k, k): v for k, v in ev.items()}


def _event_summary(obj: _Obj, now: datetime) -> tuple[str, str, int, str, str]:
    """LAST SEEN, FIRST SEEN, COUNT, OBJECT and SOURCE, as kube's ``printEvent`` has them."""
    ev = _core_event(obj)
    first = since(ev.get("firstTimestamp"), now)
    if _time_or_zero(ev.get("firstTimestamp")) == _ZERO_TIME:
        first = since(ev.get("eventTime"), now)
    last = since(ev.get("lastTimestamp"), now)
    if _time_or_zero(ev.get("lastTimestamp")) == _ZERO_TIME:
        last = first
    count = as_int(ev.get("count")) or 1  # singleton events have no count in the new API
    if isinstance(ev.get("series"), dict):
        last = since(field_at(ev, "series", "lastObservedTime"), now)
        count = as_int(field_at(ev, "series", "count"))
    kind, name = (
        as_text(field_at(ev, "involvedObject", "kind")).lower(),
        field_at(ev, "involvedObject", "name"),
    )
    component = as_text(field_at(ev, "source", "component")) or as_text(
        ev.get("reportingComponent")
    )
    instance = as_text(field_at(ev, "source", "host")) or as_text(ev.get("reportingInstance"))
    source = f"{component}, {instance}" if instance else component
    return last, first, count, f"{kind}/{name}" if as_text(name) else kind, source


def _event(index: int) -> Cell:
    return lambda obj, now: _event_summary(obj, now)[index]


def event_field(*keys: str) -> Cell:
    """A cell showing the string at ``keys`` of an event, read with core/v1 field names."""
    return lambda obj, now: as_text(field_at(_core_event(obj), *keys)).strip()


event_last_seen: Cell = _event(0)
event_first_seen: Cell = _event(1)
event_count: Cell = _event(2)
event_object: Cell = _event(3)
event_source: Cell = _event(4)
