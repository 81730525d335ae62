"""``kontinue dev --worker``: the dev server runs a worker, and kubectl drives it."""

from __future__ import annotations

import json
import os
import subprocess
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
