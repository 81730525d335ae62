"""Server-side printing: Tables shaped like kube-apiserver's, for ``kubectl get``."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kontinue.devserver.tables import (
    Column,
    builtin_columns,
    human_duration,
    printer_columns,
    render_table,
    table_for_watch_event,
)

NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


def ts(delta: timedelta) -> str:
    """An RFC 3339 timestamp ``delta`` before NOW."""
    return (NOW - delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def names(columns: list[Column]) -> list[str]:
    return [c.name for c in columns]


def cells(columns: list[Column], obj: dict[str, Any]) -> list[Any]:
    row: dict[str, list[Any]] = render_table(columns, [obj], now=NOW)["rows"][0]
    return row["cells"]


def row_of(columns: list[Column], obj: dict[str, Any]) -> dict[str, Any]:
    """Cells by column name."""
    return dict(zip(names(columns), cells(columns, obj), strict=True))


# --- human_duration: the cases of apimachinery's duration_test.go ----------------------------

S, M, H, D = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
MS, US = timedelta(milliseconds=1), timedelta(microseconds=1)
Y = 365 * D


@pytest.mark.parametrize(
    ("delta", "want"),
    [
        (S, "1s"),
        (70 * S, "70s"),
        (190 * S, "3m10s"),
        (70 * M, "70m"),
        (47 * H, "47h"),
        (49 * H, "2d1h"),
        ((8 * 24 + 2) * H, "8d"),
        (367 * D, "367d"),
        ((365 * 2 * 24 + 25) * H, "2y1d"),
        ((365 * 8 * 24 + 2) * H, "8y"),
        # TestHumanDurationBoundaries
        (-2 * S, "<invalid>"),
        (-2 * S + US, "0s"),
        (timedelta(0), "0s"),
        (S - MS, "0s"),
        (2 * M - MS, "119s"),
        (2 * M, "2m"),
        (2 * M + S, "2m1s"),
        (10 * M - MS, "9m59s"),
        (10 * M, "10m"),
        (10 * M + S, "10m"),
        (3 * H - MS, "179m"),
        (3 * H, "3h"),
        (3 * H + M, "3h1m"),
        (8 * H - MS, "7h59m"),
        (8 * H, "8h"),
        (8 * H + 59 * M, "8h"),
        (2 * D - MS, "47h"),
        (2 * D, "2d"),
        (2 * D + H, "2d1h"),
        (8 * D - MS, "7d23h"),
        (8 * D, "8d"),
        (8 * D + 23 * H, "8d"),
        (2 * Y - MS, "729d"),
        (2 * Y, "2y"),
        (2 * Y + 23 * H + 59 * M, "2y"),
        (2 * Y + D - MS, "2y"),
        (2 * Y + D, "2y1d"),
        (3 * Y, "3y"),
        (7 * Y, "7y"),
        (8 * Y - MS, "7y364d"),
        (8 * Y, "8y"),
        (8 * Y + 364 * D, "8y"),
        (9 * Y, "9y"),
    ],
)
def test_human_duration_matches_apimachinery(delta: timedelta, want: str) -> None:
    assert human_duration(delta) == want


# --- custom resources ------------------------------------------------------------------------

WORKFLOW_COLUMNS: list[dict[str, Any]] = [
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
    },
    {"name": "Attempts", "type": "integer", "jsonPath": ".status.attempts"},
    {"name": "Progress", "type": "number", "jsonPath": ".status.progress", "priority": 1},
    {"name": "Suspended", "type": "boolean", "jsonPath": ".spec.suspend"},
    {"name": "Started", "type": "date", "jsonPath": ".status.startTime"},
    {"name": "Owner", "type": "string", "jsonPath": ".metadata.labels.team\\.example\\.com/owner"},
    {"name": "Steps", "type": "string", "jsonPath": ".status.steps", "description": "The steps."},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def workflow(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kontinue.dev/v1alpha1",
        "kind": "Workflow",
        "metadata": {
            "name": "order-1234",
            "namespace": "default",
            "uid": "5f0c7f2e-1111-4c3b-9d7e-000000000001",
            "resourceVersion": "42",
            "creationTimestamp": ts(3 * D + 4 * H),
            "labels": {"team.example.com/owner": "payments"},
            "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
        },
        "spec": {"function": "orders.process", "suspend": False},
        "status": status,
    }


RUNNING = workflow(
    phase="Running",
    conditions=[
        {"type": "Scheduled", "status": "True", "reason": "Picked"},
        {"type": "Ready", "status": "False", "reason": "Waiting"},
    ],
    attempts=3,
    progress=0.5,
    startTime=ts(192 * S),
    steps=[{"name": "charge", "ok": True}, {"name": "ship", "ok": None}],
)


def test_printer_columns_default_to_name_and_age() -> None:
    no_columns: list[list[dict[str, Any]] | None] = [None, []]
    for spec in no_columns:
        columns = printer_columns(spec)
        assert names(columns) == ["Name", "Age"]
        assert columns[0].format == "name"
        assert (columns[1].type, columns[1].json_path) == ("date", ".metadata.creationTimestamp")
    assert cells(printer_columns(None), RUNNING) == ["order-1234", "3d4h"]


def test_printer_columns_definitions() -> None:
    columns = printer_columns(WORKFLOW_COLUMNS)
    assert names(columns) == ["Name", *[c["name"] for c in WORKFLOW_COLUMNS]]
    table = render_table(columns, [], now=NOW)
    defs = {d["name"]: d for d in table["columnDefinitions"]}
    assert defs["Progress"] == {
        "name": "Progress",
        "type": "number",
        "format": "",
        "description": "Custom resource definition column (in JSONPath format): .status.progress",
        "priority": 1,
    }
    assert defs["Steps"]["description"] == "The steps."
    assert defs["Name"]["format"] == "name"
    assert table["rows"] == []


def test_printer_columns_stop_at_an_unparsable_json_path() -> None:
    specs = [
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Bad", "type": "string", "jsonPath": "status.phase"},
        {"name": "After", "type": "string", "jsonPath": ".spec.x"},
    ]
    assert names(printer_columns(specs)) == ["Name", "Phase"]


def test_custom_resource_cells() -> None:
    assert row_of(printer_columns(WORKFLOW_COLUMNS), RUNNING) == {
        "Name": "order-1234",
        "Phase": "Running",
        "Ready": "False",  # the filter picks the Ready condition, not the first one
        "Attempts": 3,
        "Progress": 0.5,
        "Suspended": False,
        "Started": "3m12s",
        "Owner": "payments",  # escaped dots in the field name
        "Steps": '[{"name":"charge","ok":true},{"name":"ship","ok":null}]',
        "Age": "3d4h",
    }


def test_custom_resource_missing_and_mistyped_values() -> None:
    wf = workflow(phase=None, attempts="3", progress=True, startTime="yesterday", steps={})
    wf["spec"]["suspend"] = "no"
    assert row_of(printer_columns(WORKFLOW_COLUMNS), wf) == {
        "Name": "order-1234",
        "Phase": "<no value>",  # a JSON null printed by kube's JSONPath as a string
        "Ready": None,  # no conditions at all
        "Attempts": None,  # a string is not an integer
        "Progress": None,  # nor is a boolean a number
        "Suspended": None,
        "Started": "<invalid>",
        "Owner": "payments",
        "Steps": "{}",
        "Age": "3d4h",
    }
    empty = workflow()
    del empty["metadata"]["creationTimestamp"]
    row = row_of(printer_columns(WORKFLOW_COLUMNS), empty)
    assert row["Phase"] is None and row["Started"] is None and row["Age"] is None


def test_custom_resource_number_and_text_formatting() -> None:
    specs = [
        {"name": "Int", "type": "integer", "jsonPath": ".spec.a"},
        {"name": "Num", "type": "number", "jsonPath": ".spec.b"},
        {"name": "Text", "type": "string", "jsonPath": ".spec.c"},
        {"name": "Big", "type": "string", "jsonPath": ".spec.d"},
        {"name": "Tiny", "type": "string", "jsonPath": ".spec.e"},
        {"name": "Whole", "type": "string", "jsonPath": ".spec.f"},
        {"name": "Map", "type": "string", "jsonPath": ".spec.g"},
        {"name": "Flag", "type": "string", "jsonPath": ".spec.h"},
        {"name": "First", "type": "string", "jsonPath": ".spec.items[*].name"},
        {"name": "Len", "type": "integer", "jsonPath": ".spec.len"},
    ]
    obj = {
        "metadata": {"name": "x"},
        "spec": {
            "a": 7.9,
            "b": 2,
            "c": 1.25,
            "d": 1000000.0,
            "e": 0.00001,
            "f": 3.0,
            "g": {"z": 1, "a": "<b>", "m": 2.0},
            "h": True,
            "items": [{"name": "one"}, {"name": "two"}],
            "len": 4,
        },
    }
    assert cells(printer_columns(specs), obj) == [
        "x",
        7,  # int64(float64) truncates
        2.0,
        "1.25",
        "1e+06",  # Go's %v switches to exponents at 1e6 ...
        "1e-05",  # ... and below 1e-4
        "3",
        '{"a":"\\u003cb\\u003e","m":2,"z":1}',  # encoding/json: sorted, HTML-escaped
        "true",
        "one",  # only the first result
        4,
    ]


def test_include_object_modes() -> None:
    columns = printer_columns(None)
    meta = render_table(columns, [RUNNING], now=NOW)["rows"][0]["object"]
    assert meta == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": RUNNING["metadata"],
    }
    assert render_table(columns, [RUNNING], now=NOW, include_object="")["rows"][0]["object"] == meta
    full = render_table(columns, [RUNNING], now=NOW, include_object="Object")["rows"][0]
    assert full["object"] == RUNNING
    none = render_table(columns, [RUNNING], now=NOW, include_object="None")["rows"][0]
    assert none == {"cells": ["order-1234", "3d4h"], "object": None}
    with pytest.raises(ValueError, match="unrecognized includeObject value"):
        render_table(columns, [RUNNING], now=NOW, include_object="Everything")


def test_table_envelope_and_list_metadata() -> None:
    before = copy.deepcopy(RUNNING)
    table = render_table(
        printer_columns(None),
        [RUNNING, workflow(phase="Pending")],
        now=NOW,
        resource_version="812",
        continue_token="eyJydiI6ODEyfQ",
        remaining=5,
    )
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {
        "resourceVersion": "812",
        "continue": "eyJydiI6ODEyfQ",
        "remainingItemCount": 5,
    }
    assert len(table["rows"]) == 2
    assert before == RUNNING  # rendering never mutates the stored object
    assert render_table([], [], now=NOW)["metadata"] == {}
    naive = render_table(printer_columns(None), [RUNNING], now=NOW.replace(tzinfo=None))
    assert naive["rows"][0]["cells"][1] == "3d4h"  # a naive now is UTC


def test_watch_event_tables_only_carry_headers_first() -> None:
    columns = printer_columns(WORKFLOW_COLUMNS)
    first = table_for_watch_event(columns, RUNNING, NOW)
    assert first["metadata"] == {"resourceVersion": "42"}
    assert [d["name"] for d in first["columnDefinitions"]] == names(columns)
    assert len(first["rows"]) == 1 and first["rows"][0]["cells"][1] == "Running"
    later = table_for_watch_event(columns, RUNNING, NOW, "None", include_column_definitions=False)
    assert later["columnDefinitions"] is None
    assert later["rows"] == [{"cells": first["rows"][0]["cells"], "object": None}]


# --- pods ------------------------------------------------------------------------------------

POD_COLUMNS = builtin_columns("", "pods")


def pod(
    phase: str = "Running",
    statuses: list[dict[str, Any]] | None = None,
    containers: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web-7d4b9c8f6-x2x9k",
            "namespace": "default",
            "creationTimestamp": ts(2 * H + 5 * M),
        },
        "spec": {
            "nodeName": "kontinue-dev",
            "containers": [{"name": f"c{i}", "image": "nginx:1.27"} for i in range(containers)],
        },
        "status": {"phase": phase, "podIP": "10.244.0.12", "podIPs": [{"ip": "10.244.0.12"}]},
    }
    if statuses is not None:
        obj["status"]["containerStatuses"] = statuses
    for key, value in extra.items():
        section, _, field = key.partition("__")
        obj[section][field] = value
    return obj


def running(ready: bool = True, restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "name": "c0",
        "ready": ready,
        "restartCount": restarts,
        "state": {"running": {"startedAt": ts(H)}},
        **extra,
    }


def state(kind: str, **fields: Any) -> dict[str, Any]:
    return {"name": "c0", "ready": False, "restartCount": 0, "state": {kind: fields}}


def pod_row(obj: dict[str, Any]) -> tuple[str, str, str]:
    row = row_of(POD_COLUMNS, obj)
    return row["Ready"], row["Status"], row["Restarts"]


def test_pod_columns() -> None:
    assert names(POD_COLUMNS) == [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
        "IP",
        "Node",
        "Nominated Node",
        "Readiness Gates",
    ]
    assert [c.priority for c in POD_COLUMNS] == [0, 0, 0, 0, 0, 1, 1, 1, 1]
    assert all(c.type == "string" for c in POD_COLUMNS)


def test_running_pod() -> None:
    assert cells(POD_COLUMNS, pod(statuses=[running()])) == [
        "web-7d4b9c8f6-x2x9k",
        "1/1",
        "Running",
        "0",
        "125m",
        "10.244.0.12",
        "kontinue-dev",
        "<none>",
        "<none>",
    ]


def test_restarts_show_when_the_last_one_happened() -> None:
    last = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ts(5 * M)}}
    obj = pod(statuses=[running(restarts=2, lastState=last)])
    assert pod_row(obj) == ("1/1", "Running", "2 (5m ago)")
    obj = pod(statuses=[running(restarts=2)])  # no termination record: just the count
    assert pod_row(obj) == ("1/1", "Running", "2")


@pytest.mark.parametrize(
    ("obj", "want"),
    [
        (pod("Pending"), ("0/1", "Pending", "0")),
        (
            pod("Pending", [state("waiting", reason="ContainerCreating")]),
            ("0/1", "ContainerCreating", "0"),
        ),
        (
            pod("Running", [state("waiting", reason="CrashLoopBackOff")]),
            ("0/1", "CrashLoopBackOff", "0"),
        ),
        (
            pod("Succeeded", [state("terminated", exitCode=0, reason="Completed")]),
            ("0/1", "Completed", "0"),
        ),
        (pod("Failed", [state("terminated", exitCode=1, reason="Error")]), ("0/1", "Error", "0")),
        (pod("Failed", [state("terminated", exitCode=137)]), ("0/1", "ExitCode:137", "0")),
        (pod("Failed", [state("terminated", exitCode=0, signal=9)]), ("0/1", "Signal:9", "0")),
        (pod("Failed", status__reason="Evicted"), ("0/1", "Evicted", "0")),
        (pod("Running", [running(ready=False)]), ("0/1", "Running", "0")),
    ],
)
def test_pod_status(obj: dict[str, Any], want: tuple[str, str, str]) -> None:
    assert pod_row(obj) == want


def test_completed_container_next_to_a_running_one() -> None:
    done = state("terminated", exitCode=0, reason="Completed") | {"name": "c1"}
    ready = [{"type": "Ready", "status": "True"}]
    obj = pod(statuses=[running(), done], containers=2, status__conditions=ready)
    assert pod_row(obj) == ("1/2", "Running", "0")
    obj = pod(statuses=[running(), done], containers=2)
    assert pod_row(obj) == ("1/2", "NotReady", "0")


def test_terminating_pods() -> None:
    deleting = pod(statuses=[running()], metadata__deletionTimestamp=ts(S))
    assert pod_row(deleting)[1] == "Terminating"
    done = pod("Succeeded", [state("terminated", exitCode=0, reason="Completed")])
    done["metadata"]["deletionTimestamp"] = ts(S)
    assert pod_row(done)[1] == "Completed"  # a finished pod is not "Terminating"
    lost = pod(statuses=[running()], status__reason="NodeLost")
    lost["metadata"]["deletionTimestamp"] = ts(S)
    assert pod_row(lost)[1] == "Unknown"


def init_pod(*init_statuses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    obj = pod("Pending", [state("waiting", reason="PodInitializing")], **extra)
    obj["spec"]["initContainers"] = [
        {"name": "migrate", "image": "migrate:1"},
        {"name": "seed", "image": "seed:1"},
    ]
    obj["status"]["initContainerStatuses"] = list(init_statuses)
    return obj


def test_init_containers() -> None:
    waiting = {
        "name": "migrate",
        "restartCount": 0,
        "state": {"waiting": {"reason": "PodInitializing"}},
    }
    assert pod_row(init_pod(waiting))[1] == "Init:0/2"
    done = {"name": "migrate", "restartCount": 0, "state": {"terminated": {"exitCode": 0}}}
    running_seed = {"name": "seed", "restartCount": 0, "state": {"running": {}}}
    assert pod_row(init_pod(done, running_seed))[1] == "Init:1/2"
    crash = {
        "name": "migrate",
        "restartCount": 4,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 1, "finishedAt": ts(30 * S)}},
    }
    assert pod_row(init_pod(crash)) == ("0/1", "Init:CrashLoopBackOff", "4 (30s ago)")
    failed = {"name": "migrate", "restartCount": 0, "state": {"terminated": {"exitCode": 2}}}
    assert pod_row(init_pod(failed))[1] == "Init:ExitCode:2"


def test_sidecar_init_containers_count_as_containers() -> None:
    obj = pod(statuses=[running()])
    obj["spec"]["initContainers"] = [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]
    obj["status"]["initContainerStatuses"] = [
        {
            "name": "proxy",
            "ready": True,
            "started": True,
            "restartCount": 1,
            "state": {"running": {}},
        }
    ]
    assert pod_row(obj) == ("2/2", "Running", "1")


def test_pod_wide_cells_and_row_conditions() -> None:
    obj = pod("Pending")
    obj["spec"].pop("nodeName")
    obj["status"] = {"phase": "Pending", "nominatedNodeName": "node-b"}
    obj["spec"]["readinessGates"] = [{"conditionType": "example.com/lb"}, {"conditionType": "x"}]
    obj["status"]["conditions"] = [{"type": "example.com/lb", "status": "True"}]
    row = row_of(POD_COLUMNS, obj)
    assert (row["IP"], row["Node"], row["Nominated Node"]) == ("<none>", "<none>", "node-b")
    assert row["Readiness Gates"] == "1/2"
    assert "conditions" not in render_table(POD_COLUMNS, [obj], now=NOW)["rows"][0]
    done = pod("Succeeded", [state("terminated", exitCode=0, reason="Completed")])
    assert render_table(POD_COLUMNS, [done], now=NOW)["rows"][0]["conditions"] == [
        {
            "type": "Completed",
            "status": "True",
            "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        }
    ]


# --- jobs ------------------------------------------------------------------------------------

JOB_COLUMNS = builtin_columns("batch", "jobs")


def job(spec: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    template = {"spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]}}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "nightly-report", "creationTimestamp": ts(10 * M)},
        "spec": {"template": template, **spec},
        "status": status,
    }


def test_jobs() -> None:
    assert names(JOB_COLUMNS) == [
        "Name",
        "Status",
        "Completions",
        "Duration",
        "Age",
        "Containers",
        "Images",
        "Selector",
    ]
    selector = {
        "matchLabels": {"batch.kubernetes.io/controller-uid": "8a1c"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["web", "batch"]},
            {"key": "canary", "operator": "DoesNotExist"},
        ],
    }
    done = job(
        {"completions": 1, "parallelism": 1, "selector": selector},
        {"succeeded": 1, "startTime": ts(9 * M), "completionTime": ts(9 * M - 133 * S)},
    )
    assert cells(JOB_COLUMNS, done) == [
        "nightly-report",
        "Running",
        "1/1",
        "2m13s",
        "10m",
        "main",
        "busybox:1.36",
        "batch.kubernetes.io/controller-uid=8a1c,!canary,tier in (batch,web)",
    ]
    active = job({"completions": 5}, {"succeeded": 2, "active": 1, "startTime": ts(4 * M)})
    assert row_of(JOB_COLUMNS, active)["Completions"] == "2/5"
    assert row_of(JOB_COLUMNS, active)["Duration"] == "4m"  # still running: until now
    assert row_of(JOB_COLUMNS, active)["Selector"] == "<none>"
    work_queue = job({"parallelism": 3}, {})
    assert row_of(JOB_COLUMNS, work_queue)["Completions"] == "0/1 of 3"
    assert row_of(JOB_COLUMNS, work_queue)["Duration"] == ""  # not started


# --- events ----------------------------------------------------------------------------------

EVENT_COLUMNS = builtin_columns("", "events")


def test_core_events() -> None:
    assert [(c.name, c.priority) for c in EVENT_COLUMNS] == [
        ("Last Seen", 0),
        ("Type", 0),
        ("Reason", 0),
        ("Object", 0),
        ("Subobject", 1),
        ("Source", 1),
        ("Message", 0),
        ("First Seen", 1),
        ("Count", 1),
        ("Name", 1),
    ]
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "order-1234.17a2b3c4d5e6f7a8", "namespace": "default"},
        "involvedObject": {"kind": "Workflow", "name": "order-1234", "fieldPath": "spec.steps[1]"},
        "type": "Warning",
        "reason": "StepFailed",
        "message": "step ship failed: timeout\n",
        "source": {"component": "kontinue-worker", "host": "worker-0"},
        "firstTimestamp": ts(7 * M),
        "lastTimestamp": ts(45 * S),
        "count": 3,
    }
    assert cells(EVENT_COLUMNS, event) == [
        "45s",
        "Warning",
        "StepFailed",
        "workflow/order-1234",
        "spec.steps[1]",
        "kontinue-worker, worker-0",
        "step ship failed: timeout",
        "7m",
        3,
        "order-1234.17a2b3c4d5e6f7a8",
    ]


def test_events_k8s_io_events_print_like_core_ones() -> None:
    event = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "ns-created.1", "namespace": "default"},
        "eventTime": "2030-01-01T11:58:00.000000Z",
        "series": {"count": 4, "lastObservedTime": "2030-01-01T11:59:50.000000Z"},
        "reportingController": "kontinue.dev/controller",
        "reportingInstance": "controller-0",
        "action": "Reconcile",
        "reason": "Scheduled",
        "regarding": {"kind": "Namespace"},
        "note": "ok",
        "type": "Normal",
    }
    columns = builtin_columns("events.k8s.io", "events")
    assert cells(columns, event) == [
        "10s",
        "Normal",
        "Scheduled",
        "namespace",
        "",
        "kontinue.dev/controller, controller-0",
        "ok",
        "2m",
        4,
        "ns-created.1",
    ]
    singleton = {k: v for k, v in event.items() if k != "series"}
    assert row_of(columns, singleton)["Last Seen"] == "2m"  # falls back to the first time
    assert row_of(columns, singleton)["Count"] == 1


# --- the other built-ins ----------------------------------------------------------------------


def meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "creationTimestamp": ts(26 * H)}, **extra}


@pytest.mark.parametrize(
    ("group", "resource", "obj", "want"),
    [
        ("", "namespaces", meta("default", status={"phase": "Active"}), ["Active"]),
        ("core", "configmaps", meta("cfg", data={"a": "1", "b": "2"}, binaryData={"c": ""}), [3]),
        ("", "secrets", meta("tok", type="Opaque", data={"token": "eA=="}), ["Opaque", 1]),
        ("", "serviceaccounts", meta("default"), []),
        (
            "coordination.k8s.io",
            "leases",
            meta("kontinue-controller", spec={"holderIdentity": "controller-0_4f1e"}),
            ["controller-0_4f1e"],
        ),
        ("apps", "deployments", meta("unknown-kind"), []),
    ],
)
def test_small_builtins(group: str, resource: str, obj: dict[str, Any], want: list[Any]) -> None:
    row = cells(builtin_columns(group, resource), obj)
    assert row == [obj["metadata"]["name"], *want, "26h"]


def test_builtin_column_headers() -> None:
    def headers(group: str, resource: str) -> list[str]:
        return names(builtin_columns(group, resource))

    assert headers("", "namespaces") == ["Name", "Status", "Age"]
    assert headers("", "configmaps") == ["Name", "Data", "Age"]
    assert headers("", "secrets") == ["Name", "Type", "Data", "Age"]
    assert headers("", "serviceaccounts") == ["Name", "Age"]
    assert headers("coordination.k8s.io", "leases") == ["Name", "Holder", "Age"]
    assert headers("example.com", "widgets") == ["Name", "Age"]
    assert builtin_columns("", "pods") is not builtin_columns("", "pods")  # fresh lists


def test_custom_resource_definitions_show_created_at() -> None:
    columns = builtin_columns("apiextensions.k8s.io", "customresourcedefinitions")
    assert [(c.name, c.type) for c in columns] == [("Name", "string"), ("Created At", "date")]
    crd = {
        "metadata": {
            "name": "workflows.kontinue.dev",
            "creationTimestamp": "2029-12-31T21:04:05+02:00",
        }
    }
    assert cells(columns, crd) == ["workflows.kontinue.dev", "2029-12-31T19:04:05Z"]
