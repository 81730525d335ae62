"""``kontinue dev --worker``: the dev server runs a worker, and kubectl drives it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .servers import ServerProcess

pytestmark = pytest.mark.devserver  # tests the dev server itself

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(90)
def test_dev_runs_the_example_worker(tmp_path: Path, kubectl_binary: str) -> None:
    server = ServerProcess(tmp_path, "--worker", "examples.hello:worker").start()
    env = {**os.environ, "KUBECONFIG": str(server.kubeconfig)}

    def kubectl(*args: str) -> str:
        done = subprocess.run(
            [kubectl_binary, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    try:
        created = kubectl("create", "-f", "examples/hello-execution.yaml", "-o", "name")
        name = created.strip().split("/")[-1]
        deadline = time.monotonic() + 30
        while True:
            obj = json.loads(kubectl("get", "ex", name, "-o", "json"))
            if obj.get("status", {}).get("phase") == "Completed":
                break
            assert time.monotonic() < deadline, obj.get("status")
            time.sleep(0.2)
        assert obj["status"]["result"].startswith("hello kontinue! (started ")
        table = kubectl("get", "executions")
        assert name in table and "Completed" in table and "hello" in table
        functions = kubectl("get", "functions")
        assert "hello" in functions
    finally:
        server.terminate()


BLOCKING_WORKER = """
import time
from pathlib import Path

import kontinue

worker = kontinue.Worker(group="blocking")
HERE = Path(__file__).parent


@worker.function("blocker")
async def blocker(ktx: kontinue.ExecutionContext) -> str:
    (HERE / "started").touch()
    while not (HERE / "release").exists():  # the mistake: blocking the worker's loop
        time.sleep(0.05)
    return "released"
"""


@pytest.mark.timeout(90)
def test_a_workflow_blocking_its_loop_does_not_stall_the_dev_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server shared the workers' loop: kubectl create took 18 s while a workflow blocked."""
    from kontinue.kube import KubeClient

    code = tmp_path / "code"
    code.mkdir()
    (code / "blocking_worker.py").write_text(BLOCKING_WORKER)
    monkeypatch.setenv("PYTHONPATH", str(code))
    server = ServerProcess(tmp_path / "data", "--worker", "blocking_worker:worker").start()
    try:
        with KubeClient.from_kubeconfig(server.kubeconfig, namespace="default") as client:
            client.create(
                {
                    "apiVersion": "kontinue.cloud/v1alpha1",
                    "kind": "Execution",
                    "metadata": {"name": "stuck"},
                    "spec": {"function": "blocker"},
                }
            )
            deadline = time.monotonic() + 30
            while not (code / "started").exists():
                assert time.monotonic() < deadline, server.output
                time.sleep(0.05)
            # The workflow holds the workers' loop until "release" exists: the server answers.
            client.create(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "while-blocked"}}
            )
            assert client.get("configmaps", "while-blocked")["metadata"]["name"]
            assert not (code / "release").exists()
            (code / "release").touch()
            while (
                client.get("executions.kontinue.cloud", "stuck").get("status", {}).get("phase")
                != "Completed"
            ):
                assert time.monotonic() < deadline + 30
                time.sleep(0.1)
    finally:
        server.terminate()


@pytest.mark.timeout(90)
def test_a_worker_that_stops_stops_the_dev_server_with_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kontinue dev never watched its workers: one that failed at start (its namespace does
    not exist) was gone, and the server went on as if it ran."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "lost_worker.py").write_text(
        "import kontinue\n\n"
        'worker = kontinue.Worker(namespace="no-such-namespace", group="lost")\n\n\n'
        '@worker.function("hello")\n'
        "async def hello(ktx: kontinue.ExecutionContext) -> str:\n"
        '    return "hello"\n'
    )
    monkeypatch.setenv("PYTHONPATH", str(code))
    done = subprocess.run(
        [
            *(sys.executable, "-m", "kontinue.cli", "dev", "--in-memory", "--port", "0"),
            *("--worker", "lost_worker:worker"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no-such-namespace" in done.stderr
    assert "the dev server stopped with it" in done.stderr


@pytest.mark.timeout(60)
def test_a_sigterm_while_starting_stops_kontinue_dev_cleanly(tmp_path: Path) -> None:
    """The signal handlers came after the banner and the web UI's start: a SIGTERM in
    between killed the server (exit -15) instead of stopping it (seen in CI)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "kontinue.cli", "dev", "--data-dir", str(tmp_path), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()  # the server is up; the UI and the rest still start
    assert first.startswith("kontinue dev server ready"), first
    process.terminate()
    output = first + process.communicate(timeout=30)[0]
    assert process.returncode == 0, output
    assert "stopping..." in output
