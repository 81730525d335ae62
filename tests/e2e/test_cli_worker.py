"""``kontinue worker MODULE:OBJECT`` as users run it: a process beside the API server."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import typer
import yaml

from kontinue.kube import KubeClient
from kontinue.testing import eventually

from .servers import ServerProcess

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_bad_target_is_a_clear_error() -> None:
    for target, message in [
        ("examples.hello", "is not MODULE:OBJECT"),
        ("examples.nope:worker", "cannot import 'examples.nope'"),
        ("examples.hello:missing", "has no attribute 'missing'"),
        ("examples.hello:hello", "is a function, not a kontinue.Worker"),
    ]:
        done = subprocess.run(
            [sys.executable, "-m", "kontinue.cli", "worker", target],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.timeout(90)
def test_the_worker_command_runs_executions_with_json_logs_and_metrics(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server").start()
    port = _free_port()
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kontinue.cli",
            "worker",
            "examples.hello:worker",
            "--kubeconfig",
            str(server.kubeconfig),
            "-n",
            "default",
            "--log-format",
            "json",
            "--metrics-address",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with KubeClient.from_kubeconfig(server.kubeconfig, namespace="default") as client:
            body = yaml.safe_load((ROOT / "examples" / "hello-execution.yaml").read_text())
            name = client.create(body)["metadata"]["name"]
            deadline = time.monotonic() + 30
            while True:
                obj = client.get("executions.kontinue.cloud", name)
                if (obj.get("status") or {}).get("phase") == "Completed":
                    break
                assert worker.poll() is None, worker.communicate()
                assert time.monotonic() < deadline, obj.get("status")
                time.sleep(0.1)
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        labels = 'function="hello",namespace="default",result="Completed",worker="examples"'
        assert f"kontinue_executions_completed_total{{{labels}}} 1.0".encode() in metrics
    finally:
        worker.terminate()
        out, err = worker.communicate(timeout=30)
        server.terminate()
    assert worker.returncode == 0, err
    # --log-format json: every line is a JSON record (the banner too), on stderr
    assert out == ""
    records = [json.loads(line) for line in err.splitlines()]
    assert any(r["message"] == "worker group 'examples': hello" for r in records)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"]) for r in records)
    greeting = [r for r in records if r["message"] == "greeting kontinue"]
    assert greeting and greeting[0]["execution"] == name and greeting[0]["attempt"] == 1
    assert any("acquired leadership" in r["message"] for r in records)


def test_metrics_addresses_are_checked() -> None:
    from kontinue.cli.worker import DEFAULT_METRICS_ADDRESS, _metrics_address

    assert DEFAULT_METRICS_ADDRESS == "127.0.0.1:9090"  # documented in the README
    assert _metrics_address(DEFAULT_METRICS_ADDRESS) == DEFAULT_METRICS_ADDRESS
    assert _metrics_address("off") is None
    assert _metrics_address("0.0.0.0:9100") == "0.0.0.0:9100"
    with pytest.raises(typer.Exit):
        _metrics_address("9100")


def test_group_and_sharding_are_options_of_the_worker_command(tmp_path: Path) -> None:
    """The Helm chart's worker.group and worker.sharding: a worker runs as another group (its
    Functions say so) and holds a shard Lease of that group."""
    server = ServerProcess(tmp_path / "server").start()
    command = [sys.executable, "-m", "kontinue.cli", "worker", "examples.hello:worker"]
    command += ["--kubeconfig", str(server.kubeconfig), "-n", "default"]
    refused = subprocess.run([*command, "--group", "Not_A_Group"], capture_output=True, text=True)
    assert refused.returncode == 2
    assert "--group 'Not_A_Group' is not a worker group name" in refused.stderr
    worker = subprocess.Popen(
        [*command, "--group", "renamed", "--sharding", "--metrics-address", "off"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with KubeClient.from_kubeconfig(server.kubeconfig, namespace="default") as client:

            def started() -> bool:
                assert worker.poll() is None, worker.communicate()
                functions = client.list("functions.kontinue.cloud")
                shards = client.list(
                    "leases.coordination.k8s.io",
                    label_selector="kontinue.cloud/shard-group=renamed",
                )
                return bool(shards) and [f["spec"]["workerGroup"] for f in functions] == ["renamed"]

            eventually(started, timeout=30, what="the renamed, sharded worker to start")
    finally:
        worker.terminate()
        worker.communicate(timeout=30)
        server.terminate()
    assert worker.returncode == 0
