"""kstatus status computation follows sigs.k8s.io/cli-utils pkg/kstatus/status rule by rule."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import pytest

from kontinue.kube.status import (
    Condition,
    Status,
    StatusResult,
    aggregate_status,
    augment_conditions,
    compute_status,
)

NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
STAMP = "2030-01-01T12:00:00Z"


def make(
    api_version: str,
    kind: str,
    *,
    metadata: dict[str, Any] | None = None,
    spec: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
    conditions: list[Any] | None = None,
) -> dict[str, Any]:
    """A real-looking object: name, namespace, uid and generation 1 unless overridden."""
    meta: dict[str, Any] = {
        "name": "demo",
        "namespace": "default",
        "uid": "6f1b2c3d-0000-4000-8000-000000000001",
        "creationTimestamp": "2029-12-31T12:00:00Z",
        "generation": 1,
    }
    meta.update(metadata or {})
    out: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": meta}
    if spec is not None:
        out["spec"] = spec
    if status is not None or conditions is not None:
        out["status"] = dict(status or {})
        if conditions is not None:
            out["status"]["conditions"] = conditions
    return out


def cond(type_: str, status: str, reason: str = "", message: str = "") -> dict[str, Any]:
    """A condition entry as controllers write it."""
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2029-12-31T12:00:01Z",
    }


def reason_of(result: StatusResult) -> str | None:
    """The reason of the single kstatus condition, None when there is none."""
    if not result.conditions:
        return None
    assert len(result.conditions) == 1
    return result.conditions[0].reason


Case = tuple[dict[str, Any], Status, str, str | None]


def check(case: Case) -> None:
    obj, status, message, reason = case
    before = copy.deepcopy(obj)
    result = compute_status(obj, now=NOW)
    assert (result.status, result.message, reason_of(result)) == (status, message, reason)
    if status == Status.IN_PROGRESS:
        assert result.conditions[0].type == "Reconciling"
        assert result.conditions[0].status == "True"
        assert result.conditions[0].message == message
    elif status == Status.FAILED:
        assert result.conditions[0].type == "Stalled"
        assert result.conditions[0].status == "True"
    else:
        assert result.conditions == ()
    assert obj == before


# -- generic properties ------------------------------------------------------------------------

GENERIC: dict[str, Case] = {
    "deletion timestamp wins over everything": (
        make(
            "apps/v1",
            "Deployment",
            metadata={"deletionTimestamp": "2030-01-01T11:59:00Z", "generation": 5},
            status={"observedGeneration": 1},
            conditions=[cond("Stalled", "True", "Broken")],
        ),
        Status.TERMINATING,
        "Resource scheduled for deletion",
        None,
    ),
    "empty deletion timestamp is ignored": (
        make("v1", "ConfigMap", metadata={"deletionTimestamp": ""}),
        Status.CURRENT,
        "Resource is always ready",
        None,
    ),
    "generation not observed": (
        make(
            "example.com/v1", "Widget", metadata={"generation": 3}, status={"observedGeneration": 2}
        ),
        Status.IN_PROGRESS,
        "Widget generation is 3, but latest observed generation is 2",
        "LatestGenerationNotObserved",
    ),
    "observed generation ahead also mismatches": (
        make(
            "example.com/v1", "Widget", metadata={"generation": 1}, status={"observedGeneration": 2}
        ),
        Status.IN_PROGRESS,
        "Widget generation is 1, but latest observed generation is 2",
        "LatestGenerationNotObserved",
    ),
    "generation check beats a Ready condition": (
        make(
            "kontinue.cloud/v1alpha1",
            "Execution",
            metadata={"generation": 2},
            status={"observedGeneration": 1},
            conditions=[cond("Ready", "True", "Succeeded")],
        ),
        Status.IN_PROGRESS,
        "Execution generation is 2, but latest observed generation is 1",
        "LatestGenerationNotObserved",
    ),
    "Reconciling true": (
        make(
            "example.com/v1",
            "Widget",
            status={"observedGeneration": 1},
            conditions=[cond("Reconciling", "True", "Scaling", "scaling up to 3")],
        ),
        Status.IN_PROGRESS,
        "scaling up to 3",
        "Scaling",
    ),
    "Stalled true": (
        make(
            "example.com/v1",
            "Widget",
            conditions=[cond("Stalled", "True", "QuotaExceeded", "quota exceeded")],
        ),
        Status.FAILED,
        "quota exceeded",
        "QuotaExceeded",
    ),
    "first standard condition in list order decides": (
        make(
            "example.com/v1",
            "Widget",
            conditions=[cond("Stalled", "True", "A", "a"), cond("Reconciling", "True", "B", "b")],
        ),
        Status.FAILED,
        "a",
        "A",
    ),
    "standard conditions beat the kind rule": (
        make(
            "apps/v1",
            "Deployment",
            spec={"replicas": 3},
            conditions=[cond("Reconciling", "True", "Custom", "custom reconcile")],
        ),
        Status.IN_PROGRESS,
        "custom reconcile",
        "Custom",
    ),
    "Reconciling and Stalled false are normal": (
        make(
            "example.com/v1",
            "Widget",
            conditions=[cond("Reconciling", "False"), cond("Stalled", "False")],
        ),
        Status.CURRENT,
        "Resource is current",
        None,
    ),
    "Ready true": (
        make(
            "kontinue.cloud/v1alpha1",
            "Execution",
            status={"observedGeneration": 1, "phase": "Succeeded"},
            conditions=[cond("Ready", "True", "Succeeded", "workflow finished")],
        ),
        Status.CURRENT,
        "Resource is Ready",
        None,
    ),
    "Ready false": (
        make(
            "kontinue.cloud/v1alpha1",
            "Execution",
            status={"observedGeneration": 1},
            conditions=[cond("Ready", "False", "Running", "step 2 of 5")],
        ),
        Status.IN_PROGRESS,
        "step 2 of 5",
        "Running",
    ),
    "Ready unknown": (
        make("example.com/v1", "Widget", conditions=[cond("Ready", "Unknown", "Pending", "wait")]),
        Status.IN_PROGRESS,
        "wait",
        "Pending",
    ),
    "null condition entries are skipped": (
        make("example.com/v1", "Widget", conditions=[None, cond("Ready", "True")]),
        Status.CURRENT,
        "Resource is Ready",
        None,
    ),
    "Ready with an odd value is ignored": (
        make("example.com/v1", "Widget", conditions=[cond("Ready", "Maybe")]),
        Status.CURRENT,
        "Resource is current",
        None,
    ),
    "custom resource without status": (
        make("example.com/v1", "Widget", spec={"size": 1}),
        Status.CURRENT,
        "Resource is current",
        None,
    ),
    "other conditions only": (
        make("example.com/v1", "Widget", conditions=[cond("Synced", "False", "Oops")]),
        Status.CURRENT,
        "Resource is current",
        None,
    ),
    "no generation skips the generation check": (
        make("example.com/v1", "Widget", status={"observedGeneration": 7})
        | {"metadata": {"name": "demo"}},
        Status.CURRENT,
        "Resource is current",
        None,
    ),
    "null status": (
        make("example.com/v1", "Widget") | {"status": None},
        Status.CURRENT,
        "Resource is current",
        None,
    ),
}


@pytest.mark.parametrize("name", list(GENERIC))
def test_generic_rules(name: str) -> None:
    check(GENERIC[name])


def test_not_found() -> None:
    assert compute_status(None) == StatusResult(Status.NOT_FOUND, "Resource not found")


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (
            make("example.com/v1", "Widget", status={"conditions": "Ready"}),
            ".status.conditions is a str, expected an array",
        ),
        (
            make(
                "example.com/v1",
                "Widget",
                status={"conditions": [{"type": "Ready", "status": True}]},
            ),
            ".status.conditions[0].status is a bool, expected a string",
        ),
        (
            make("example.com/v1", "Widget", metadata={"generation": "1"}),
            ".metadata.generation accessor error: '1' is of the type str, expected int64",
        ),
        (
            make("v1", "Pod", status={"phase": "Exploded"}),
            "unknown phase Exploded",
        ),
    ],
)
def test_malformed_objects_are_unknown(obj: dict[str, Any], message: str) -> None:
    assert compute_status(obj, now=NOW) == StatusResult(Status.UNKNOWN, message)


def test_read_only_mappings_are_accepted() -> None:
    frozen = MappingProxyType(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": MappingProxyType({"name": "data", "generation": 1}),
            "status": MappingProxyType(
                {"phase": "Pending", "conditions": (cond("Ready", "True"),)}
            ),
        }
    )
    assert compute_status(frozen).message == "PVC is not Bound. phase: Pending"
    out = augment_conditions(frozen, now=NOW)
    assert [c["type"] for c in out["status"]["conditions"]] == ["Ready", "Reconciling"]
    assert isinstance(out["metadata"], dict)


def test_status_values_are_the_kstatus_strings() -> None:
    assert [s.value for s in Status] == [
        "InProgress",
        "Failed",
        "Current",
        "Terminating",
        "NotFound",
        "Unknown",
    ]
    assert isinstance(Status.CURRENT, str)
    assert str(Status.CURRENT) == "Current"
    assert f"{Status.IN_PROGRESS}" == "InProgress"


def test_kind_is_matched_by_group_not_version() -> None:
    # The same kind in another group gets the generic rules, not the Deployment rule.
    other = make("example.com/v1", "Deployment", spec={"replicas": 3})
    assert compute_status(other).status == Status.CURRENT
    legacy = make("extensions/v1beta1", "Deployment", spec={"replicas": 3})
    assert compute_status(legacy).message == "Replicas: 0/3"
    # A core kind name under a group is not the core kind.
    assert compute_status(make("example.com/v1", "Pod")).message == "Resource is current"


# -- Deployment --------------------------------------------------------------------------------


def deployment(
    spec_replicas: int | None = 3,
    *,
    replicas: int = 3,
    updated: int = 3,
    ready: int = 3,
    available: int = 3,
    conditions: list[dict[str, Any]] | None = None,
    deadline: int | None = 600,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": "demo"}}}
    if spec_replicas is not None:
        spec["replicas"] = spec_replicas
    if deadline is not None:
        spec["progressDeadlineSeconds"] = deadline
    if conditions is None:
        conditions = [
            cond("Available", "True", "MinimumReplicasAvailable"),
            cond("Progressing", "True", "NewReplicaSetAvailable"),
        ]
    return make(
        "apps/v1",
        "Deployment",
        spec=spec,
        status={
            "observedGeneration": 1,
            "replicas": replicas,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
        },
        conditions=conditions,
    )


ROLLING = [
    cond("Available", "True", "MinimumReplicasAvailable"),
    cond("Progressing", "True", "ReplicaSetUpdated"),
]

DEPLOYMENTS: dict[str, Case] = {
    "available": (deployment(), Status.CURRENT, "Deployment is available. Replicas: 3", None),
    "no status yet": (
        make("apps/v1", "Deployment", spec={"replicas": 3}),
        Status.IN_PROGRESS,
        "Replicas: 0/3",
        "LessReplicas",
    ),
    "too few replicas": (
        deployment(replicas=1, updated=1, ready=1, available=1),
        Status.IN_PROGRESS,
        "Replicas: 1/3",
        "LessReplicas",
    ),
    "replicas default to 1": (
        deployment(None, replicas=0, updated=0, ready=0, available=0),
        Status.IN_PROGRESS,
        "Replicas: 0/1",
        "LessReplicas",
    ),
    "too few updated": (
        deployment(updated=2, conditions=ROLLING),
        Status.IN_PROGRESS,
        "Updated: 2/3",
        "LessUpdated",
    ),
    "old pods terminating": (
        deployment(replicas=4, conditions=ROLLING),
        Status.IN_PROGRESS,
        "Pending termination: 1",
        "ExtraPods",
    ),
    "too few available": (
        deployment(available=2, conditions=ROLLING),
        Status.IN_PROGRESS,
        "Available: 2/3",
        "LessAvailable",
    ),
    "too few ready": (
        deployment(ready=2, conditions=ROLLING),
        Status.IN_PROGRESS,
        "Ready: 2/3",
        "LessReady",
    ),
    "counts fine but new ReplicaSet not reported available": (
        deployment(conditions=ROLLING),
        Status.IN_PROGRESS,
        "ReplicaSet not Available",
        "ReplicaSetNotAvailable",
    ),
    "no deadline means progressing is assumed": (
        deployment(deadline=None, conditions=[cond("Available", "True")]),
        Status.CURRENT,
        "Deployment is available. Replicas: 3",
        None,
    ),
    "not available": (
        deployment(
            conditions=[
                cond("Available", "False", "MinimumReplicasUnavailable"),
                cond("Progressing", "True", "NewReplicaSetAvailable"),
            ]
        ),
        Status.IN_PROGRESS,
        "Deployment not Available",
        "DeploymentNotAvailable",
    ),
    "progress deadline exceeded": (
        deployment(
            ready=1,
            available=1,
            conditions=[
                cond("Available", "False", "MinimumReplicasUnavailable"),
                cond(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    'ReplicaSet "demo-5d4f" has timed out progressing.',
                ),
            ],
        ),
        Status.FAILED,
        "Progress deadline exceeded",
        "ProgressDeadlineExceeded",
    ),
    "scaled to zero": (
        deployment(0, replicas=0, updated=0, ready=0, available=0),
        Status.CURRENT,
        "Deployment is available. Replicas: 0",
        None,
    ),
}


@pytest.mark.parametrize("name", list(DEPLOYMENTS))
def test_deployment(name: str) -> None:
    check(DEPLOYMENTS[name])


def test_deployment_deadline_condition_carries_the_controller_message() -> None:
    result = compute_status(DEPLOYMENTS["progress deadline exceeded"][0])
    assert result.conditions == (
        Condition(
            "Stalled",
            "True",
            "ProgressDeadlineExceeded",
            'ReplicaSet "demo-5d4f" has timed out progressing.',
        ),
    )


# -- StatefulSet -------------------------------------------------------------------------------


def statefulset(spec: dict[str, Any] | None = None, **status: Any) -> dict[str, Any]:
    full = {
        "observedGeneration": 1,
        "replicas": 3,
        "readyReplicas": 3,
        "currentReplicas": 3,
        "updatedReplicas": 3,
        "currentRevision": "demo-7b9c",
        "updateRevision": "demo-7b9c",
    }
    full.update(status)
    return make(
        "apps/v1",
        "StatefulSet",
        spec={"replicas": 3, "serviceName": "demo"} | (spec or {}),
        status=full,
    )


STATEFULSETS: dict[str, Case] = {
    "all ready": (
        statefulset(),
        Status.CURRENT,
        "All replicas scheduled as expected. Replicas: 3",
        None,
    ),
    "on delete strategy is user managed": (
        statefulset({"updateStrategy": {"type": "OnDelete"}}, replicas=0, readyReplicas=0),
        Status.CURRENT,
        "StatefulSet is using the ondelete update strategy",
        None,
    ),
    "too few replicas": (
        statefulset(replicas=1),
        Status.IN_PROGRESS,
        "Replicas: 1/3",
        "LessReplicas",
    ),
    "too few ready": (
        statefulset(readyReplicas=2),
        Status.IN_PROGRESS,
        "Ready: 2/3",
        "LessReady",
    ),
    "extra pods": (
        statefulset(replicas=4),
        Status.IN_PROGRESS,
        "Pending termination: 1",
        "ExtraPods",
    ),
    "partition rollout in progress": (
        statefulset(
            {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}},
            updatedReplicas=1,
        ),
        Status.IN_PROGRESS,
        "updated: 1/2",
        "PartitionRollout",
    ),
    "partition rollout complete": (
        statefulset(
            {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}},
            updatedReplicas=2,
            updateRevision="demo-new",
        ),
        Status.CURRENT,
        "Partition rollout complete. updated: 2",
        None,
    ),
    "too few current": (
        statefulset(currentReplicas=2),
        Status.IN_PROGRESS,
        "current: 2/3",
        "LessCurrent",
    ),
    "revision mismatch": (
        statefulset(updateRevision="demo-8c0d"),
        Status.IN_PROGRESS,
        "Waiting for updated revision to match current",
        "RevisionMismatch",
    ),
}


@pytest.mark.parametrize("name", list(STATEFULSETS))
def test_statefulset(name: str) -> None:
    check(STATEFULSETS[name])


# -- DaemonSet ---------------------------------------------------------------------------------


def daemonset(**status: Any) -> dict[str, Any]:
    full = {
        "observedGeneration": 1,
        "desiredNumberScheduled": 2,
        "currentNumberScheduled": 2,
        "updatedNumberScheduled": 2,
        "numberAvailable": 2,
        "numberReady": 2,
    }
    full.update(status)
    return make("apps/v1", "DaemonSet", status={k: v for k, v in full.items() if v is not None})


DAEMONSETS: dict[str, Case] = {
    "all scheduled": (
        daemonset(),
        Status.CURRENT,
        "All replicas scheduled as expected. Replicas: 2",
        None,
    ),
    "no generation": (
        daemonset() | {"metadata": {"name": "demo"}},
        Status.IN_PROGRESS,
        "DaemonSet metadata.generation not found",
        "NoGeneration",
    ),
    "not observed": (
        daemonset(observedGeneration=None),
        Status.IN_PROGRESS,
        "DaemonSet status.observedGeneration not found",
        "NoObservedGeneration",
    ),
    "no desired number": (
        daemonset(desiredNumberScheduled=None),
        Status.IN_PROGRESS,
        "Missing .status.desiredNumberScheduled",
        "NoDesiredNumber",
    ),
    "too few scheduled": (
        daemonset(currentNumberScheduled=1),
        Status.IN_PROGRESS,
        "Current: 1/2",
        "LessCurrent",
    ),
    "too few updated": (
        daemonset(updatedNumberScheduled=1),
        Status.IN_PROGRESS,
        "Updated: 1/2",
        "LessUpdated",
    ),
    "too few available": (
        daemonset(numberAvailable=0),
        Status.IN_PROGRESS,
        "Available: 0/2",
        "LessAvailable",
    ),
    "too few ready": (
        daemonset(numberReady=1),
        Status.IN_PROGRESS,
        "Ready: 1/2",
        "LessReady",
    ),
}


@pytest.mark.parametrize("name", list(DAEMONSETS))
def test_daemonset(name: str) -> None:
    check(DAEMONSETS[name])


# -- ReplicaSet --------------------------------------------------------------------------------


def replicaset(conditions: list[dict[str, Any]] | None = None, **status: Any) -> dict[str, Any]:
    full = {
        "observedGeneration": 1,
        "replicas": 2,
        "fullyLabeledReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 2,
    }
    full.update(status)
    return make("apps/v1", "ReplicaSet", spec={"replicas": 2}, status=full, conditions=conditions)


REPLICASETS: dict[str, Case] = {
    "available": (replicaset(), Status.CURRENT, "ReplicaSet is available. Replicas: 2", None),
    "replica failure is in progress": (
        replicaset([cond("ReplicaFailure", "True", "FailedCreate", "quota")]),
        Status.IN_PROGRESS,
        "Replica Failure condition. Check Pods",
        "ReplicaFailure",
    ),
    "too few labelled": (
        replicaset(fullyLabeledReplicas=1),
        Status.IN_PROGRESS,
        "Labelled: 1/2",
        "LessLabelled",
    ),
    "too few available": (
        replicaset(availableReplicas=1),
        Status.IN_PROGRESS,
        "Available: 1/2",
        "LessAvailable",
    ),
    "too few ready": (
        replicaset(readyReplicas=1),
        Status.IN_PROGRESS,
        "Ready: 1/2",
        "LessReady",
    ),
    "extra pods": (
        replicaset(replicas=3),
        Status.IN_PROGRESS,
        "Pending termination: 1",
        "ExtraPods",
    ),
}


@pytest.mark.parametrize("name", list(REPLICASETS))
def test_replicaset(name: str) -> None:
    check(REPLICASETS[name])


# -- Pod ---------------------------------------------------------------------------------------


def pod(
    phase: str | None,
    conditions: list[dict[str, Any]] | None = None,
    *,
    created: datetime | None = None,
    container_statuses: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if phase is not None:
        status["phase"] = phase
    if container_statuses is not None:
        status["containerStatuses"] = container_statuses
    metadata: dict[str, Any] = {}
    if created is not None:
        metadata["creationTimestamp"] = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    return make(
        "v1",
        "Pod",
        metadata=metadata,
        spec={"containers": [{"name": "app", "image": "nginx"}]},
        status=status,
        conditions=conditions,
    )


UNSCHEDULABLE = [cond("PodScheduled", "False", "Unschedulable", "0/3 nodes are available")]
CRASHING: list[dict[str, Any]] = [
    {"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "restartCount": 4},
    {"name": "sidecar", "state": {"running": {"startedAt": "2030-01-01T11:00:00Z"}}},
    {"name": "init", "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
]

PODS: dict[str, Case] = {
    "ready": (
        pod("Running", [cond("Ready", "True")]),
        Status.CURRENT,
        "Pod is Ready",
        None,
    ),
    "no status": (
        make("v1", "Pod", spec={"containers": []}),
        Status.IN_PROGRESS,
        "Pod phase not available",
        "PodNotObserved",
    ),
    "succeeded": (
        pod("Succeeded", [cond("Ready", "False", "PodCompleted")]),
        Status.CURRENT,
        "Pod has completed successfully",
        None,
    ),
    "failed is still current": (
        pod("Failed", [cond("Ready", "False", "PodCompleted")]),
        Status.CURRENT,
        "Pod has completed, but not successfully",
        None,
    ),
    "running not ready": (
        pod("Running", [cond("Ready", "False", "ContainersNotReady")]),
        Status.IN_PROGRESS,
        "Pod is running but is not Ready",
        "PodRunningNotReady",
    ),
    "crash looping": (
        pod("Running", [cond("Ready", "False")], container_statuses=CRASHING),
        Status.FAILED,
        "Containers in CrashLoop state: app,init",
        "ContainerCrashLooping",
    ),
    "pending": (
        pod("Pending", [cond("PodScheduled", "True")]),
        Status.IN_PROGRESS,
        "Pod is in the Pending phase",
        "PodPending",
    ),
    "unschedulable within the window": (
        pod("Pending", UNSCHEDULABLE, created=NOW - timedelta(seconds=10)),
        Status.IN_PROGRESS,
        "Pod has not been scheduled",
        "PodNotScheduled",
    ),
    "unschedulable after the window": (
        pod("Pending", UNSCHEDULABLE, created=NOW - timedelta(seconds=15)),
        Status.FAILED,
        "Pod could not be scheduled",
        "PodUnschedulable",
    ),
    "unschedulable without creation time": (
        pod("Pending", UNSCHEDULABLE) | {"metadata": {"name": "demo"}},
        Status.FAILED,
        "Pod could not be scheduled",
        "PodUnschedulable",
    ),
    "pending for another reason": (
        pod("Pending", [cond("PodScheduled", "False", "SchedulerError")]),
        Status.IN_PROGRESS,
        "Pod is in the Pending phase",
        "PodPending",
    ),
}


@pytest.mark.parametrize("name", list(PODS))
def test_pod(name: str) -> None:
    check(PODS[name])


def test_pod_schedule_window_uses_the_wall_clock_by_default() -> None:
    fresh = pod("Pending", UNSCHEDULABLE, created=datetime.now(UTC))
    assert compute_status(fresh).status == Status.IN_PROGRESS
    naive_now = (NOW - timedelta(seconds=5)).replace(tzinfo=None)
    late = pod("Pending", UNSCHEDULABLE, created=NOW - timedelta(seconds=15))
    assert compute_status(late, now=naive_now).status == Status.IN_PROGRESS


# -- Job and CronJob ---------------------------------------------------------------------------


def job(
    spec: dict[str, Any] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    **status: Any,
) -> dict[str, Any]:
    return make("batch/v1", "Job", spec=spec or {}, status=status, conditions=conditions)


STARTED = "2030-01-01T11:00:00Z"

JOBS: dict[str, Case] = {
    "not started": (job(), Status.IN_PROGRESS, "Job not started", "JobNotStarted"),
    "complete": (
        job(None, [cond("Complete", "True")], succeeded=1, startTime=STARTED),
        Status.CURRENT,
        "Job Completed. succeeded: 1/1",
        None,
    ),
    "completions default to parallelism": (
        job({"parallelism": 4}, [cond("Complete", "True")], succeeded=4),
        Status.CURRENT,
        "Job Completed. succeeded: 4/4",
        None,
    ),
    "failed": (
        job(
            {"completions": 4},
            [cond("Failed", "True", "BackoffLimitExceeded")],
            succeeded=3,
            failed=1,
            startTime=STARTED,
        ),
        Status.FAILED,
        "Job Failed. failed: 1/4",
        "JobFailed",
    ),
    "running": (
        job(
            {"completions": 10, "parallelism": 2},
            [cond("Failed", "False"), cond("Complete", "False")],
            startTime=STARTED,
            succeeded=3,
            failed=1,
            active=2,
        ),
        Status.CURRENT,
        "Job in progress. success:3, active: 2, failed: 1",
        None,
    ),
    "suspended": (
        job({"suspend": True}, [cond("Suspended", "True", "JobSuspended")]),
        Status.CURRENT,
        "Job is suspended",
        None,
    ),
    "suspended condition but resumed spec": (
        job({"suspend": False}, [cond("Suspended", "True", "JobSuspended")]),
        Status.IN_PROGRESS,
        "Job not started",
        "JobNotStarted",
    ),
}


@pytest.mark.parametrize("name", list(JOBS))
def test_job(name: str) -> None:
    check(JOBS[name])


def test_cronjob_is_always_ready() -> None:
    cronjob = make(
        "batch/v1",
        "CronJob",
        spec={"schedule": "*/5 * * * *", "jobTemplate": {"spec": {}}},
        status={"active": [{"kind": "Job", "name": "demo-28912345"}]},
    )
    check((cronjob, Status.CURRENT, "Resource is always ready", None))


# -- core kinds --------------------------------------------------------------------------------

CORE: dict[str, Case] = {
    "pvc bound": (
        make("v1", "PersistentVolumeClaim", status={"phase": "Bound"}),
        Status.CURRENT,
        "PVC is Bound",
        None,
    ),
    "pvc pending": (
        make("v1", "PersistentVolumeClaim", status={"phase": "Pending"}),
        Status.IN_PROGRESS,
        "PVC is not Bound. phase: Pending",
        "NotBound",
    ),
    "pvc without status": (
        make("v1", "PersistentVolumeClaim"),
        Status.IN_PROGRESS,
        "PVC is not Bound. phase: unknown",
        "NotBound",
    ),
    "cluster ip service": (
        make("v1", "Service", spec={"clusterIP": "10.96.0.10", "ports": [{"port": 80}]}),
        Status.CURRENT,
        "Service is ready",
        None,
    ),
    "load balancer without cluster ip": (
        make("v1", "Service", spec={"type": "LoadBalancer"}),
        Status.IN_PROGRESS,
        "ClusterIP not set. Service type: LoadBalancer",
        "NoIPAssigned",
    ),
    "load balancer with cluster ip but no ingress": (
        make(
            "v1",
            "Service",
            spec={"type": "LoadBalancer", "clusterIP": "10.96.3.4"},
            status={"loadBalancer": {}},
        ),
        Status.CURRENT,
        "Service is ready",
        None,
    ),
    "configmap": (make("v1", "ConfigMap"), Status.CURRENT, "Resource is always ready", None),
    "secret": (make("v1", "Secret"), Status.CURRENT, "Resource is always ready", None),
    "namespace active": (
        make("v1", "Namespace", status={"phase": "Active"}),
        Status.CURRENT,
        "Namespace is active",
        None,
    ),
    "namespace terminating": (
        make("v1", "Namespace", status={"phase": "Terminating"}),
        Status.TERMINATING,
        "Namespace is terminating",
        None,
    ),
    "namespace being deleted": (
        make(
            "v1",
            "Namespace",
            metadata={"deletionTimestamp": "2030-01-01T11:00:00Z"},
            status={"phase": "Terminating"},
        ),
        Status.TERMINATING,
        "Resource scheduled for deletion",
        None,
    ),
    "pdb observed": (
        make(
            "policy/v1",
            "PodDisruptionBudget",
            spec={"minAvailable": 1},
            status={"observedGeneration": 1, "disruptionsAllowed": 1},
        ),
        Status.CURRENT,
        "AllowedDisruptions has been computed.",
        None,
    ),
    "pdb not observed": (
        make(
            "policy/v1",
            "PodDisruptionBudget",
            metadata={"generation": 2},
            status={"observedGeneration": 1},
        ),
        Status.IN_PROGRESS,
        "PodDisruptionBudget generation is 2, but latest observed generation is 1",
        "LatestGenerationNotObserved",
    ),
}


@pytest.mark.parametrize("name", list(CORE))
def test_core_kinds(name: str) -> None:
    check(CORE[name])


# -- CustomResourceDefinition ------------------------------------------------------------------


def crd(conditions: list[dict[str, Any]] | None) -> dict[str, Any]:
    return make(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        metadata={"name": "executions.kontinue.cloud", "namespace": None},
        spec={"group": "kontinue.cloud", "names": {"kind": "Execution"}},
        conditions=conditions,
    )


CRDS: dict[str, Case] = {
    "established": (
        crd(
            [
                cond("NamesAccepted", "True", "NoConflicts"),
                cond("Established", "True", "InitialNamesAccepted"),
            ]
        ),
        Status.CURRENT,
        "CRD is established",
        None,
    ),
    "no status": (crd(None), Status.IN_PROGRESS, "Install in progress", "Installing"),
    "installing": (
        crd([cond("Established", "False", "Installing", "the initial names are being set")]),
        Status.IN_PROGRESS,
        "Install in progress",
        "Installing",
    ),
    "names rejected": (
        crd(
            [
                cond("NamesAccepted", "False", "MultipleNamesConflict", '"executions" is taken'),
                cond("Established", "False", "NotAccepted", "not all names are accepted"),
            ]
        ),
        Status.FAILED,
        '"executions" is taken',
        "MultipleNamesConflict",
    ),
    "not established": (
        crd([cond("Established", "False", "NotAccepted", "not all names are accepted")]),
        Status.FAILED,
        "not all names are accepted",
        "NotAccepted",
    ),
    "a Ready condition does not matter to the CRD rule": (
        crd([cond("Ready", "True")]),
        Status.IN_PROGRESS,
        "Install in progress",
        "Installing",
    ),
}


@pytest.mark.parametrize("name", list(CRDS))
def test_crd(name: str) -> None:
    check(CRDS[name])


# -- aggregate_status --------------------------------------------------------------------------

C, P, F, U, T, N = (
    Status.CURRENT,
    Status.IN_PROGRESS,
    Status.FAILED,
    Status.UNKNOWN,
    Status.TERMINATING,
    Status.NOT_FOUND,
)


@pytest.mark.parametrize(
    ("statuses", "desired", "expected"),
    [
        ([], C, C),
        ([], N, N),
        ([C, C, C], C, C),
        ([C, P], C, P),
        ([C, T], C, P),
        ([C, N], C, P),
        ([P, U, C], C, U),
        ([U, F], C, F),
        ([C, F, U], C, F),
        ([N, N], N, N),
        ([N, C], N, P),
        ([N, U], N, U),
        ([T, T], T, T),
        ([F, F], F, F),
    ],
)
def test_aggregate_status(statuses: list[Status], desired: Status, expected: Status) -> None:
    assert aggregate_status(iter(statuses), desired) == expected


def test_aggregate_status_defaults_to_current() -> None:
    assert aggregate_status([C, C]) == C
    assert aggregate_status([C, P]) == P


# -- augment_conditions ------------------------------------------------------------------------


def test_augment_adds_a_reconciling_condition() -> None:
    obj = deployment(replicas=1, updated=1, ready=1, available=1)
    original = copy.deepcopy(obj)
    out = augment_conditions(obj, now=NOW)
    assert obj == original  # the input is left alone
    assert out["status"]["conditions"][:2] == original["status"]["conditions"]
    assert out["status"]["conditions"][2] == {
        "lastTransitionTime": STAMP,
        "lastUpdateTime": STAMP,
        "message": "Replicas: 1/3",
        "reason": "LessReplicas",
        "status": "True",
        "type": "Reconciling",
    }
    assert out["spec"] == original["spec"]
    out["spec"]["replicas"] = 9
    assert obj["spec"]["replicas"] == 3  # a deep copy


def test_augment_adds_stalled_and_creates_status() -> None:
    obj = pod("Running", container_statuses=CRASHING)
    assert "conditions" not in obj["status"]
    out = augment_conditions(obj, now=NOW)
    assert out["status"]["conditions"] == [
        {
            "lastTransitionTime": STAMP,
            "lastUpdateTime": STAMP,
            "message": "Containers in CrashLoop state: app,init",
            "reason": "ContainerCrashLooping",
            "status": "True",
            "type": "Stalled",
        }
    ]
    bare = augment_conditions(make("batch/v1", "Job"), now=NOW)
    assert [c["type"] for c in bare["status"]["conditions"]] == ["Reconciling"]


def test_augment_updates_an_existing_condition() -> None:
    earlier = "2029-01-01T00:00:00Z"
    existing = {
        "type": "Reconciling",
        "status": "False",
        "reason": "Old",
        "message": "old",
        "lastTransitionTime": earlier,
        "lastUpdateTime": earlier,
    }
    obj = make("v1", "PersistentVolumeClaim", status={"phase": "Pending"}, conditions=[existing])
    out = augment_conditions(obj, now=NOW)
    assert out["status"]["conditions"] == [
        {
            "type": "Reconciling",
            "status": "True",
            "reason": "NotBound",
            "message": "PVC is not Bound. phase: Pending",
            "lastTransitionTime": STAMP,
            "lastUpdateTime": STAMP,
        }
    ]
    # Same status again: only lastUpdateTime moves.
    later = NOW + timedelta(minutes=1)
    again = augment_conditions(out, now=later)
    entry = again["status"]["conditions"][0]
    assert entry["lastTransitionTime"] == STAMP
    assert entry["lastUpdateTime"] == "2030-01-01T12:01:00Z"


def test_augment_of_a_current_object_adds_nothing() -> None:
    obj = make(
        "kontinue.cloud/v1alpha1",
        "Execution",
        status={"observedGeneration": 1},
        conditions=[cond("Ready", "True"), cond("Reconciling", "False", "Done")],
    )
    out = augment_conditions(obj, now=NOW)
    assert out == obj
    # Like Go's Augment, a status.conditions list is always left behind.
    assert augment_conditions(make("v1", "ConfigMap"), now=NOW)["status"] == {"conditions": []}


@pytest.mark.parametrize(
    "obj",
    [
        make("example.com/v1", "Widget", status={"conditions": 5}),
        make("v1", "Secret", status={"conditions": "x"}),
        make("v1", "PersistentVolumeClaim", conditions=["Ready"]),
        make("v1", "PersistentVolumeClaim", conditions=[{"status": "True"}]),
        make("v1", "PersistentVolumeClaim", conditions=[{"type": "Reconciling"}]),
        make("v1", "Pod", status={"phase": "Weird"}),
    ],
)
def test_augment_rejects_malformed_objects(obj: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        augment_conditions(obj, now=NOW)


def test_typed_objects_are_accepted() -> None:
    """A pydantic model (the official client's typed kinds) is read like its dict (was Unknown)."""
    from kubernetes.client import V1ConfigMap, V1ObjectMeta

    typed = V1ConfigMap(api_version="v1", kind="ConfigMap", metadata=V1ObjectMeta(name="c"))
    assert compute_status(typed).status == Status.CURRENT


def test_an_unschedulable_pod_says_when_its_status_changes_by_itself() -> None:
    created = NOW - timedelta(seconds=10)
    waiting = compute_status(pod("Pending", UNSCHEDULABLE, created=created), now=NOW)
    assert waiting.status == Status.IN_PROGRESS
    assert waiting.changes_at == created + timedelta(seconds=15)
    late = compute_status(pod("Pending", UNSCHEDULABLE, created=created), now=NOW + timedelta(5))
    assert late.status == Status.FAILED and late.changes_at is None
    assert compute_status(pod("Pending", [cond("PodScheduled", "True")])).changes_at is None
