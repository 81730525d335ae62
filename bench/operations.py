"""Operations figures: what an idle leader costs the API server, and how fast shards fail over.

1. ``idle_leader``: a worker process (the leader of its group) with N finished executions in
   its namespace; the API requests the server counts (``GET /metrics``) over an idle window,
   per minute, for N = 100 and N = 1,000. Watches and Lease renewals, not polling: the figure
   must not grow with N.
2. ``shard_failover``: three sharded worker processes share 60 waiting executions; one is
   killed with SIGKILL; the time until every execution it owned is assigned to a live shard and
   replayed there (its ``status.resumptions`` went up), against the shard expiry in use.

Each part uses its own file-backed dev server process. Prints ``name: value unit`` lines.

    .venv/bin/python bench/operations.py [--idle-seconds 60] [--shard-expire 5]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from _server import dev_server

from kontinue.kube import KubeClient, KubeSettings

ROOT = Path(__file__).resolve().parents[1]
UNLIMITED = KubeSettings(qps=0, burst=1)  # the bench's own reads must not be throttled
EXECUTIONS = "executions.kontinue.cloud"
_LINE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$")


def emit(name: str, value: float, unit: str) -> None:
    print(f"{name}: {value:.2f} {unit}", flush=True)


def request_total(client: KubeClient) -> float:
    """Requests the server counted so far, minus the scrapes of /metrics themselves."""
    text = client.raw("GET", "/metrics").body.decode()
    total = 0.0
    for line in text.splitlines():
        match = _LINE.match(line)
        if match and 'resource=""' not in match["labels"]:
            total += float(match["value"])
    return total


def start_worker(kubeconfig: str, namespace: str, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kontinue.cli",
            "worker",
            "bench._ops_worker:worker",
            "--kubeconfig",
            kubeconfig,
            "-n",
            namespace,
            "--log-level",
            "WARNING",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def execution(name: str, function: str) -> dict[str, Any]:
    return {
        "apiVersion": "kontinue.cloud/v1alpha1",
        "kind": "Execution",
        "metadata": {
            "name": name,
            "labels": {"kontinue.cloud/function": function, "kontinue.cloud/worker-group": "ops"},
        },
        "spec": {"function": function},
    }


def wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def idle_leader(kubeconfig: str, executions: int, window: float) -> float:
    """Requests per minute the server sees from an idle leader with ``executions`` done."""
    namespace = f"idle-{uuid.uuid4().hex[:6]}"
    with KubeClient.from_kubeconfig(kubeconfig) as admin:
        admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    client = KubeClient.from_kubeconfig(kubeconfig, namespace=namespace, settings=UNLIMITED)
    worker = start_worker(kubeconfig, namespace)
    try:
        for n in range(executions):
            client.create(execution(f"done-{n}", "noop"))

        def finished() -> bool:
            items = client.list(EXECUTIONS)
            return len(items) == executions and all(
                (i.get("status") or {}).get("phase") == "Completed" for i in items
            )

        wait_for(finished, 300, f"{executions} executions did not finish")
        time.sleep(3)  # let the last writes settle
        before = request_total(client)
        time.sleep(window)
        after = request_total(client)
        return (after - before - 1) * 60.0 / window  # minus our own second scrape
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        client.close()


def shard_failover(kubeconfig: str, expire: float, count: int = 60) -> tuple[float, int]:
    """Seconds from killing a shard until all its executions resumed elsewhere."""
    namespace = f"shards-{uuid.uuid4().hex[:6]}"
    with KubeClient.from_kubeconfig(kubeconfig) as admin:
        admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    client = KubeClient.from_kubeconfig(kubeconfig, namespace=namespace, settings=UNLIMITED)
    renew = max(0.2, expire / 4)
    workers = {
        identity: start_worker(
            kubeconfig,
            namespace,
            OPS_IDENTITY=identity,
            OPS_SHARDING="1",
            OPS_SHARD_RENEW=str(renew),
            OPS_SHARD_EXPIRE=str(expire),
            OPS_RENEW=str(renew),
            OPS_LEASE=str(expire),
        )
        for identity in ("shard-a", "shard-b", "shard-c")
    }
    try:

        def live_shards() -> bool:
            leases = client.list(
                "leases.coordination.k8s.io", label_selector="kontinue.cloud/shard-group=ops"
            )
            return (
                sum(1 for lease in leases if (lease.get("spec") or {}).get("holderIdentity")) == 3
            )

        wait_for(live_shards, 60, "the three shards did not start")
        for n in range(count):
            client.create(execution(f"hold-{n}", "hold"))

        def suspended() -> list[dict[str, Any]] | None:
            items = client.list(EXECUTIONS)
            ready = len(items) == count and all(
                (i.get("status") or {}).get("phase") == "Suspended" for i in items
            )
            return items if ready else None

        items = wait_for(suspended, 120, "executions did not all suspend")
        owners = {
            i["metadata"]["name"]: i["metadata"]["labels"]["kontinue.cloud/shard"] for i in items
        }
        victim = owners["hold-0"]
        theirs = [name for name, owner in owners.items() if owner == victim]
        killed = time.monotonic()
        workers[victim].kill()

        def moved() -> bool:
            current = {i["metadata"]["name"]: i for i in client.list(EXECUTIONS)}
            for name in theirs:
                obj = current[name]
                shard = obj["metadata"]["labels"].get("kontinue.cloud/shard")
                resumed = (obj.get("status") or {}).get("resumptions", 0) >= 1
                if shard == victim or not resumed:
                    return False
            return True

        wait_for(moved, expire * 4 + 60, "the killed shard's executions were not taken over")
        return time.monotonic() - killed, len(theirs)
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--shard-expire", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true", help="short windows, fewer executions")
    args = parser.parse_args()
    window = 15.0 if args.quick else args.idle_seconds
    with dev_server() as server:
        for count in (100, 1000) if not args.quick else (10, 100):
            rate = idle_leader(server.kubeconfig, count, window)
            emit(f"idle_leader_requests_{count}_finished", rate, "requests/min")
    with dev_server() as server:
        seconds, moved = shard_failover(server.kubeconfig, args.shard_expire)
        emit("shard_failover", seconds, "s")
        emit("shard_failover_expiry_setting", args.shard_expire, "s")
        emit("shard_failover_executions_moved", moved, "executions")


if __name__ == "__main__":
    main()
