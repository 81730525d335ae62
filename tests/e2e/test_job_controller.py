"""The built-in Job controller: pods for Jobs, their status, back-off, deadlines, TTLs, restarts.

Each test gets its own dev server with a ManualClock; pod phases are set by the test through the
status subresource, as a kubelet would, so nothing here depends on a pod runner.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from kontinue.clock import ManualClock
from kontinue.devserver import DevServerSettings, DevServerThread
from kontinue.testing import eventually

pytestmark = pytest.mark.devserver  # tests the dev server itself

START = datetime(2032, 3, 4, 5, 6, 7, tzinfo=UTC)
NS = "default"


def _settings(**values: Any) -> DevServerSettings:
    """Settings with the Job controller on and, if this server has one, the pod runner off."""
    names = {f.name for f in dataclasses.fields(DevServerSettings)}
    if "run_pods" in names:
        values["run_pods"] = False
    return DevServerSettings(**{"port": 0, "data_dir": None, "run_jobs": True, **values})


class Cluster:
    """A dev server with a ManualClock, and the official client's APIs for it."""

    def __init__(self, settings: DevServerSettings, clock: ManualClock) -> None:
        self.clock = clock
        self.thread = DevServerThread(settings, clock=clock).start()
        configuration = client.Configuration()
        config.load_kube_config(
            config_file=str(self.thread.server.kubeconfig_path),
            client_configuration=configuration,
        )
        self.api = client.ApiClient(configuration)
        self.core = client.CoreV1Api(self.api)
        self.batch = client.BatchV1Api(self.api)

    def close(self) -> None:
        self.api.close()
        self.thread.stop()

    def create_job(self, name: str, **spec: Any) -> client.V1Job:
        body = {
            "metadata": {"name": name},
            "spec": {
                "template": {
                    "metadata": {"labels": {"app": "demo"}},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "main", "image": "busybox:1.36"}],
                    },
                },
                **spec,
            },
        }
        return self.batch.create_namespaced_job(NS, body)

    def job(self, name: str) -> client.V1Job:
        return self.batch.read_namespaced_job_status(name, NS)

    def pods(self, job: str) -> list[client.V1Pod]:
        listed = self.core.list_namespaced_pod(NS, label_selector=f"job-name={job}")
        return sorted(listed.items, key=lambda p: p.metadata.name)

    def active_pods(self, job: str) -> list[client.V1Pod]:
        return [p for p in self.pods(job) if p.status.phase not in ("Succeeded", "Failed")]

    def wait_active(self, job: str, count: int) -> list[client.V1Pod]:
        eventually(lambda: len(self.active_pods(job)) == count, timeout=5)
        return self.active_pods(job)

    def finish(self, pod: client.V1Pod, phase: str) -> None:
        self.core.patch_namespaced_pod_status(pod.metadata.name, NS, {"status": {"phase": phase}})

    def condition(self, job: str, kind: str) -> client.V1JobCondition | None:
        for condition in self.job(job).status.conditions or []:
            if condition.type == kind and condition.status == "True":
                return condition
        return None

    def wait_condition(self, job: str, kind: str) -> client.V1JobCondition:
        found: client.V1JobCondition = eventually(lambda: self.condition(job, kind), timeout=5)
        return found


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    running = Cluster(_settings(), ManualClock(START))
    yield running
    running.close()


def test_a_job_creates_parallelism_pods_from_its_template(cluster: Cluster) -> None:
    job = cluster.create_job("fan", parallelism=3, completions=5)
    pods = cluster.wait_active("fan", 3)
    uid = job.metadata.uid
    for pod in pods:
        assert pod.metadata.name.startswith("fan-")
        labels = pod.metadata.labels
        assert labels["app"] == "demo"
        assert labels["job-name"] == labels["batch.kubernetes.io/job-name"] == "fan"
        assert labels["batch.kubernetes.io/controller-uid"] == uid
        (ref,) = pod.metadata.owner_references
        assert (ref.kind, ref.name, ref.uid) == ("Job", "fan", uid)
        assert ref.controller and ref.block_owner_deletion
        assert pod.spec.restart_policy == "Never"
    status = eventually(lambda: cluster.job("fan").status.active == 3 and cluster.job("fan"))
    assert status.status.start_time == START
    assert status.status.ready == 0


def test_succeeded_pods_complete_the_job(cluster: Cluster) -> None:
    cluster.create_job("done", parallelism=2, completions=2)
    for pod in cluster.wait_active("done", 2):
        cluster.finish(pod, "Succeeded")
    complete = cluster.wait_condition("done", "Complete")
    job = cluster.job("done")
    assert job.status.succeeded == 2 and not job.status.active and not job.status.failed
    assert job.status.completion_time == START
    assert complete.last_transition_time == START
    assert cluster.condition("done", "Failed") is None
    assert len(cluster.pods("done")) == 2  # finished pods are kept, as on a cluster


def test_completions_run_one_at_a_time_with_parallelism_one(cluster: Cluster) -> None:
    cluster.create_job("serial", parallelism=1, completions=3)
    seen: set[str] = set()
    for round_ in range(3):
        (pod,) = cluster.wait_active("serial", 1)
        assert pod.metadata.name not in seen
        seen.add(pod.metadata.name)
        cluster.finish(pod, "Succeeded")
        if round_ < 2:
            eventually(lambda n=round_ + 1: cluster.job("serial").status.succeeded == n)
    cluster.wait_condition("serial", "Complete")
    assert cluster.job("serial").status.succeeded == 3
    assert len(cluster.pods("serial")) == 3


def test_failed_pods_are_replaced_until_the_backoff_limit(cluster: Cluster) -> None:
    cluster.create_job("flaky", parallelism=2, completions=4, backoffLimit=1)
    first, second = cluster.wait_active("flaky", 2)
    cluster.finish(first, "Failed")  # one failure is within the limit: replaced
    eventually(lambda: cluster.job("flaky").status.failed == 1)
    replacements = cluster.wait_active("flaky", 2)
    assert first.metadata.name not in {p.metadata.name for p in replacements}
    cluster.finish(second, "Failed")  # the second exceeds backoffLimit=1
    failed = cluster.wait_condition("flaky", "Failed")
    assert failed.reason == "BackoffLimitExceeded"
    assert failed.message == "Job has reached the specified backoff limit"
    eventually(lambda: not cluster.active_pods("flaky"))
    job = cluster.job("flaky")
    assert not job.status.active and job.status.failed == 3  # the killed active pod counts
    assert job.status.completion_time is None
    assert cluster.condition("flaky", "Complete") is None


def test_active_deadline_fails_the_job_when_the_clock_passes_it(cluster: Cluster) -> None:
    cluster.create_job("slow", parallelism=2, completions=2, activeDeadlineSeconds=30)
    cluster.wait_active("slow", 2)
    cluster.clock.advance(29)
    with pytest.raises(TimeoutError):
        eventually(lambda: cluster.condition("slow", "Failed"), timeout=0.5)
    cluster.clock.advance(1)
    failed = cluster.wait_condition("slow", "Failed")
    assert failed.reason == "DeadlineExceeded"
    assert failed.message == "Job was active longer than specified deadline"
    eventually(lambda: not cluster.pods("slow"))  # active pods are deleted
    assert not cluster.job("slow").status.active


def test_ttl_after_finished_deletes_the_job_and_its_pods(cluster: Cluster) -> None:
    cluster.create_job("brief", ttlSecondsAfterFinished=60)
    (pod,) = cluster.wait_active("brief", 1)
    cluster.finish(pod, "Succeeded")
    cluster.wait_condition("brief", "Complete")
    cluster.clock.advance(59)
    with pytest.raises(TimeoutError):
        eventually(lambda: not cluster.batch.list_namespaced_job(NS).items, timeout=0.5)
    cluster.clock.advance(1)
    eventually(lambda: not cluster.batch.list_namespaced_job(NS).items, timeout=5)
    eventually(lambda: not cluster.pods("brief"), timeout=5)  # collected through ownerRefs


def test_a_suspended_job_creates_no_pods_until_resumed(cluster: Cluster) -> None:
    cluster.create_job("held", suspend=True, parallelism=2, completions=2)
    suspended = cluster.wait_condition("held", "Suspended")
    assert suspended.reason == "JobSuspended"
    assert not cluster.pods("held") and not cluster.job("held").status.active
    cluster.batch.patch_namespaced_job("held", NS, {"spec": {"suspend": False}})
    cluster.wait_active("held", 2)
    resumed = next(c for c in cluster.job("held").status.conditions if c.type == "Suspended")
    assert (resumed.status, resumed.reason) == ("False", "JobResumed")


def test_deleting_a_job_in_the_background_collects_its_pods(cluster: Cluster) -> None:
    cluster.create_job("gone", parallelism=2, completions=2)
    cluster.wait_active("gone", 2)
    cluster.batch.delete_namespaced_job("gone", NS, propagation_policy="Background")
    eventually(lambda: not cluster.pods("gone"), timeout=5)
    assert not cluster.batch.list_namespaced_job(NS).items


def test_a_restarted_server_adopts_the_pods_it_created(tmp_path: Path) -> None:
    clock = ManualClock(START)
    first = Cluster(_settings(data_dir=tmp_path), clock)
    try:
        first.create_job("durable", parallelism=2, completions=3)
        before = {p.metadata.name for p in first.wait_active("durable", 2)}
        eventually(lambda: first.job("durable").status.active == 2)
    finally:
        first.close()
    second = Cluster(_settings(data_dir=tmp_path), clock)
    try:
        pods = second.pods("durable")
        assert {p.metadata.name for p in pods} == before
        second.finish(pods[0], "Succeeded")
        # One more pod is needed for the third completion: exactly one is created.
        eventually(lambda: second.job("durable").status.succeeded == 1)
        active = second.wait_active("durable", 2)
        assert len(second.pods("durable")) == 3
        assert pods[1].metadata.name in {p.metadata.name for p in active}
        for pod in active:
            second.finish(pod, "Succeeded")
        second.wait_condition("durable", "Complete")
        assert second.job("durable").status.succeeded == 3
        assert len(second.pods("durable")) == 3
    finally:
        second.close()
