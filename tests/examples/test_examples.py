"""The workflows of examples/ run end to end through ``kontinue_env``, on the test clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from examples import fanout, flaky, hello, pipeline, workers
from kontinue.api import (
    ErrorKind,
    Execution,
    ExecutionPhase,
    Suspension,
    SuspensionKind,
    SuspensionPhase,
)
from kontinue.kube import NotFound
from kontinue.testing import WorkflowEnvironment, eventually

from ..kubectl_writes import request_resume

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COMPLETED = ExecutionPhase.COMPLETED


# Helpers -------------------------------------------------------------------------------------


def _waiting(env: WorkflowEnvironment, execution: str, kind: SuspensionKind) -> Suspension:
    """The waiting Suspension of ``kind`` of an execution, once there is one."""

    def find() -> list[Suspension]:
        return [s for s in env.suspensions(execution) if s.is_waiting and s.spec.kind == kind]

    return eventually(find, timeout=10.0, what=f"waiting {kind.value} suspension of {execution}")[0]


def _created(env: WorkflowEnvironment, name: str) -> Execution:
    """The execution called ``name`` (a child is created by its parent's run), once it exists."""

    def find() -> Execution | None:
        try:
            return env.get(name)
        except NotFound:
            return None

    return eventually(find, timeout=10.0, what=f"execution {name}")


def _due_in(when: datetime | None, env: WorkflowEnvironment, seconds: int) -> bool:
    """True when ``when`` is ``seconds`` from the test clock's now (resource times are whole
    seconds, so up to a second sooner)."""
    assert when is not None
    return timedelta(seconds=seconds - 1) < when - env.clock.now() <= timedelta(seconds=seconds)


def _children(env: WorkflowEnvironment, name: str) -> dict[str, Execution]:
    """The children of an execution, by function name."""
    return {child.spec.function: child for child in env.children(name)}


def _after_failed_attempts(count: int) -> Callable[[Execution], bool]:
    """For ``wait(until=...)``: the execution has ``count`` failed attempts behind it."""
    return lambda execution: len(execution.status.attempts) == count


# The combined worker -------------------------------------------------------------------------


def test_the_combined_worker_serves_every_example_unchanged() -> None:
    modules = (hello, pipeline, fanout, flaky)
    expected = {name for module in modules for name in module.worker.functions}
    assert set(workers.worker.functions) == expected
    assert workers.worker.group == "examples"
    assert set(hello.worker.functions) == {"hello"}  # examples.hello:worker is still just hello
    for module in modules:
        for name, definition in module.worker.functions.items():
            combined = workers.worker.functions[name]
            assert combined.fn is definition.fn
            published = workers.worker.function_resource(combined, "ns")
            assert published == module.worker.function_resource(definition, "ns"), name


@pytest.mark.parametrize(
    "path", sorted(EXAMPLES.glob("*-execution.yaml")), ids=lambda path: path.name
)
def test_execution_manifests_name_a_served_function_with_valid_arguments(path: Path) -> None:
    body = yaml.safe_load(path.read_text())
    function = body["spec"]["function"]
    assert body["metadata"]["labels"] == {
        "kontinue.cloud/function": function,
        "kontinue.cloud/worker-group": "examples",
    }
    workers.worker.functions[function].parse_arguments(body["spec"]["arguments"])


# hello ---------------------------------------------------------------------------------------


def test_hello(kontinue_env: WorkflowEnvironment) -> None:
    with kontinue_env.running(hello.worker):
        name = kontinue_env.execute(hello.hello, hello.Greeting(name="kontinue", excited=True))
        done = kontinue_env.wait(name, skip_sleeps=True)
    assert done.status.phase == COMPLETED, done.status
    assert done.status.result.startswith("hello kontinue! (started ")


# pipeline ------------------------------------------------------------------------------------


def _pipeline_until_approval(env: WorkflowEnvironment, args: pipeline.PipelineArgs) -> str:
    """Start a pipeline, check its soak, let it pass, and return the pipeline's name once it
    waits for approval."""
    name = env.execute(pipeline.deploy_pipeline, args)
    soak = _waiting(env, name, SuspensionKind.SLEEP)
    assert soak.metadata.name == f"{name}-soak"
    # Build, test and staging are done before the soak starts.
    staged = _children(env, name)
    assert set(staged) == {"build", "test", "deploy-staging"}
    assert all(child.status.phase == COMPLETED for child in staged.values())
    assert _due_in(soak.spec.resume_at, env, args.soak_seconds)

    env.advance(timedelta(seconds=args.soak_seconds))
    approval = _waiting(env, name, SuspensionKind.MANUAL)
    assert approval.metadata.name == f"{name}-approval"
    assert approval.spec.message is not None
    assert approval.spec.message.startswith("Approve production deploy of ")
    assert approval.spec.data_schema is not None
    assert set(approval.spec.data_schema["required"]) == {"approved", "approver"}
    assert "deploy-prod" not in _children(env, name)
    return name


def test_pipeline_deploys_to_production_once_approved(kontinue_env: WorkflowEnvironment) -> None:
    args = pipeline.PipelineArgs(service="checkout", git_ref="v1.4.2", production_replicas=5)
    with kontinue_env.running(workers.worker):
        name = _pipeline_until_approval(kontinue_env, args)
        approval = pipeline.Approval(approved=True, approver="alice", comment="LGTM")
        kontinue_env.resume(f"{name}-approval", approval.model_dump(mode="json"), by="alice")
        done = kontinue_env.wait(name)
    assert done.status.phase == COMPLETED, done.status

    result = pipeline.PipelineResult.model_validate(done.status.result)
    assert result.image.startswith(f"{pipeline.REGISTRY}/checkout:v1.4.2-")
    assert result.tests_passed == 42
    assert result.staging.environment == "staging"
    assert result.production == pipeline.DeployResult(
        environment="production", url="https://checkout.example.com", replicas=5
    )
    assert (result.approved_by, result.comment) == ("alice", "LGTM")

    # Every stage ran once, as its own execution, named after the pipeline and its step.
    children = _children(kontinue_env, name)
    assert set(children) == {"build", "test", "deploy-staging", "deploy-prod"}
    for function, child in children.items():
        assert child.metadata.name == f"{name}-{function}"
        assert child.spec.parent is not None and child.spec.parent.name == name
        assert child.status.phase == COMPLETED, child.status
        assert child.status.attempt == 1
    built = pipeline.BuildResult.model_validate(children["build"].status.result)
    assert built.image == result.image
    assert children["deploy-prod"].spec.arguments["image"] == result.image


def test_pipeline_stops_when_production_is_rejected(kontinue_env: WorkflowEnvironment) -> None:
    args = pipeline.PipelineArgs(service="billing", soak_seconds=5)
    with kontinue_env.running(workers.worker):
        name = _pipeline_until_approval(kontinue_env, args)
        rejection = {"approved": False, "approver": "bob", "comment": "error budget exhausted"}
        kontinue_env.resume(f"{name}-approval", rejection, by="bob")
        done = kontinue_env.wait(name)
    assert done.status.phase == ExecutionPhase.FAILED, done.status
    error = done.status.error
    assert error is not None
    assert error.kind == ErrorKind.EXECUTION
    assert not error.retryable
    assert error.message.startswith("production deploy of registry.example.com/")
    assert error.message.endswith(" rejected by bob: error budget exhausted")
    assert done.status.attempt == 1  # a refusal is not retried
    assert set(_children(kontinue_env, name)) == {"build", "test", "deploy-staging"}


def test_pipeline_approval_rejects_data_that_does_not_fit_the_form(
    kontinue_env: WorkflowEnvironment,
) -> None:
    args = pipeline.PipelineArgs(soak_seconds=10)
    with kontinue_env.running(workers.worker):
        name = _pipeline_until_approval(kontinue_env, args)
        # written as kubectl would (the client refuses it): no approver, no bool
        request_resume(kontinue_env, f"{name}-approval", {"approved": "sure"})

        def refused() -> Suspension | None:
            suspension = _waiting(kontinue_env, name, SuspensionKind.MANUAL)
            return suspension if suspension.status.message else None

        still_waiting = eventually(refused, timeout=10.0, what="message on the approval")
        assert still_waiting.status.phase == SuspensionPhase.WAITING
        assert kontinue_env.get(name).status.phase == ExecutionPhase.SUSPENDED

        approval = {"approved": True, "approver": "carol"}
        kontinue_env.resume(f"{name}-approval", approval)
        done = kontinue_env.wait(name)
    assert done.status.phase == COMPLETED, done.status
    result = pipeline.PipelineResult.model_validate(done.status.result)
    assert (result.approved_by, result.comment) == ("carol", None)


# fanout --------------------------------------------------------------------------------------


def test_fanout_runs_a_child_per_region_and_aggregates(kontinue_env: WorkflowEnvironment) -> None:
    regions = ["eu-west-1", "us-east-1", "ap-southeast-1", "sa-east-1"]
    args = fanout.RolloutArgs(service="checkout", version="2.0.0", regions=regions)
    with kontinue_env.running(workers.worker):
        name = kontinue_env.execute(fanout.rollout_regions, args)
        done = kontinue_env.wait(name)
    assert done.status.phase == COMPLETED, done.status
    summary = fanout.RolloutSummary.model_validate(done.status.result)
    assert [r.region for r in summary.regions] == regions  # request order, not finishing order

    children = {child.metadata.name: child for child in kontinue_env.children(name)}
    assert set(children) == {f"{name}-region-{region}" for region in regions}
    for region, reported in zip(regions, summary.regions, strict=True):
        child = children[f"{name}-region-{region}"]
        assert child.spec.function == "rollout-region"
        assert child.spec.arguments == {"service": "checkout", "version": "2.0.0", "region": region}
        assert child.status.phase == COMPLETED, child.status
        assert fanout.RegionResult.model_validate(child.status.result) == reported
    assert summary.total_healthy_pods == sum(r.healthy_pods for r in summary.regions)
    slowest = max(summary.regions, key=lambda r: r.p99_latency_ms)
    assert summary.slowest_region == slowest.region


def test_fanout_refuses_a_region_listed_twice(kontinue_env: WorkflowEnvironment) -> None:
    with kontinue_env.running(workers.worker):
        # By name, with plain JSON: RolloutArgs itself would refuse these arguments.
        twice = {"regions": ["us-east-1", "us-east-1"]}
        name = kontinue_env.execute("rollout-regions", twice)
        done = kontinue_env.wait(name)
    assert done.status.phase == ExecutionPhase.FAILED, done.status
    assert done.status.error is not None
    assert done.status.error.kind == ErrorKind.VALIDATION
    assert "regions listed more than once: us-east-1" in done.status.error.message
    assert kontinue_env.children(name) == []


# flaky ---------------------------------------------------------------------------------------


def test_flaky_step_is_retried_after_its_backoff(kontinue_env: WorkflowEnvironment) -> None:
    with kontinue_env.running(workers.worker):
        name = kontinue_env.execute(flaky.mirror_artifact, flaky.MirrorArgs(fail_attempts=2))
        fetch = _created(kontinue_env, f"{name}-fetch")
        for failed in (1, 2):
            backoff = kontinue_env.wait(
                fetch.metadata.name or "",
                phases={ExecutionPhase.BACKOFF},
                until=_after_failed_attempts(failed),
            )
            assert _due_in(backoff.status.next_attempt_at, kontinue_env, 2)
            assert kontinue_env.get(name).status.phase != COMPLETED
            kontinue_env.advance(timedelta(seconds=2))
        done = kontinue_env.wait(name)
    assert done.status.phase == COMPLETED, done.status
    result = flaky.MirrorResult.model_validate(done.status.result)
    assert result.fetch_attempts == 3
    assert result.location == "https://mirror.example.com/artifacts/checkout-1.4.2.tar.gz"

    (child,) = kontinue_env.children(name)
    assert child.metadata.name == f"{name}-fetch"
    assert child.status.phase == COMPLETED
    assert child.status.attempt == 3
    assert [(a.attempt, a.phase) for a in child.status.attempts] == [
        (1, ExecutionPhase.FAILED),
        (2, ExecutionPhase.FAILED),
    ]
    for a in child.status.attempts:
        assert a.error is not None and a.error.retryable
        assert a.error.message == (
            f"upstream registry answered 503 Service Unavailable (attempt {a.attempt})"
        )
    assert done.status.attempt == 1  # the parent never saw a failure


def test_flaky_step_fails_the_parent_once_retries_run_out(
    kontinue_env: WorkflowEnvironment,
) -> None:
    with kontinue_env.running(workers.worker):
        name = kontinue_env.execute(flaky.mirror_artifact, flaky.MirrorArgs(fail_attempts=4))
        fetch = _created(kontinue_env, f"{name}-fetch").metadata.name or ""
        for failed in (1, 2, 3):
            kontinue_env.wait(
                fetch,
                phases={ExecutionPhase.BACKOFF},
                until=_after_failed_attempts(failed),
            )
            kontinue_env.advance(timedelta(seconds=2))
        done = kontinue_env.wait(name)
    assert done.status.phase == ExecutionPhase.FAILED, done.status
    assert done.status.error is not None
    assert done.status.error.kind == ErrorKind.CHILD_FAILED
    assert done.status.error.details["child"] == fetch
    assert "attempt 4" in done.status.error.message
    child = kontinue_env.get(fetch)
    assert child.status.phase == ExecutionPhase.FAILED
    assert child.status.attempt == 4
