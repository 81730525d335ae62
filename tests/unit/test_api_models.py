"""The resource models: durations, times, defaults, wire round trips and phase helpers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

import kontinue.api
from kontinue.api import (
    DURATION_PATTERN,
    RERUNNABLE_PHASES,
    TERMINAL_PHASES,
    ArchivedExecution,
    ChildPolicy,
    Condition,
    ConditionStatus,
    Execution,
    ExecutionPhase,
    ExecutionRetry,
    ExecutionSpec,
    ExecutionStatus,
    Function,
    FunctionSpec,
    ObjectMeta,
    RerunRequest,
    Resource,
    ScheduledExecution,
    ScheduledExecutionSpec,
    Suspension,
    SuspensionKind,
    SuspensionSpec,
    format_duration,
    format_time,
    parse_duration,
)
from kontinue.api.labels import LABEL_FUNCTION, LABEL_ROOT

from ..api_samples import SAMPLES, T0, sample


def wire(model: Any) -> Any:
    """What KubeClient sends for a model."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


# Durations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("2h", timedelta(hours=2)),
        ("7d", timedelta(days=7)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("500ms", timedelta(milliseconds=500)),
        ("250us", timedelta(microseconds=250)),
        ("1h0m0s", timedelta(hours=1)),  # Go's time.Duration.String()
        ("1m30.5s", timedelta(seconds=90.5)),
        ("1.5h", timedelta(minutes=90)),
        ("30s1m", timedelta(seconds=90)),  # any order, as Go accepts
        ("0", timedelta(0)),
        ("0s", timedelta(0)),
    ],
)
def test_duration_strings_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(seconds=90), "1m30s"),
        (timedelta(seconds=86400), "1d"),
        (timedelta(days=1, hours=2, minutes=3, seconds=4), "1d2h3m4s"),
        (timedelta(seconds=1.5), "1s500ms"),
        (timedelta(microseconds=1500), "1ms500us"),
        (timedelta(hours=1), "1h"),
        (timedelta(0), "0s"),
    ],
)
def test_durations_format_compact_and_exact(value: timedelta, expected: str) -> None:
    assert format_duration(value) == expected
    assert parse_duration(expected) == value
    assert re.fullmatch(DURATION_PATTERN, expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(90, timedelta(seconds=90)), (1.5, timedelta(seconds=1.5)), (timedelta(days=2), "2d")],
)
def test_duration_fields_accept_seconds_and_timedeltas(value: Any, expected: Any) -> None:
    retry = ExecutionRetry(backoff=value)
    if isinstance(expected, str):
        assert wire(retry)["backoff"] == expected
    else:
        assert retry.backoff == expected


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("5", "no unit"),
        ("5 m", "not a duration"),
        ("1y", "not a duration"),
        ("", "not a duration"),
        ("-5s", "cannot be negative"),
        (-1, "cannot be negative"),
        (timedelta(seconds=-1), "cannot be negative"),
        ("1.0000001s", "finer than a microsecond"),
        (True, "boolean"),
        (float("inf"), "not a finite number"),
        ([1], "list"),
        ("99999999999d", "too long"),
        (1e20, "too long"),
    ],
)
def test_bad_durations_name_the_value_and_the_units(value: Any, why: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_duration(value)
    message = str(err.value)
    assert repr(value) in message and why in message
    assert "d, h, m, s, ms or us" in message


def test_bad_duration_in_a_model_names_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        ExecutionSpec.model_validate({"function": "f", "timeout": {"attempt": "soon"}})
    assert err.value.errors()[0]["loc"] == ("timeout", "attempt")
    assert "invalid duration 'soon'" in str(err.value)


@pytest.mark.parametrize(
    "text", ["30s", "1h0m0s", "1.5h", "0", "500ms", "5", "5 m", "-1s", "1y", "s", "1.s", ".5s"]
)
def test_the_crd_pattern_accepts_what_the_parser_accepts(text: str) -> None:
    try:
        parse_duration(text)
        parsed = True
    except ValueError:
        parsed = False
    assert bool(re.fullmatch(DURATION_PATTERN, text)) == parsed


# Times -------------------------------------------------------------------------------------


def test_times_are_utc_seconds_with_z() -> None:
    paris = timezone(timedelta(hours=2))
    condition = Condition(
        type="Ready",
        status=ConditionStatus.TRUE,
        last_transition_time=datetime(2024, 5, 6, 9, 8, 9, 999_999, tzinfo=paris),
    )
    assert condition.last_transition_time == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert wire(condition)["lastTransitionTime"] == "2024-05-06T07:08:09Z"


def test_naive_times_are_taken_as_utc_and_strings_parse() -> None:
    naive = Condition(
        type="A", status=ConditionStatus.TRUE, last_transition_time=datetime(2024, 5, 6, 7, 8, 9)
    )
    parsed = Condition.model_validate(
        {"type": "A", "status": "True", "lastTransitionTime": "2024-05-06T09:08:09.5+02:00"}
    )
    assert naive.last_transition_time == parsed.last_transition_time
    assert parsed.last_transition_time is not None
    assert parsed.last_transition_time.tzinfo is UTC
    assert format_time(datetime(2024, 5, 6, 7, 8, 9, 5)) == "2024-05-06T07:08:09Z"


# Defaults and wire form --------------------------------------------------------------------


def test_execution_defaults_and_wire_form() -> None:
    execution = Execution(metadata=ObjectMeta(name="e"), spec=ExecutionSpec(function="f"))
    assert wire(execution) == {
        "apiVersion": "kontinue.cloud/v1alpha1",
        "kind": "Execution",
        "metadata": {"name": "e"},
        "spec": {"function": "f"},
        "status": {"phase": "Pending", "attempt": 0, "resumptions": 0, "reruns": 0},
    }
    assert execution.status.phase is ExecutionPhase.PENDING
    assert execution.spec.arguments == {} and execution.status.steps == {}
    assert execution.metadata.labels == {} and execution.metadata.owner_references == []


def test_option_defaults() -> None:
    assert wire(ExecutionRetry()) == {"retries": 0, "backoff": "5s", "childPolicy": "None"}
    assert ExecutionRetry().backoff == timedelta(seconds=5)
    schedule = ScheduledExecutionSpec(schedule="@hourly", function="f")
    assert (schedule.history_limit, schedule.suspend, schedule.concurrency_policy) == (
        5,
        False,
        "Allow",
    )
    assert FunctionSpec(name="f").worker_group == "default"
    assert RerunRequest().count == 0 and RerunRequest().child_policy is ChildPolicy.NONE


def test_empty_collections_are_omitted_but_empty_json_values_kept() -> None:
    status = ExecutionStatus(result={}, steps={})
    assert wire(status) == {
        "phase": "Pending",
        "result": {},
        "attempt": 0,
        "resumptions": 0,
        "reruns": 0,
    }
    spec = ExecutionSpec(function="f", arguments={"a": None, "b": []})
    assert wire(spec) == {"function": "f", "arguments": {"a": None, "b": []}}


def test_names_and_aliases() -> None:
    spec = SuspensionSpec(
        execution="e", step="1", kind=SuspensionKind.MANUAL, data_schema={"type": "string"}
    )
    assert wire(spec)["schema"] == {"type": "string"}
    assert SuspensionSpec.model_validate(wire(spec)) == spec
    by_name = ExecutionSpec.model_validate({"function": "f", "retry": {"child_policy": "RetryAll"}})
    assert by_name.retry is not None and by_name.retry.child_policy is ChildPolicy.RETRY_ALL


@pytest.mark.parametrize(
    ("field", "value"),
    [("retries", -1), ("childPolicy", "Sometimes")],
)
def test_invalid_options_are_rejected(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as err:
        ExecutionRetry.model_validate({field: value})
    assert err.value.errors()[0]["loc"] == (field,)


def test_kind_and_api_version_are_checked() -> None:
    with pytest.raises(ValidationError):
        Execution.model_validate({**sample(Execution), "kind": "Function"})
    with pytest.raises(ValidationError):
        Execution.model_validate({**sample(Execution), "apiVersion": "kontinue.cloud/v9"})


def test_missing_spec_is_an_error() -> None:
    with pytest.raises(ValidationError) as err:
        Function.model_validate({"metadata": {"name": "f"}})
    assert err.value.errors()[0]["loc"] == ("spec",)


# Round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("model", list(SAMPLES), ids=lambda m: m.__name__)
def test_wire_round_trip(model: type[Resource]) -> None:
    data = sample(model)
    obj = model.model_validate(data)
    assert wire(obj) == data
    assert model.model_validate(wire(obj)) == obj


def test_server_objects_parse_with_unknown_fields_ignored() -> None:
    data = sample(Execution)
    data["metadata"].update(
        uid="u-1",
        resourceVersion="42",
        generation=3,
        creationTimestamp=T0,
        managedFields=[{"manager": "kubectl"}],
        ownerReferences=[
            {
                "apiVersion": "kontinue.cloud/v1alpha1",
                "kind": "Execution",
                "name": "pipeline-1",
                "uid": "u-0",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
        finalizers=["kontinue.cloud/archive"],
    )
    data["status"]["fromTheFuture"] = 1
    execution = Execution.model_validate(data)
    assert execution.metadata.generation == 3 and execution.metadata.resource_version == "42"
    assert execution.metadata.owner_references[0].block_owner_deletion is True
    assert execution.metadata.labels[LABEL_ROOT] == "deploy-1"
    assert LABEL_FUNCTION in execution.metadata.labels
    out = wire(execution)
    assert "managedFields" not in out["metadata"] and "fromTheFuture" not in out["status"]
    assert out["metadata"]["creationTimestamp"] == T0


def test_typed_access_to_a_sample() -> None:
    execution = Execution.model_validate(sample(Execution))
    assert execution.spec.retry is not None
    assert execution.spec.retry.backoff == timedelta(seconds=90)
    assert execution.spec.ttl is not None and execution.spec.ttl.archive_after == timedelta(days=1)
    assert execution.status.steps["nap"].resume_at == datetime(2024, 5, 6, 7, 9, 10, tzinfo=UTC)
    assert execution.status.result == [1, "two", {"three": 3}]
    archive = ArchivedExecution.model_validate(sample(ArchivedExecution))
    assert archive.status.phase is ExecutionPhase.COMPLETED
    schedule = ScheduledExecution.model_validate(sample(ScheduledExecution))
    assert schedule.status.active[0].scheduled_time == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    suspension = Suspension.model_validate(sample(Suspension))
    assert not suspension.is_waiting


# Phase helpers -----------------------------------------------------------------------------


def test_terminal_phases() -> None:
    assert {p.value for p in TERMINAL_PHASES} == {"Completed", "Failed", "Canceled", "Skipped"}
    assert RERUNNABLE_PHASES < TERMINAL_PHASES
    assert ExecutionPhase.SKIPPED.is_terminal and not ExecutionPhase.BACKOFF.is_terminal
    execution = Execution(spec=ExecutionSpec(function="f"))
    assert not execution.is_terminal and execution.is_root
    execution.status.phase = ExecutionPhase.CANCELED
    assert execution.is_terminal


def test_rerun_requested_compares_count_with_handled_reruns() -> None:
    execution = Execution.model_validate(sample(Execution))  # count 1, reruns 1
    assert not execution.rerun_requested and not execution.is_root
    assert execution.spec.rerun is not None
    execution.spec.rerun.count = 2
    assert execution.rerun_requested


def test_resource_names() -> None:
    assert Execution.names.qualified == "executions.kontinue.cloud"
    assert Execution.names.short_names == ("ex", "exec")
    assert [m.names.kind for m in kontinue.api.RESOURCES] == [m.__name__ for m in SAMPLES]


def test_public_names() -> None:
    """Changing these is an API change of the models package: make it deliberately."""
    assert sorted(kontinue.api.__all__) == [
        "API_VERSION",
        "ARCHIVE_ENCODING",
        "ActiveRun",
        "ArchivedExecution",
        "ArchivedExecutionSpec",
        "ArchivedExecutionStatus",
        "CancelRequest",
        "ChildPolicy",
        "ConcurrencyPolicy",
        "Condition",
        "ConditionStatus",
        "ContinuedFrom",
        "DURATION_PATTERN",
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
        "GROUP",
        "KontinueModel",
        "ObjectMeta",
        "OwnerReference",
        "PROPERTY_ORDER",
        "RERUNNABLE_PHASES",
        "RESOURCES",
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
        "TERMINAL_PHASES",
        "TRACEBACK_LIMIT",
        "Time",
        "VERSION",
        "conditions_for",
        "crd_manifests",
        "custom_resource_definition",
        "decode_archive",
        "encode_archive",
        "format_duration",
        "format_time",
        "labels",
        "openapi_schema",
        "ordered_properties",
        "parse_duration",
        "parse_time",
        "with_property_order",
    ]
    for name in kontinue.api.__all__:
        assert getattr(kontinue.api, name) is not None
    assert sorted(kontinue.api.labels.__all__) == [
        "ANNOTATION_DELETE_AT",
        "ANNOTATION_DESCRIPTION",
        "ANNOTATION_DISPLAY_NAME",
        "ANNOTATION_GATE",
        "ANNOTATION_GATE_LIMIT",
        "ANNOTATION_HIDDEN",
        "ANNOTATION_HOLDERS",
        "ANNOTATION_SCHEDULED_TIME",
        "ANNOTATION_WAITERS",
        "LABEL_FUNCTION",
        "LABEL_LINEAGE",
        "LABEL_PARENT",
        "LABEL_ROOT",
        "LABEL_SCHEDULED_EXECUTION",
        "LABEL_SEMAPHORE",
        "LABEL_SHARD",
        "LABEL_SHARD_GROUP",
        "LABEL_STEP",
        "LABEL_WORKER_GROUP",
        "PREFIX",
        "label_value",
    ]


def test_label_values_are_valid_kubernetes_label_values() -> None:
    assert kontinue.api.labels.label_value("deploy cluster/v2") == "deploy-cluster-v2"
    assert kontinue.api.labels.label_value("_x_" + "a" * 80) == "x_" + "a" * 60
    assert kontinue.api.labels.label_value("---", "step") == "step"
