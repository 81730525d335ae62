"""Client.get_job and Client.job_logs on a Job of two pods, against a real pod runner."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import V1Job

from kontinue.client import Client
from kontinue.kube import BadRequest, NotFound
from kontinue.kube.logs import parse_log_line
from kontinue.testing import WorkflowEnvironment


def _job(name: str, script: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {"name": "main", "image": "busybox", "command": ["sh", "-c", script]}
                    ],
                }
            },
            **spec,
        },
    }


def _wait_complete(env: WorkflowEnvironment, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        job = env.admin.get("jobs.batch", name)
        conditions = (job.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Complete" and c.get("status") == "True" for c in conditions):
            return
        assert time.monotonic() < deadline, job.get("status")
        time.sleep(0.05)


@pytest.fixture
def client(kontinue_env: WorkflowEnvironment) -> Any:
    with Client.from_kubeconfig(kontinue_env.kubeconfig, namespace=kontinue_env.namespace) as c:
        yield c


def test_job_logs_read_the_first_pod_and_keep_empty_lines(
    kontinue_env: WorkflowEnvironment, client: Client, tmp_path: Path
) -> None:
    counter, release = tmp_path / "runs", tmp_path / "release"
    # Each pod numbers itself; the second starts once the first ends, which waits until the
    # test has moved the clock (a server on the test clock stamps both pods alike otherwise)
    # and a second has passed (creation times have a resolution of one second).
    script = (
        f"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; "
        "echo pod $n; echo; echo '  '; echo end; "
        f"if [ $n = 1 ]; then while [ ! -e {release} ]; do sleep 0.05; done; sleep 1; fi"
    )
    kontinue_env.admin.create(_job("two-pods", script, completions=2, parallelism=1))
    deadline = time.monotonic() + 30
    while not (counter.exists() and counter.read_text().strip() == "1"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    kontinue_env.advance(5)
    release.touch()
    _wait_complete(kontinue_env, "two-pods")
    assert list(client.job_logs("two-pods")) == ["pod 1", "", "  ", "end"]
    stamped = list(client.job_logs("two-pods", timestamps=True))
    assert [line.partition(" ")[2] for line in stamped] == ["pod 1", "", "  ", "end"]
    assert all(parse_log_line("p", "c", line.encode()).timestamp for line in stamped)
    assert list(client.job_logs("two-pods", since_seconds=3600)) == ["pod 1", "", "  ", "end"]
    first = parse_log_line("p", "c", stamped[0].encode()).timestamp
    assert first is not None
    everything = list(client.job_logs("two-pods", since_time=first - timedelta(seconds=1)))
    assert everything == ["pod 1", "", "  ", "end"]
    later = first + timedelta(days=1)
    assert list(client.job_logs("two-pods", since_time=later)) == []
    assert list(client.job_logs("two-pods", tail_lines=1)) == ["end"]
    with pytest.raises(BadRequest, match="previous terminated container"):
        list(client.job_logs("two-pods", previous=True))  # it never restarted
    with pytest.raises(ValueError, match="since_seconds and since_time"):
        list(client.job_logs("two-pods", since_seconds=5, since_time=later))


def test_get_job_as_a_typed_job(kontinue_env: WorkflowEnvironment, client: Client) -> None:
    kontinue_env.admin.create(_job("typed", "echo hi"))
    job = client.get_job("typed", as_type=V1Job)
    assert isinstance(job, V1Job)
    assert job.metadata is not None and job.metadata.name == "typed"
    assert job.spec is not None and job.spec.backoff_limit == 0
    assert client.get_job("typed")["spec"]["backoffLimit"] == 0
    with pytest.raises(NotFound):
        client.get_job("missing", as_type=V1Job)
