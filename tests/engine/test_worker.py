"""The worker as a cluster citizen: Functions, leadership, conditions, Events and metrics."""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable
from enum import StrEnum

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, Field

import kontinue
from kontinue.api import ExecutionPhase, ExecutionRetry, Function, labels
from kontinue.kube import Request, Response
from kontinue.kube.status import Status, compute_status
from kontinue.testing import WorkflowEnvironment, eventually
from kontinue.worker import MetricsUnavailable, WorkerSettings

FUNCTIONS = "functions.kontinue.cloud"
Send = Callable[[Request], Awaitable[Response]]


class Size(StrEnum):
    SMALL = "small"
    LARGE = "large"


class ClusterArgs(BaseModel):
    """Arguments of a cluster deployment."""

    name: str = Field(description="Cluster name")
    size: Size = Field(default=Size.SMALL, description="Node pool size")
    nodes: int = Field(default=3, ge=1)


def test_functions_are_published_with_their_schema_and_stale_ones_removed(
    kontinue_env: WorkflowEnvironment,
) -> None:
    stale = {
        "apiVersion": "kontinue.cloud/v1alpha1",
        "kind": "Function",
        "metadata": {"name": "old", "labels": {labels.LABEL_WORKER_GROUP: "publish"}},
        "spec": {"name": "old", "workerGroup": "publish"},
    }
    kontinue_env.admin.create(stale)  # as an older worker published it
    worker = kontinue.Worker(group="publish")

    @worker.function(
        "deploy-cluster",
        display_name="Deploy cluster",
        retry=ExecutionRetry(retries=2),
        concurrency=5,
    )
    async def deploy(ktx: kontinue.ExecutionContext, args: ClusterArgs) -> str:
        """Deploys a cluster."""
        return args.name

    @worker.function("helper", hidden=True)
    def helper(ktx: kontinue.SyncExecutionContext) -> None:
        return None

    with kontinue_env.running(worker):
        eventually(
            lambda: (
                {f["spec"]["name"] for f in kontinue_env.kube.list(FUNCTIONS)}
                == {"deploy-cluster", "helper"}
            ),
            what="both functions to be published",
        )
        published = {
            f.spec.name: f
            for f in (Function.model_validate(o) for o in kontinue_env.kube.list(FUNCTIONS))
        }
    assert set(published) == {"deploy-cluster", "helper"}
    deploy_fn = published["deploy-cluster"]
    assert deploy_fn.spec.description == "Deploys a cluster."
    assert deploy_fn.spec.display_name == "Deploy cluster"
    assert deploy_fn.spec.concurrency is not None and deploy_fn.spec.concurrency.limit == 5
    assert deploy_fn.spec.defaults is not None and deploy_fn.spec.defaults.retry is not None
    schema = deploy_fn.spec.arguments
    assert schema["required"] == ["name"]
    assert schema["properties"]["name"]["description"] == "Cluster name"
    assert schema["properties"]["nodes"]["default"] == 3
    size = schema["$defs"]["Size"]
    assert size["enum"] == ["small", "large"]
    assert deploy_fn.metadata.labels[labels.LABEL_WORKER_GROUP] == "publish"
    assert published["helper"].metadata.annotations[labels.ANNOTATION_HIDDEN] == "true"


def test_only_the_leader_runs_executions(kontinue_env: WorkflowEnvironment) -> None:
    ran_by: list[str] = []

    def make(identity: str) -> kontinue.Worker:
        worker = kontinue.Worker(
            group="leaders", identity=identity, settings=kontinue.WorkerSettings(renew_period=0.2)
        )

        @worker.function("who")
        async def who(ktx: kontinue.ExecutionContext) -> str:
            ran_by.append(identity)
            return identity

        return worker

    first = kontinue_env.start_worker(make("first"))
    second_worker = make("second")
    # the second replica starts while the first holds the lease: it waits as a follower
    second = kontinue_env.start_worker(second_worker, active=False)
    names = [kontinue_env.execute("who", {}) for _ in range(5)]
    results = {kontinue_env.wait(n).status.result for n in names}
    assert results == {"first"}
    assert set(ran_by) == {"first"}
    lease = kontinue_env.admin.get("leases.coordination.k8s.io", "kontinue-worker-leaders")
    assert lease["spec"]["holderIdentity"] == "first"
    first.stop()  # releases the lease: the follower takes over at its next try
    later = kontinue_env.execute("who", {})
    assert kontinue_env.wait(later, timeout=15).status.result == "second"
    second.stop()


def test_conditions_events_and_metrics_follow_the_execution(
    kontinue_env: WorkflowEnvironment,
) -> None:
    worker = kontinue.Worker(group="observe")

    @worker.function("gate")
    async def gate(ktx: kontinue.ExecutionContext) -> str:
        await ktx.suspend("approve?")
        return "ok"

    @worker.function("boom")
    async def boom(ktx: kontinue.ExecutionContext) -> None:
        raise kontinue.NonRetryableError("exploded")

    with kontinue_env.running(worker) as running:
        name = kontinue_env.execute(gate, {})
        kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED})
        waiting = kontinue_env.kube.get("executions.kontinue.cloud", name)
        assert compute_status(waiting).status == Status.IN_PROGRESS
        suspension = kontinue_env.wait_for_suspension(name)
        kontinue_env.resume(suspension.metadata.name or "")
        kontinue_env.wait(name)
        done = kontinue_env.kube.get("executions.kontinue.cloud", name)
        failed_name = kontinue_env.execute(boom, {})
        kontinue_env.wait(failed_name)
        failed = kontinue_env.kube.get("executions.kontinue.cloud", failed_name)
        metrics = running.worker.engine.metrics.text()
        kontinue_env.settled()  # its Events are written
        events = kontinue_env.kube.list("events")
        reasons = {(e["involvedObject"]["name"], e["reason"]) for e in events}
    assert compute_status(done).status == Status.CURRENT
    assert compute_status(failed).status == Status.FAILED
    ready = {c["type"]: c for c in done["status"]["conditions"]}
    assert ready["Ready"]["status"] == "True"
    assert (name, "Completed") in reasons and (failed_name, "Failed") in reasons
    where = {"namespace": kontinue_env.namespace, "worker": "observe"}
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
    }

    def value(name: str, **extra: str) -> float | None:
        return samples.get((name, tuple(sorted({**where, **extra}.items()))))

    completed = "kontinue_executions_completed_total"
    assert value(completed, function="gate", result="Completed") == 1.0
    assert value(completed, function="boom", result="Failed") == 1.0
    latency = "kontinue_execution_latency_seconds_count"
    assert value(latency, function="gate", result="Completed") == 1.0
    assert value("kontinue_execution_states", function="gate", phase="Completed") == 1.0
    assert value("kontinue_executions_running") == 0.0


def test_workers_can_include_each_other(kontinue_env: WorkflowEnvironment) -> None:
    one = kontinue.Worker(group="one")
    two = kontinue.Worker(group="combined")

    @one.function("first")
    async def first(ktx: kontinue.ExecutionContext) -> int:
        return 1

    @two.function("second")
    async def second(ktx: kontinue.ExecutionContext) -> int:
        return 2 + await ktx.execute(first)

    two.include(one)
    two.include(one)  # the same functions again: nothing changes
    other = kontinue.Worker()

    @other.function("first")
    async def impostor(ktx: kontinue.ExecutionContext) -> int:
        return 0

    import pytest

    with pytest.raises(ValueError, match="a different function named 'first'"):
        two.include(other)
    with kontinue_env.running(two):
        assert kontinue_env.wait(kontinue_env.execute(second, {})).status.result == 3


def test_events_give_way_to_progress_when_too_many_are_waiting(
    kontinue_env: WorkflowEnvironment,
) -> None:
    """Beyond ``max_pending_events`` waiting to be written, Events are dropped and counted
    (as client-go drops them when its queue is full); the executions are not held back."""
    worker = kontinue.Worker(group="quiet", settings=kontinue.WorkerSettings(max_pending_events=0))

    @worker.function("hello")
    async def hello(ktx: kontinue.ExecutionContext) -> str:
        return "hi"

    with kontinue_env.running(worker) as running:
        names = [kontinue_env.execute(hello, {}) for _ in range(3)]
        assert {kontinue_env.wait(n).status.result for n in names} == {"hi"}
        metrics = running.worker.engine.metrics.text()
    where = f'namespace="{kontinue_env.namespace}",worker="quiet"'
    assert f"kontinue_events_dropped_total{{{where}}} 3.0" in metrics
    events = kontinue_env.kube.list("events")
    assert not [e for e in events if e["involvedObject"]["name"] in names]


def test_new_executions_wait_while_the_client_is_behind(
    kontinue_env: WorkflowEnvironment,
) -> None:
    """With ``max_write_backlog`` requests unanswered, a new execution waits untouched in the
    cache (no run, no write) and starts once the backlog shrinks; started runs go on."""
    import asyncio
    import threading

    worker = kontinue.Worker(group="backlog", settings=kontinue.WorkerSettings(max_write_backlog=1))

    @worker.function("gate")
    async def gate(ktx: kontinue.ExecutionContext) -> str:
        await ktx.suspend("held")
        return "gate"

    @worker.function("hello")
    async def hello(ktx: kontinue.ExecutionContext) -> str:
        return "hi"

    creating, released = threading.Event(), threading.Event()

    async def held(request: Request, send: Send) -> Response:
        if request.method == "POST" and request.path.endswith("/suspensions"):
            creating.set()
            await asyncio.to_thread(released.wait)
        return await send(request)

    with kontinue_env.running(worker, intercept=held) as running:
        try:
            first = kontinue_env.execute(gate, {})
            assert creating.wait(10)
            second = kontinue_env.execute(hello, {})
            eventually(
                lambda: running.call(lambda: second in running.worker.engine.held_back),
                what="the new execution to wait for the backlog",
            )
            waiting = kontinue_env.get(second)
            assert waiting.status.phase == ExecutionPhase.PENDING
            assert waiting.status.attempt == 0  # not started: nothing written about it
        finally:
            released.set()
        assert kontinue_env.wait(second).status.result == "hi"
        kontinue_env.resume(kontinue_env.wait_for_suspension(first).metadata.name or "")
        assert kontinue_env.wait(first).status.result == "gate"


def test_a_taken_metrics_address_stops_the_worker_unless_it_is_optional(
    kontinue_env: WorkflowEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    """Two workers started at once on kontinue worker's default address: the second crashed
    with a traceback (the address was checked, then taken by the first, before it bound)."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = f"127.0.0.1:{holder.getsockname()[1]}"

        def make(optional: bool) -> kontinue.Worker:
            worker = kontinue.Worker(
                group="metrics",
                settings=WorkerSettings(metrics_address=taken, metrics_optional=optional),
            )

            @worker.function("one")
            async def one(ktx: kontinue.ExecutionContext) -> int:
                return 1

            return worker

        with pytest.raises(MetricsUnavailable, match=f"cannot serve metrics on {taken}"):
            kontinue_env.start_worker(make(optional=False))
        with (
            caplog.at_level(logging.WARNING, logger="kontinue.worker"),
            kontinue_env.running(make(optional=True)),
        ):
            done = kontinue_env.wait(kontinue_env.execute("one", {}))
    assert done.status.result == 1
    assert any(f"metrics are off: {taken} is taken" in r.getMessage() for r in caplog.records)
