"""The Job controller: what kube-controller-manager's ``job`` controller does, as clients see it.

For every Job that is neither finished, suspended nor being deleted it keeps
``min(parallelism, completions - succeeded)`` pods from the Job's template, replaces failed pods
until ``backoffLimit`` is exceeded, fails the Job after ``activeDeadlineSeconds`` and deletes it
``ttlSecondsAfterFinished`` after it finished. Status (``startTime``, ``active``, ``ready``,
``succeeded``, ``failed``, ``completionTime``, ``conditions``) is written as one merge patch of the
status subresource per reconcile, so watchers see what a cluster would show.

Deliberate simplifications, none of which a client of a single-node dev server can tell apart:

* ``NonIndexed`` completion mode only (an ``Indexed`` Job runs as a NonIndexed one);
* replacement pods are created at once, without the cluster's exponential back-off delay;
* progress is counted from the Job's pods, which are kept after they terminate (like the
  controller's legacy tracking, before the ``job-tracking`` finalizer): counts never go down, but
  a terminated pod deleted by hand before it was seen is not counted;
* no pod failure or success policies, no adoption of ownerless pods by selector.

Like :mod:`.collecting`, changes are only *noted* in the store listener and the work happens in
one background task. Time comes from the registry's clock; a cheap periodic tick re-checks the
few pending deadlines, so a test advancing a ManualClock sees them expire within a fraction of a
second.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kontinue.clock import format_time

from ._work import WorkQueue
from .errors import ApiStatus
from .registry import MERGE_PATCH, DeleteOptions, Registry
from .resources import ResourceType
from .storage import Change

__all__ = ["JobController", "JobPlan", "finished_at", "new_pod", "plan_job", "status_patch"]

log = logging.getLogger("kontinue.devserver.jobs")
JSON = dict[str, Any]
JobKey = tuple[str, str]  # (namespace, name)

JOBS = "batch/jobs"
PODS = "/pods"
MANAGER = "kubernetes.io/job-controller"
TICK_SECONDS = 0.2
BACKOFF_MESSAGE = "Job has reached the specified backoff limit"
DEADLINE_MESSAGE = "Job was active longer than specified deadline"
COMPLETE_MESSAGE = "Reached expected number of succeeded pods"
_TERMINATED = ("Succeeded", "Failed")
_LONG_AGO = datetime.min.replace(tzinfo=UTC)  # a finished Job whose condition lacks a time


# Pure core -------------------------------------------------------------------------------------


@dataclass
class JobPlan:
    """What one reconcile of a Job should do; computed without I/O by :func:`plan_job`."""

    status: JSON
    create: int = 0
    delete: list[str] = field(default_factory=list)
    recheck_at: datetime | None = None  # when time alone changes the plan (deadline, TTL)
    expire: bool = False  # the TTL after finishing has passed: delete the Job


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def finished_at(job: JSON) -> datetime | None:
    """When the Job reached its ``Complete`` or ``Failed`` condition, if it did."""
    for condition in job.get("status", {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return _parse_time(condition.get("lastTransitionTime")) or _LONG_AGO
    return None


def _condition(kind: str, status: str, reason: str, message: str, now: str) -> JSON:
    """A JobCondition; empty reason and message are omitted, as the API server omits them."""
    condition: JSON = {"type": kind, "status": status}
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition | {"lastProbeTime": now, "lastTransitionTime": now}


def _set_condition(conditions: list[JSON], new: JSON) -> list[JSON]:
    """Replace the condition of the same type unless nothing but the times would change."""
    out = [c for c in conditions if c.get("type") != new["type"]]
    for old in conditions:
        if old.get("type") == new["type"] and all(
            old.get(k) == new.get(k) for k in ("status", "reason", "message")
        ):
            return conditions
    out.append(new)
    return out


def _ready(pod: JSON) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in pod.get("status", {}).get("conditions") or []
    )


def _counts(status: JSON, **values: int) -> None:
    """Integer status fields are ``omitempty`` in batch/v1: zero means absent."""
    for key, value in values.items():
        if value:
            status[key] = value
        else:
            status.pop(key, None)


def plan_job(job: JSON, pods: list[JSON], now: datetime) -> JobPlan:
    """Decide pods to create and delete and the Job's new status, from the Job and its pods."""
    spec = job.get("spec", {})
    old_status: JSON = job.get("status") or {}
    status = copy.deepcopy(old_status)
    stamp = format_time(now)
    done = finished_at(job)
    if done is not None:
        ttl = spec.get("ttlSecondsAfterFinished")
        if ttl is None:
            return JobPlan(status)
        expires = done + timedelta(seconds=int(ttl))
        return JobPlan(status, expire=now >= expires, recheck_at=expires)

    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    active = [p for p in live if p.get("status", {}).get("phase") not in _TERMINATED]
    # Counts never go down, even if someone deletes a terminated pod.
    succeeded = max(
        int(old_status.get("succeeded") or 0),
        sum(p.get("status", {}).get("phase") == "Succeeded" for p in pods),
    )
    failed = max(
        int(old_status.get("failed") or 0),
        sum(p.get("status", {}).get("phase") == "Failed" for p in pods),
    )
    conditions: list[JSON] = list(status.get("conditions") or [])
    plan = JobPlan(status)
    # Newest first, so scaling down removes the pods with the least work done.
    by_age = sorted(active, key=lambda p: p["metadata"].get("creationTimestamp", ""), reverse=True)

    if spec.get("suspend"):
        plan.delete = [p["metadata"]["name"] for p in by_age]
        conditions = _set_condition(
            conditions, _condition("Suspended", "True", "JobSuspended", "Job suspended", stamp)
        )
        _counts(status, active=0, succeeded=succeeded, failed=failed)
        status["ready"] = 0
        status["conditions"] = conditions
        return plan

    if any(c.get("type") == "Suspended" and c.get("status") == "True" for c in conditions):
        conditions = _set_condition(
            conditions, _condition("Suspended", "False", "JobResumed", "Job resumed", stamp)
        )
        status["startTime"] = stamp  # a resumed Job's deadline starts again, as on a cluster
    status.setdefault("startTime", stamp)

    backoff_limit = int(spec.get("backoffLimit", 6))
    deadline_seconds = spec.get("activeDeadlineSeconds")
    started = _parse_time(status["startTime"]) or now
    deadline = started + timedelta(seconds=int(deadline_seconds)) if deadline_seconds else None
    completions = spec.get("completions")
    parallelism = int(spec.get("parallelism", 1))

    failure: tuple[str, str] | None = None
    if failed > backoff_limit:
        failure = ("BackoffLimitExceeded", BACKOFF_MESSAGE)
    elif deadline is not None and now >= deadline:
        failure = ("DeadlineExceeded", DEADLINE_MESSAGE)
    complete = (
        succeeded >= int(completions)
        if completions is not None
        else succeeded > 0 and not active  # work-queue Job: done when one succeeded and all ended
    )

    if failure is not None:
        plan.delete = [p["metadata"]["name"] for p in by_age]
        failed += len(active)  # pods killed for the failure count as failed, as on a cluster
        # FailureTarget first, as upstream's controller (and its status validation) wants
        for kind in ("FailureTarget", "Failed"):
            conditions = _set_condition(conditions, _condition(kind, "True", *failure, stamp))
        active = []
    elif complete:
        plan.delete = [p["metadata"]["name"] for p in by_age]
        for kind in ("SuccessCriteriaMet", "Complete"):
            conditions = _set_condition(
                conditions, _condition(kind, "True", "CompletionsReached", COMPLETE_MESSAGE, stamp)
            )
        status["completionTime"] = stamp
        active = []
    else:
        wanted = parallelism
        if completions is not None:
            wanted = min(parallelism, int(completions) - succeeded)
        if wanted > len(active):
            plan.create = wanted - len(active)
        elif wanted < len(active):
            plan.delete = [p["metadata"]["name"] for p in by_age[: len(active) - wanted]]
            active = by_age[len(active) - wanted :]
        plan.recheck_at = deadline

    _counts(
        status,
        active=len(active) + plan.create,
        succeeded=succeeded,
        failed=failed,
    )
    status["ready"] = sum(_ready(p) for p in active)
    if conditions:
        status["conditions"] = conditions
    ttl = spec.get("ttlSecondsAfterFinished")
    if (failure is not None or complete) and ttl is not None:
        plan.recheck_at = now + timedelta(seconds=int(ttl))
    return plan


def new_pod(job: JSON) -> JSON:
    """A pod from the Job's template, owned by the Job (admission defaults the rest)."""
    meta = job["metadata"]
    template = job.get("spec", {}).get("template") or {}
    tmeta = template.get("metadata") or {}
    pod_meta: JSON = {
        "generateName": f"{meta['name']}-",
        "labels": dict(tmeta.get("labels") or {}),
        "ownerReferences": [
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "name": meta["name"],
                "uid": meta["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    if tmeta.get("annotations"):
        pod_meta["annotations"] = dict(tmeta["annotations"])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": pod_meta,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }


def status_patch(old: JSON, new: JSON) -> JSON:
    """A merge patch turning status ``old`` into ``new`` (``None`` removes a field)."""
    patch: JSON = {k: v for k, v in new.items() if old.get(k) != v}
    patch.update({k: None for k in old if k not in new})
    return patch


def _job_of(pod: JSON) -> str | None:
    """The name of the Job controlling ``pod``, if one does."""
    for ref in pod.get("metadata", {}).get("ownerReferences") or ():
        if (
            ref.get("controller")
            and ref.get("kind") == "Job"
            and ref.get("apiVersion") == ("batch/v1")
        ):
            name = ref.get("name")
            return str(name) if name else None
    return None


# The controller ------------------------------------------------------------------------------


class JobController:
    """Runs Jobs inside the dev server (a :class:`~kontinue.devserver.Controller`)."""

    def __init__(self, tick: float = TICK_SECONDS) -> None:
        self._tick = tick
        self._timers: dict[JobKey, datetime] = {}
        self._queue: WorkQueue[JobKey, None] = WorkQueue(
            "devserver-jobs",
            lambda key, _: self._reconcile(*key),
            tick=self._tick,
            before_drain=self._promote_due_timers,
        )
        self._unsubscribe: Any = None
        self._registry: Registry | None = None

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            raise RuntimeError("the job controller is not running")
        return self._registry

    async def start(self, registry: Registry) -> None:
        """Subscribe to changes, then queue every Job: work may have stopped with the server."""
        self._registry = registry
        self._unsubscribe = registry.store.subscribe(self._note)
        for (namespace, name), _ in registry.store.items(JOBS):
            self._add((namespace, name))
        self._queue.start()

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self._queue.stop()

    def _add(self, key: JobKey) -> None:
        self._queue.add(key, None)

    def _note(self, change: Change) -> None:
        if change.resource == JOBS:
            self._add((change.namespace, change.name))
        elif change.resource == PODS:
            job = _job_of(change.obj)
            if job is not None:
                self._add((change.namespace, job))

    def _promote_due_timers(self) -> None:
        """Queue the Jobs whose deadline or TTL has come (on the registry's clock)."""
        if self._timers:
            now = self.registry.clock.now()
            for key, when in list(self._timers.items()):
                if when <= now:
                    del self._timers[key]
                    self._add(key)

    def _type(self, key: str) -> ResourceType:
        rt = self.registry.catalog.by_key(key)
        assert rt is not None, key
        return rt

    def _reconcile(self, namespace: str, name: str) -> None:
        store = self.registry.store
        entry = store.get(JOBS, namespace, name)
        self._timers.pop((namespace, name), None)
        if entry is None:
            return
        job = entry.load()
        meta = job["metadata"]
        if meta.get("deletionTimestamp"):
            return  # being deleted: the garbage collector handles its pods
        if job.get("spec", {}).get("managedBy", MANAGER) != MANAGER:
            return  # another controller owns this Job (spec.managedBy, Kubernetes 1.30+)
        pods: list[JSON] = []
        for resource, pod_ns, pod_name in store.dependents(meta["uid"]):
            pod_entry = store.get(resource, pod_ns, pod_name) if resource == PODS else None
            if pod_entry is None:
                continue
            pod = pod_entry.load()
            refs = pod["metadata"].get("ownerReferences") or ()
            if any(r.get("uid") == meta["uid"] and r.get("controller") for r in refs):
                pods.append(pod)
        now = self.registry.clock.now()
        plan = plan_job(job, pods, now)
        if plan.expire:
            self._delete(JOBS, namespace, name, DeleteOptions("Background", meta["uid"]))
            return
        if plan.recheck_at is not None:
            self._timers[(namespace, name)] = plan.recheck_at
        for pod_name in plan.delete:
            self._delete(PODS, namespace, pod_name, DeleteOptions())
        for _ in range(plan.create):
            try:
                self.registry.create(self._type(PODS), "v1", namespace, new_pod(job))
            except ApiStatus as exc:  # e.g. the namespace is terminating
                log.warning("cannot create a pod for job %s/%s: %s", namespace, name, exc)
                _counts(plan.status, active=int(plan.status.get("active") or 0) - 1)
        patch = status_patch(job.get("status") or {}, plan.status)
        if not patch:
            return
        try:
            self.registry.patch(
                self._type(JOBS),
                "v1",
                namespace,
                name,
                MERGE_PATCH,
                {"metadata": {"resourceVersion": str(entry.rv)}, "status": patch},
                subresource="status",
            )
        except ApiStatus as exc:
            if exc.code == 409:
                self._add((namespace, name))  # changed under us: look again
            elif exc.code != 404:
                raise

    def _delete(self, key: str, namespace: str, name: str, options: DeleteOptions) -> None:
        try:
            self.registry.delete(self._type(key), "v1", namespace, name, options)
        except ApiStatus as exc:
            if exc.code not in (404, 409):
                raise
