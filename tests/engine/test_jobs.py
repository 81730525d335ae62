"""Jobs, pods and scripts from workflows, run by the dev server's local pod runner."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

import kontinue
from kontinue.api import ChildPolicy, ExecutionPhase, ExecutionRetry
from kontinue.sdk import JobResult, PodResult, ValidationFailed
from kontinue.testing import WorkflowEnvironment, eventually

PYTHON = sys.executable


def test_scripts_report_success_and_failure_with_logs(kontinue_env: WorkflowEnvironment) -> None:
    worker = kontinue.Worker(group="jobs")

    @worker.function("scripts")
    async def scripts(ktx: kontinue.ExecutionContext) -> dict:
        good = await ktx.run_script("busybox", "echo hello; echo from a script")
        bad = await ktx.run_script("busybox", "echo working; echo 'disk full' >&2; exit 3")
        return {
            "good": [good.succeeded, (await good.logs()).splitlines()],
            "bad": [
                bad.succeeded,
                bad.log_error_summary(),
                bad.message,
                bad.containers[0].exit_code,
            ],
        }

    @worker.function("fails-with-summary")
    async def fails(ktx: kontinue.ExecutionContext) -> None:
        result = await ktx.run_script("busybox", "echo 'migration 42 failed: lock timeout'; exit 1")
        if not result.succeeded:
            raise kontinue.NonRetryableError(
                f"migration failed: {result.message} (logs: {result.log_error_summary()})"
            )

    with kontinue_env.running(worker):
        done = kontinue_env.wait(kontinue_env.execute(scripts, {}), timeout=30)
        failed = kontinue_env.wait(kontinue_env.execute(fails, {}), timeout=30)
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status
    assert done.status.result["good"] == [True, ["hello", "from a script"]]
    succeeded, summary, message, code = done.status.result["bad"]
    assert succeeded is False and code == 3
    assert summary == "disk full"
    assert "exited with code 3" in message
    assert failed.status.error is not None
    assert "logs: migration 42 failed: lock timeout" in failed.status.error.message


def test_pods_with_init_containers_typed_specs_and_secrets(
    kontinue_env: WorkflowEnvironment,
) -> None:
    kontinue_env.admin.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db"},
            "stringData": {"password": "s3cret"},
        }
    )
    worker = kontinue.Worker(group="jobs")

    @worker.function("pod")
    async def pod(ktx: kontinue.ExecutionContext) -> dict:
        spec = k8s.V1PodSpec(
            init_containers=[
                k8s.V1Container(name="prepare", image="busybox", command=["sh", "-c", "echo init"])
            ],
            containers=[
                k8s.V1Container(
                    name="main",
                    image="busybox",
                    command=["sh", "-c", 'echo "password=$PASSWORD"'],
                    env=[
                        k8s.V1EnvVar(
                            name="PASSWORD",
                            value_from=k8s.V1EnvVarSource(
                                secret_key_ref=k8s.V1SecretKeySelector(name="db", key="password")
                            ),
                        )
                    ],
                ),
                k8s.V1Container(name="side", image="busybox", command=["sh", "-c", "echo side"]),
            ],
        )
        result: PodResult = await ktx.run_pod(spec, display_name="Migrate")
        return {
            "ok": result.succeeded,
            "containers": [(c.name, c.init, c.exit_code) for c in result.containers],
            "main": await result.logs(container="main"),
            "side": await ktx.logs(result, container="side"),
        }

    with kontinue_env.running(worker):
        done = kontinue_env.wait(kontinue_env.execute(pod, {}), timeout=30)
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status
    result = done.status.result
    assert result["ok"] is True
    assert result["containers"] == [["prepare", True, 0], ["main", False, 0], ["side", False, 0]]
    assert result["main"].strip() == "password=s3cret"
    assert result["side"].strip() == "side"


def test_a_job_with_retries_and_a_missing_executable(
    kontinue_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    marker = tmp_path / "attempts"
    worker = kontinue.Worker(group="jobs")
    flaky = (
        f"n=$(cat {marker} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {marker}; "
        'echo "try $n"; [ "$n" -ge 3 ]'
    )

    @worker.function("job")
    async def job(ktx: kontinue.ExecutionContext) -> dict:
        result: JobResult = await ktx.run_job(
            {
                "backoffLimit": 2,
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "c", "image": "busybox", "command": ["sh", "-c", flaky]}
                        ]
                    }
                },
            }
        )
        missing = await ktx.run_script("busybox", "x", shell=["/no/such/shell"])
        return {
            "succeeded": result.succeeded,
            "pods": [p.succeeded for p in result.pods],
            "counts": [result.succeeded_pods, result.failed_pods],
            "missing": [missing.succeeded, missing.containers[0].exit_code, missing.message],
        }

    with kontinue_env.running(worker):
        done = kontinue_env.wait(kontinue_env.execute(job, {}), timeout=60)
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status
    result = done.status.result
    assert sorted(result["pods"]) == [False, False, True]  # same-second pods: any order
    assert result["counts"] == [1, 2]
    assert result["succeeded"] is False  # a Job with failed pods did not fully succeed
    ok, code, message = result["missing"]
    assert ok is False and code == 127
    assert "/no/such/shell" in message or "not found" in message.lower()


def test_bad_specs_are_refused_before_anything_is_created(
    kontinue_env: WorkflowEnvironment,
) -> None:
    worker = kontinue.Worker(group="jobs")
    seen: list[str] = []

    @worker.function("bad-spec")
    async def bad_spec(ktx: kontinue.ExecutionContext) -> None:
        try:
            await ktx.run_pod({"containers": [{"name": "x"}]})
        except ValidationFailed as error:
            seen.append(error.message)
        await ktx.run_job({"template": {"spec": {"containers": []}}})

    with kontinue_env.running(worker):
        done = kontinue_env.wait(kontinue_env.execute(bad_spec, {}))
    assert seen == ["invalid spec.containers[0].image: is required"]
    assert done.status.error is not None
    assert (
        "spec.template.spec.containers: needs at least one container" in done.status.error.message
    )
    assert kontinue_env.kube.list("jobs.batch") == []


@pytest.mark.timeout(60)
def test_cancel_kills_the_running_job(kontinue_env: WorkflowEnvironment, tmp_path: Path) -> None:
    started = tmp_path / "started"
    worker = kontinue.Worker(group="jobs")

    @worker.function("long")
    async def long(ktx: kontinue.ExecutionContext) -> None:
        # "$$$$" is "$$" for the shell: Kubernetes turns "$$" into "$" in commands
        await ktx.run_script("busybox", f"echo $$$$ > {started}; sleep 300")

    with kontinue_env.running(worker):
        name = kontinue_env.execute(long, {})
        eventually(
            lambda: started.exists() and started.read_text().strip(),
            timeout=20,
            what="the script to start",
        )
        pid = int(started.read_text())
        kontinue_env.cancel(name, "stop the script")
        assert kontinue_env.wait(name).status.phase == ExecutionPhase.CANCELED
        eventually(lambda: not _alive(pid), timeout=20, what="the script's process to end")
        eventually(
            lambda: not kontinue_env.kube.list("jobs.batch"),
            timeout=20,
            what="the Job to be deleted",
        )


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def test_a_deadline_fails_the_job(kontinue_env: WorkflowEnvironment) -> None:
    worker = kontinue.Worker(group="jobs")

    @worker.function("deadline")
    async def deadline(ktx: kontinue.ExecutionContext) -> dict:
        result = await ktx.run_job(
            {
                # short: a real cluster's Job controller keeps real time
                "activeDeadlineSeconds": 2,
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "c", "image": "busybox", "command": ["sleep", "300"]}
                        ]
                    }
                },
            }
        )
        return {"succeeded": result.succeeded, "message": result.message}

    with kontinue_env.running(worker):
        name = kontinue_env.execute(deadline, {})
        kontinue_env.wait(
            name, phases={ExecutionPhase.EXECUTING}, until=lambda ex: bool(ex.status.steps)
        )
        kontinue_env.advance(3)  # the dev server's Job controller keeps the test clock
        done = kontinue_env.wait(name, timeout=30)
    assert done.status.result["succeeded"] is False
    assert "deadline" in done.status.result["message"].lower()


def test_a_job_that_ended_while_no_worker_ran_is_picked_up(
    kontinue_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    runs = tmp_path / "runs"

    def make() -> kontinue.Worker:
        worker = kontinue.Worker(group="jobs")

        @worker.function("waits-for-file")
        async def waits(ktx: kontinue.ExecutionContext) -> str:
            result = await ktx.run_script(
                "busybox",
                f"echo run >> {runs}; while [ ! -e {release} ]; do sleep 0.05; done; echo released",
            )
            return (await result.logs()).strip()

        return worker

    with kontinue_env.running(make()):
        name = kontinue_env.execute("waits-for-file", {})
        eventually(runs.exists, timeout=20, what="the Job to run")
    release.touch()  # the Job finishes while no worker runs
    eventually(
        lambda: any(
            c.get("type") == "Complete"
            for j in kontinue_env.kube.list("jobs.batch")
            for c in (j.get("status") or {}).get("conditions") or []
        ),
        timeout=20,
        what="the Job to complete",
    )
    with kontinue_env.running(make()):
        done = kontinue_env.wait(name, timeout=30)
    assert done.status.result == "released"
    assert runs.read_text() == "run\n"  # one Job, one pod: never a second one
    assert len(kontinue_env.kube.list("jobs.batch")) == 1


def test_job_logs_follow_a_script_while_it_prints(
    kontinue_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    from kontinue.client import Client

    release = tmp_path / "release"
    worker = kontinue.Worker(group="jobs")

    @worker.function("chatty")
    async def chatty(ktx: kontinue.ExecutionContext) -> str:
        script = f"echo first; while [ ! -e {release} ]; do sleep 0.05; done; echo second"
        return (await (await ktx.run_script("busybox", script)).logs()).strip()

    with (
        kontinue_env.running(worker),
        Client.from_kubeconfig(kontinue_env.kubeconfig, namespace=kontinue_env.namespace) as client,
    ):
        name = kontinue_env.execute(chatty, {})
        job = _wait_for_job(kontinue_env)
        seen: list[str] = []
        for line in client.job_logs(job, follow=True):
            seen.append(line)
            if line == "first":
                assert not release.exists()  # streamed while the script still runs
                release.touch()
        done = kontinue_env.wait(name)
    assert seen == ["first", "second"]
    assert done.status.result == "first\nsecond"


def _wait_for_job(env: WorkflowEnvironment) -> str:
    def running() -> list[dict[str, Any]]:
        pods = env.kube.list("pods")
        return [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]

    [first, *_] = eventually(running, timeout=20, what="a pod to start")
    return str(first["metadata"]["labels"]["job-name"])


def _counting_jobs(worker: kontinue.Worker, tmp_path: Path, **options: object) -> str:
    """A workflow of two Jobs: ``good`` always succeeds, ``flaky`` fails its first run; each
    appends to a file per run, so the test sees which ran again."""
    log = tmp_path / "runs"

    def spec(name: str, script: str) -> dict:
        return {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "containers": [
                        {"name": "c", "image": "busybox", "command": ["sh", "-c", script]}
                    ]
                }
            },
        }

    @worker.function("two-jobs", **options)  # type: ignore[arg-type]
    async def two_jobs(ktx: kontinue.ExecutionContext) -> list[bool]:
        good = await ktx.run_job(spec("good", f"echo good >> {log}"))
        flaky = await ktx.run_job(
            spec("flaky", f"echo flaky >> {log}; [ $(grep -c flaky {log}) -ge 2 ]")
        )
        if not (good.succeeded and flaky.succeeded):
            raise kontinue.RetryableError(f"a Job failed: {flaky.message}")
        return [good.succeeded, flaky.succeeded]

    return "two-jobs"


def _runs(tmp_path: Path) -> list[str]:
    return (tmp_path / "runs").read_text().split()


def test_a_failed_job_runs_again_on_an_automatic_retry_with_retry_failed(
    kontinue_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A failed Job was recorded as a done step, so a retry replayed its failure for ever."""
    worker = kontinue.Worker(group="jobs")
    retry = ExecutionRetry(
        retries=1, backoff=timedelta(seconds=5), child_policy=ChildPolicy.RETRY_FAILED
    )
    function = _counting_jobs(worker, tmp_path, retry=retry)
    with kontinue_env.running(worker):
        name = kontinue_env.execute(function, {})
        kontinue_env.wait(name, phases={ExecutionPhase.BACKOFF}, timeout=30)
        kontinue_env.advance(timedelta(seconds=5))
        done = kontinue_env.wait(name, timeout=30)
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status
    assert _runs(tmp_path) == ["good", "flaky", "flaky"]


def test_a_failed_job_runs_again_when_a_rerun_retries_failed_children(
    kontinue_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    worker = kontinue.Worker(group="jobs")
    function = _counting_jobs(worker, tmp_path)
    with kontinue_env.running(worker):
        name = kontinue_env.execute(function, {})
        failed = kontinue_env.wait(name, timeout=30)
        assert failed.status.phase == ExecutionPhase.FAILED, failed.status
        kontinue_env.retry(name, child_policy="RetryFailed")
        done = kontinue_env.wait(name, until=lambda ex: ex.status.reruns > 0, timeout=30)
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status
    assert _runs(tmp_path) == ["good", "flaky", "flaky"]
