"""The pure parts of kontinue.kube.conditions: setting and finding conditions, event bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import kontinue.kube.conditions
from kontinue.clock import ManualClock
from kontinue.kube.conditions import EventRecorder, find_condition, set_condition
from kontinue.kube.conditions._setting import MAX_MESSAGE


def test_public_names() -> None:
    assert sorted(kontinue.kube.conditions.__all__) == [
        "ConditionMonitor",
        "ConditionUpdateFailed",
        "EventRecorder",
        "SyncConditionMonitor",
        "find_condition",
        "monitor_condition",
        "set_condition",
    ]


def test_a_new_condition_is_appended_with_its_transition_time() -> None:
    other = {"type": "Other", "status": "True", "lastTransitionTime": "t0"}
    result = set_condition(
        [other], "Built", "Unknown", "InProgress", "", observed_generation=3, now="t1"
    )
    assert result == [
        other,
        {
            "type": "Built",
            "status": "Unknown",
            "observedGeneration": 3,
            "reason": "InProgress",
            "message": "",
            "lastTransitionTime": "t1",
        },
    ]
    assert result[0] is not other  # a copy


def test_the_transition_time_moves_only_when_the_status_changes() -> None:
    first = set_condition([], "Built", "False", "Failed", "a", observed_generation=1, now="t1")
    again = set_condition(first, "Built", "False", "Failed", "b", observed_generation=2, now="t2")
    assert again[0]["lastTransitionTime"] == "t1"
    assert (again[0]["message"], again[0]["observedGeneration"]) == ("b", 2)
    flipped = set_condition(
        again, "Built", "True", "Succeeded", "", observed_generation=2, now="t3"
    )
    assert flipped[0]["lastTransitionTime"] == "t3"
    assert len(flipped) == 1


def test_duplicates_collapse_and_long_messages_are_cut() -> None:
    twice: list[dict[str, Any]] = [
        {"type": "Built", "status": "True"},
        {"type": "Built", "status": "False"},
    ]
    result = set_condition(
        twice, "Built", "True", "Ok", "x" * (MAX_MESSAGE + 10), observed_generation=None, now="t"
    )
    assert len(result) == 1 and "observedGeneration" not in result[0]
    assert len(result[0]["message"]) == MAX_MESSAGE and result[0]["message"].endswith("...")


def test_find_condition() -> None:
    obj = {"status": {"conditions": [{"type": "A", "status": "True"}, "junk"]}}
    assert find_condition(obj, "A") == {"type": "A", "status": "True"}
    assert find_condition(obj, "B") is None
    assert find_condition({}, "A") is None
    assert find_condition({"status": "weird"}, "A") is None


def test_event_bodies() -> None:
    clock = ManualClock(datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))
    recorder = EventRecorder(None, instance="worker-0", clock=clock)  # type: ignore[arg-type]
    obj = {
        "apiVersion": "example.com/v1",
        "kind": "Thing",
        "metadata": {"name": "t", "namespace": "ns", "uid": "u-1", "resourceVersion": "7"},
    }
    event = recorder.event_for(obj, "Warning", "Failed", "it broke", action="Build")
    assert event == {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"namespace": "ns"},
        "involvedObject": {
            "apiVersion": "example.com/v1",
            "kind": "Thing",
            "name": "t",
            "namespace": "ns",
            "uid": "u-1",
            "resourceVersion": "7",
        },
        "type": "Warning",
        "reason": "Failed",
        "message": "it broke",
        "action": "Build",
        "source": {"component": "kontinue", "host": "worker-0"},
        "firstTimestamp": "2030-01-02T03:04:05Z",
        "lastTimestamp": "2030-01-02T03:04:05Z",
        "count": 1,
        "eventTime": "2030-01-02T03:04:05.678901Z",
        "reportingComponent": "kontinue",
        "reportingInstance": "worker-0",
    }
    cluster_scoped = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}}
    event = recorder.event_for(cluster_scoped, "Normal", "Seen", "hello")
    assert event["metadata"] == {"namespace": "default"}
    assert "namespace" not in event["involvedObject"] and event["action"] == "Seen"
    with pytest.raises(ValueError, match="Normal or Warning"):
        recorder.event_for(obj, "Error", "Failed", "x")
