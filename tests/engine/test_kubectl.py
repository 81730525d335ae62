"""kubectl 1.20 lists and describes what the engine writes, with useful printer columns."""

from __future__ import annotations

import os
import subprocess

import kontinue
from kontinue.testing import WorkflowEnvironment


def test_kubectl_shows_executions_and_functions(
    kontinue_env: WorkflowEnvironment, kubectl_binary: str
) -> None:
    worker = kontinue.Worker(group="kubectl")

    @worker.function("greet", description="Says hello")
    async def greet(ktx: kontinue.ExecutionContext) -> str:
        return "hi"

    env = {**os.environ, "KUBECONFIG": kontinue_env.kubeconfig}

    def kubectl(*args: str) -> str:
        done = subprocess.run(
            [kubectl_binary, "-n", kontinue_env.namespace, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    with kontinue_env.running(worker):
        name = kontinue_env.execute(greet, {})
        kontinue_env.wait(name)
        executions = kubectl("get", "ex")
        functions = kubectl("get", "functions", "-o", "wide")
        described = kubectl("describe", "execution", name)
    header, row = executions.splitlines()[:2]
    assert header.split() == ["NAME", "FUNCTION", "PHASE", "MESSAGE", "AGE"]
    assert row.split()[:3] == [name, "greet", "Completed"]
    assert "WORKER-GROUP" in functions and "DESCRIPTION" in functions
    assert "greet" in functions and "kubectl" in functions and "Says hello" in functions
    assert "Phase:" in described and "Completed" in described
    assert "Ready" in described  # the conditions
