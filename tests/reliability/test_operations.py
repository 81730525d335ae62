"""Operations across processes: sharded replicas with one killed, a function's concurrency
limit held across two replicas, and a Job that outlives a ``kill -9`` of its worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kontinue.testing import eventually

from . import ops_workflows
from .harness import ROOT, Cluster

EXECUTIONS = "executions.kontinue.cloud"
SUSPENSIONS = "suspensions.kontinue.cloud"
SHARD = "kontinue.cloud/shard"


@contextmanager
def replicas(
    cluster: Cluster, report: Path, identities: list[str], *, sharding: bool
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Worker processes of group ``ops`` (``tests.reliability.ops_workflows``)."""
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for identity in identities:
            processes[identity] = start(cluster, report, identity, sharding=sharding)
        yield processes
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()


def start(
    cluster: Cluster, report: Path, identity: str, *, sharding: bool
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        ops_workflows.REPORT_ENV: str(report),
        "KONTINUE_OPS_IDENTITY": identity,
        "KONTINUE_OPS_SHARDING": "1" if sharding else "0",
    }
    command = [
        sys.executable,
        "-m",
        "kontinue.cli",
        "worker",
        "tests.reliability.ops_workflows:worker",
    ]
    command += ["--kubeconfig", str(cluster.worker_kubeconfig), "-n", cluster.namespace]
    log = (cluster.directory / f"ops-{identity}.log").open("ab")
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)


def create(
    cluster: Cluster, name: str, function: str, arguments: dict[str, Any] | None = None
) -> None:
    cluster.kube.create(
        {
            "apiVersion": "kontinue.cloud/v1alpha1",
            "kind": "Execution",
            "metadata": {
                "name": name,
                "labels": {
                    "kontinue.cloud/function": function,
                    "kontinue.cloud/worker-group": "ops",
                },
            },
            "spec": {"function": function, "arguments": arguments or {}},
        }
    )


def executions(cluster: Cluster) -> dict[str, dict[str, Any]]:
    return {e["metadata"]["name"]: e for e in cluster.kube.list(EXECUTIONS)}


def shards(cluster: Cluster, *, held: bool = False) -> list[dict[str, Any]]:
    """The shard Leases of the ``ops`` group (only those with a holder when ``held``)."""
    leases = cluster.kube.list(
        "leases.coordination.k8s.io", label_selector="kontinue.cloud/shard-group=ops"
    )
    return [
        lease for lease in leases if not held or (lease.get("spec") or {}).get("holderIdentity")
    ]


def phases_are(cluster: Cluster, names: list[str], phase: str) -> Callable[[], bool]:
    def check() -> bool:
        current = executions(cluster)
        return all((current.get(n, {}).get("status") or {}).get("phase") == phase for n in names)

    return check


@pytest.mark.timeout(120)
def test_shards_take_over_the_work_of_a_killed_replica(
    cluster: Cluster, figure: Callable[[str], None], tmp_path: Path
) -> None:
    names = [f"hold-{n}" for n in range(30)]
    with replicas(cluster, tmp_path / "report", ["a", "b", "c"], sharding=True) as running:
        eventually(
            lambda: len(shards(cluster, held=True)) == 3, timeout=60, what="three live shards"
        )
        for name in names:
            create(cluster, name, "hold")
        eventually(phases_are(cluster, names, "Suspended"), timeout=60, what="all suspended")
        owners = {n: e["metadata"]["labels"][SHARD] for n, e in executions(cluster).items()}
        assert set(owners.values()) == {"a", "b", "c"}
        victim = owners["hold-0"]
        theirs = [n for n in names if owners[n] == victim]
        killed = time.monotonic()
        os.kill(running[victim].pid, signal.SIGKILL)

        def taken_over() -> bool:
            current = executions(cluster)
            return all(
                current[n]["metadata"]["labels"].get(SHARD) not in (victim, None)
                and (current[n].get("status") or {}).get("resumptions", 0) >= 1
                for n in theirs
            )

        eventually(taken_over, timeout=60, what="the killed shard's work taken over")
        failover = time.monotonic() - killed
        for suspension in cluster.kube.list(SUSPENSIONS):
            if (suspension.get("status") or {}).get("phase", "Waiting") == "Waiting":
                cluster.kube.patch(
                    SUSPENSIONS,
                    [{"op": "add", "path": "/spec/resume", "value": {"data": None}}],
                    name=suspension["metadata"]["name"],
                    type="json",
                )
        eventually(phases_are(cluster, names, "Completed"), timeout=60, what="all completed")
        final = executions(cluster)
    figure(
        f"killed shard {victim} with {len(theirs)} of {len(names)} executions; the others "
        f"took them over {failover:.1f}s later (shard expiry 3s)"
    )
    for name in names:
        result = final[name]["status"]["result"]
        assert result == final[name]["metadata"]["labels"][SHARD]
        assert (result != victim) if name in theirs else (result == owners[name])


@pytest.mark.timeout(120)
def test_a_function_limit_holds_across_two_replicas(
    cluster: Cluster, figure: Callable[[str], None], tmp_path: Path
) -> None:
    report = tmp_path / "report"
    names = [f"limited-{n}" for n in range(10)]
    with replicas(cluster, report, ["x", "y"], sharding=True):
        eventually(lambda: len(shards(cluster)) == 2, timeout=60, what="two shards")
        for name in names:
            create(cluster, name, "limited")
        eventually(phases_are(cluster, names, "Completed"), timeout=90, what="all completed")
    events = []
    pids = set()
    for line in report.read_text().splitlines():
        kind, _, stamp, pid = line.split()
        events.append((float(stamp), 1 if kind == "start" else -1))
        pids.add(pid)
    running = peak = 0
    for _, change in sorted(events, key=lambda e: (e[0], e[1])):
        running += change
        peak = max(peak, running)
    figure(f"10 executions with limit 2 on 2 replicas (pids {sorted(pids)}): peak {peak}")
    assert len(events) == 20
    assert peak <= 2
    assert len(pids) == 2  # both replicas ran some: the limit held across processes


@pytest.mark.timeout(120)
def test_a_job_outlives_a_kill_of_its_worker(
    cluster: Cluster, figure: Callable[[str], None], tmp_path: Path
) -> None:
    ran, release = tmp_path / "ran", tmp_path / "release"
    arguments = {"ran": str(ran), "release": str(release)}
    with replicas(cluster, tmp_path / "report", ["first"], sharding=False) as running:
        create(cluster, "job-0", "job", arguments)
        eventually(ran.exists, timeout=60, what="the script started")
        os.kill(running["first"].pid, signal.SIGKILL)
    release.touch()  # the Job finishes while no worker runs
    with replicas(cluster, tmp_path / "report", ["second"], sharding=False):
        eventually(phases_are(cluster, ["job-0"], "Completed"), timeout=60, what="completed")
    result = executions(cluster)["job-0"]["status"]["result"]
    jobs = cluster.kube.list("jobs.batch")
    figure(f"Job across a worker kill: {len(jobs)} Job, script ran {ran.read_text().count('ran')}x")
    assert result == "released"
    assert ran.read_text() == "ran\n"  # never a second Job or pod
    assert len(jobs) == 1
