"""Per-kind status rules of the built-in kinds (cli-utils ``core.go`` "legacy types").

Built-in controllers predate the ``Reconciling``/``Stalled`` conditions, so their progress has to
be read from kind-specific fields (replica counts, phases, their own conditions).  Each rule takes
the object and the current time (only the Pod rule looks at it) and returns a
:class:`StatusResult`; a rule may raise :class:`MalformedObjectError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ._model import (
    STALLED,
    Condition,
    MalformedObjectError,
    Status,
    StatusResult,
    current,
    failed,
    get_bool,
    get_int,
    get_str,
    in_progress,
    nested_int,
    read_conditions,
)

__all__ = ["SCHEDULE_WINDOW", "Rule", "rule_for"]

Rule = Callable[[Mapping[str, Any], datetime], StatusResult]
"""A per-kind rule: ``(object, now) -> StatusResult``."""

SCHEDULE_WINDOW = timedelta(seconds=15)
"""How long a Pod may stay unschedulable before it counts as Failed (Go ScheduleWindow)."""

_MAX_INT32 = 2**31 - 1

_TOO_FEW_READY = "LessReady"
_TOO_FEW_AVAILABLE = "LessAvailable"
_TOO_FEW_UPDATED = "LessUpdated"
_TOO_FEW_REPLICAS = "LessReplicas"
_EXTRA_PODS = "ExtraPods"


def _always_ready(obj: Mapping[str, Any], now: datetime) -> StatusResult:
    """Kinds without a controller-driven status (ConfigMap, Secret, CronJob)."""
    return current("Resource is always ready")


def _statefulset(obj: Mapping[str, Any], now: datetime) -> StatusResult:
    """Replica counts, partitioned rollouts and revisions (the controller sets no conditions)."""
    if get_str(obj, "spec.updateStrategy.type", "") == "OnDelete":
        return current("StatefulSet is using the ondelete update strategy")

    spec_replicas = get_int(obj, "spec.replicas", 1)
    ready = get_int(obj, "status.readyReplicas", 0)
    current_replicas = get_int(obj, "status.currentReplicas", 0)
    updated = get_int(obj, "status.updatedReplicas", 0)
    replicas = get_int(obj, "status.replicas", 0)
    partition = get_int(obj, "spec.updateStrategy.rollingUpdate.partition", -1)

    if spec_replicas > replicas:
        return in_progress(_TOO_FEW_REPLICAS, f"Replicas: {replicas}/{spec_replicas}")
    if spec_replicas > ready:
        return in_progress(_TOO_FEW_READY, f"Ready: {ready}/{spec_replicas}")
    if replicas > spec_replicas:
        return in_progress(_EXTRA_PODS, f"Pending termination: {replicas - spec_replicas}")
    if partition != -1:
        if updated < spec_replicas - partition:
            return in_progress(
                "PartitionRollout", f"updated: {updated}/{spec_replicas - partition}"
            )
        return current(f"Partition rollout complete. updated: {updated}")
    if spec_replicas > current_replicas:
        return in_progress("LessCurrent", f"current: {current_replicas}/{spec_replicas}")
    if get_str(obj, "status.currentRevision", "") != get_str(obj, "status.updateRevision", ""):
        return in_progress("RevisionMismatch", "Waiting for updated revision to match current")
    return current(f"All replicas scheduled as expected. Replicas: {replicas}")


def _deployment(obj: Mapping[str, Any], now: datetime) -> StatusResult:
    """Replica counts plus the Progressing/Available conditions; a missed deadline is Failed."""
    # Without progressDeadlineSeconds the controller never sets Progressing (MaxInt32 is its
    # "no deadline" value), so progress cannot be judged from it and is assumed.
    progressing = get_int(obj, "spec.progressDeadlineSeconds", _MAX_INT32) == _MAX_INT32
    available = False
    for cond in read_conditions(obj):
        if cond.type == "Progressing":
            if cond.reason == "ProgressDeadlineExceeded":
                stalled = Condition(STALLED, "True", cond.reason, cond.message)
                return StatusResult(Status.FAILED, "Progress deadline exceeded", (stalled,))
            if cond.status == "True" and cond.reason == "NewReplicaSetAvailable":
                progressing = True
        elif cond.type == "Available" and cond.status == "True":
            available = True

    spec_replicas = get_int(obj, "spec.replicas", 1)
    replicas = get_int(obj, "status.replicas", 0)
    updated = get_int(obj, "status.updatedReplicas", 0)
    ready = get_int(obj, "status.readyReplicas", 0)
    available_replicas = get_int(obj, "status.availableReplicas", 0)

    if spec_replicas > replicas:
        return in_progress(_TOO_FEW_REPLICAS, f"Replicas: {replicas}/{spec_replicas}")
    if spec_replicas > updated:
        return in_progress(_TOO_FEW_UPDATED, f"Updated: {updated}/{spec_replicas}")
    if replicas > spec_replicas:
        return in_progress(_EXTRA_PODS, f"Pending termination: {replicas - spec_replicas}")
    if updated > available_replicas:
        return in_progress(_TOO_FEW_AVAILABLE, f"Available: {available_replicas}/{updated}")
    if spec_replicas > ready:
        return in_progress(_TOO_FEW_READY, f"Ready: {ready}/{spec_replicas}")
    if not progressing:
        return in_progress("ReplicaSetNotAvailable", "ReplicaSet not Available")
    if not available:
        return in_progress("DeploymentNotAvailable", "Deployment not Available")
    return current(f"Deployment is available. Replicas: {replicas}")


def _replicaset(obj: Mapping[str, Any], now: datetime) -> StatusResult:
    """Replica counts; a ReplicaFailure condition is reported as InProgress, as in cli-utils."""
    for cond in read_conditions(obj):
        if cond.type == "ReplicaFailure" and cond.status == "True":
            return in_progress("ReplicaFailure", "Replica Failure condition. Check Pods")

    spec_replicas = get_int(obj, "spec.replicas", 1)
    replicas = get_int(obj, "status.replicas", 0)
    ready = get_int(obj, "status.readyReplicas", 0)
    available = get_int(obj, "status.availableReplicas", 0)
    labelled = get_int(obj, "status.fullyLabeledReplicas", 0)

    if spec_replicas > labelled:
        return in_progress("LessLabelled", f"Labelled: {labelled}/{spec_replicas}")
    if spec_replicas > available:
        return in_progress(_TOO_FEW_AVAILABLE, f"Available: {available}/{spec_replicas}")
    if spec_replicas > ready:
        return in_progress(_TOO_FEW_READY, f"Ready: {ready}/{spec_replicas}")
    if replicas > spec_replicas:
        return in_progress(_EXTRA_PODS, f"Pending termination: {replicas - spec_replicas}")
    return current(f"ReplicaSet is available. Replicas: {replicas}")


def _generation_set(obj: Mapping[str, Any]) -> StatusResult | None:
    """InProgress unless both generation fields exist (Go checkGenerationSet)."""
    kind = get_str(obj, "kind", "")
    if nested_int(obj, "metadata", "generation") is None:
        message = f"{kind} metadata.generation not found"
        return in_progress("NoGeneration", message)
    if nested_int(obj, "status", "observedGeneration") is None:
        message = f"{kind} status.observedGeneration not found"
        return in_progress("NoObservedGeneration", message)
    return None


def _daemonset(obj: Mapping[str, Any], now: datetime) -> StatusResult:
    """Scheduled/updated/available/ready counts against ``desiredNumberScheduled``.

    The generic generation check skips objects lacking the fields; a DaemonSet the controller has
    seen always has them, so here their absence means "not observed yet".
    """
    unobserved = _generation_set(obj)
    if unobserved is not None:
        return unobserved

    desired = get_int(obj, "status.desiredNumberScheduled", -1)
    scheduled = get_int(obj, "status.currentNumberScheduled", 0)
    updated = get_int(obj, "status.updatedNumberScheduled", 0)
    available = get_int(obj, "status.numberAvailable", 0)
    ready = get_int(obj, "status.numberReady", 0)

    if desired == -1:
        return in_progress("NoDesiredNumber", "Missing .status.desiredNumberScheduled")
    if desired > scheduled:
        return in_progress("LessCurrent", f"Current: {scheduled}/{desired}")
    if desired > updated:
        return in_progress(_TOO_FEW_UPDATED, f"Updated: {updated}/{desired}")
    if desired > available:
        return in_progress(_TOO_FEW_AVAILABLE, f"Available: {available}/{desired}")
    if desired > ready:
        return in_progress(_TOO_FEW_READY, f"Ready: {ready}/{desired}")
    return current(f"All replicas scheduled as expected. Replicas: {desired}")


def _pvc(obj: Mapping[str, Any], now: datetime) -> StatusResult:
    """Current once Bound."""
    phase = get_str(obj, "status.phase", "unknown")
    if phase != "Bound":
        return in_progress("NotBound", f"PVC is not Bound. phase: {phase}")
    return current("PVC is Bound")


def _creation_time(obj: Mapping[str, Any]) -> datetime:
    """``metadata.creationTimestamp``; missing or unparsable is the distant past, as in Go."""
    text = get_str(obj, "metadata.creationTimestamp", "")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _crash_looping(obj: Mapping[str, Any]) -> list[str]:
    """Names of containers waiting in ``CrashLoopBackOff`` (malformed entries are skipped)."""
    statuses = _lenient_list(obj, "containerStatuses")
    names: list[str] = []
    for item in statuses:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            continue
        state = item.get("state")
        waiting = state.get("waiting") if isinstance(state, Mapping) else None
        reason = waiting.get("reason") if isinstance(waiting, Mapping) else None
        if reason == "CrashLoopBackOff":
            names.append(item["name"])
    return names


def _lenient_list(obj: Mapping[str, Any], field: str) -> list[Any]:
    status = obj.get("status")
    value = status.get(field) if isinstance(status, Mapping) else None
    return list(value) if isinstance(value, list | tuple) else []


def _pod(obj: Mapping[str, Any], now: datetime) -> StatusResult:
    """By phase: a finished Pod (even a failed one) is Current; crash loops are Failed.

    A Pod that failed to run is still "Current" in kstatus: the object reached its final state,
    and whoever owns it (a Job, say) decides what the failure means.
    """
    conditions = read_conditions(obj)
    phase = get_str(obj, "status.phase", "")
    if phase == "Succeeded":
        return current("Pod has completed successfully")
    if phase == "Failed":
        return current("Pod has completed, but not successfully")
    if phase == "Running":
        if any(c.type == "Ready" and c.status == "True" for c in conditions):
            return current("Pod is Ready")
        looping = _crash_looping(obj)
        if looping:
            return failed(
                "ContainerCrashLooping", f"Containers in CrashLoop state: {','.join(looping)}"
            )
        return in_progress("PodRunningNotReady", "Pod is running but is not Ready")
    if phase == "Pending":
        unscheduled = next(
            (c for c in conditions if c.type == "PodScheduled" and c.status == "False"), None
        )
        if unscheduled is not None and unscheduled.reason == "Unschedulable":
            deadline = _creation_time(obj) + SCHEDULE_WINDOW
            if now < deadline:
                waiting = in_progress("PodNotScheduled", "Pod has not been scheduled")
                return replace(waiting, changes_at=deadline)
            return failed("PodUnschedulable", "Pod could not be scheduled")
        return in_progress("PodPending", "Pod is in the Pending phase")
    if phase == "":
        return in_progress("PodNotObserved", "Pod phase not available")
    raise MalformedObjectError(f"unknown phase {phase}")


def _pdb(obj: Mapping[str, Any], now: datetime) -> StatusResult:
    """Current once observed: the generic generation check already ran."""
    return current("AllowedDisruptions has been computed.")


def _job(obj: Mapping[str, Any], now: datetime) -> StatusResult:
    """Complete/Failed/Suspended conditions; a started Job is Current while it runs."""
    parallelism = get_int(obj, "spec.parallelism", 1)
    completions = get_int(obj, "spec.completions", parallelism)
    succeeded = get_int(obj, "status.succeeded", 0)
    active = get_int(obj, "status.active", 0)
    failures = get_int(obj, "status.failed", 0)
    start_time = get_str(obj, "status.startTime", "")
    suspended = get_bool(obj, "spec.suspend", False)

    for cond in read_conditions(obj):
        if cond.status != "True":
            continue
        if cond.type == "Complete":
            return current(f"Job Completed. succeeded: {succeeded}/{completions}")
        if cond.type == "Failed":
            return failed("JobFailed", f"Job Failed. failed: {failures}/{completions}")
        if cond.type == "Suspended" and suspended:
            return current("Job is suspended")

    if start_time == "":
        return in_progress("JobNotStarted", "Job not started")
    return current(f"Job in progress. success:{succeeded}, active: {active}, failed: {failures}")


def _service(obj: Mapping[str, Any], now: datetime) -> StatusResult:
    """Current unless a LoadBalancer Service has no cluster IP yet (ingress is not awaited)."""
    if get_str(obj, "spec.type", "ClusterIP") == "LoadBalancer" and not get_str(
        obj, "spec.clusterIP", ""
    ):
        return in_progress("NoIPAssigned", "ClusterIP not set. Service type: LoadBalancer")
    return current("Service is ready")


def _crd(obj: Mapping[str, Any], now: datetime) -> StatusResult:
    """Current once Established; rejected names or a failed establishment are Failed."""
    for cond in read_conditions(obj):
        if cond.type == "NamesAccepted" and cond.status == "False":
            return failed(cond.reason, cond.message)
        if cond.type == "Established":
            if cond.status == "False" and cond.reason != "Installing":
                return failed(cond.reason, cond.message)
            if cond.status == "True":
                return current("CRD is established")
    return in_progress("Installing", "Install in progress")


def _namespace(obj: Mapping[str, Any], now: datetime) -> StatusResult:
    """Terminating by phase, else Current (a kontinue addition; cli-utils has no Namespace rule).

    A namespace being deleted also has a deletion timestamp, which the generic rules catch
    first; the phase is checked too so a status-only view of the object reads the same.
    """
    if get_str(obj, "status.phase", "") == "Terminating":
        return StatusResult(Status.TERMINATING, "Namespace is terminating")
    return current("Namespace is active")


_RULES: dict[str, Rule] = {
    "Service": _service,
    "Pod": _pod,
    "Secret": _always_ready,
    "ConfigMap": _always_ready,
    "PersistentVolumeClaim": _pvc,
    "Namespace": _namespace,
    "apps/StatefulSet": _statefulset,
    "apps/DaemonSet": _daemonset,
    "extensions/DaemonSet": _daemonset,
    "apps/Deployment": _deployment,
    "extensions/Deployment": _deployment,
    "apps/ReplicaSet": _replicaset,
    "extensions/ReplicaSet": _replicaset,
    "policy/PodDisruptionBudget": _pdb,
    "batch/CronJob": _always_ready,
    "batch/Job": _job,
    "apiextensions.k8s.io/CustomResourceDefinition": _crd,
}


def rule_for(obj: Mapping[str, Any]) -> Rule | None:
    """The rule for the object's group and kind (version is ignored), or None if it has none."""
    api_version = get_str(obj, "apiVersion", "")
    kind = get_str(obj, "kind", "")
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    return _RULES.get(f"{group}/{kind}" if group else kind)
