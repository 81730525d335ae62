"""``kill -9`` the API server while 50 executions are in flight: the worker rides it out.

The dev server is killed while executions sleep, wait for children and for resumes, and is
started again on the same data directory and port, so the worker's kubeconfig stays valid.
The worker process is left alone: it must reconnect by itself and finish everything, with the
same guarantees as across worker kills (a store callable may run again only when its step
write was lost: the server died after it ran, or it ran while the server was down). The
worker runs once with a lease shorter than the outage (it steps down and leads again) and once
with the default 15 s lease (it stays leader throughout).

A killed dev server restarts on its port at once (it binds with SO_REUSEADDR, so the dead
server's connections in TIME_WAIT do not block it): the first test checks that.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable

import pytest

from .harness import (
    SUSPENSIONS,
    Cluster,
    check_run,
    create_execution,
    drive,
    list_all,
    mark,
    plan,
    read_effects,
    resume_waiting,
    wait_for_leader,
)

COUNT = 50
_FAILED_RESUME = re.compile(r"ERROR kontinue\.worker kontinue-(?:wake|resume):\S+ failed")
OUTAGE = 2.0
"""Seconds between the kill and the restart (the restart itself takes a few more)."""


@pytest.mark.timeout(60)
def test_dev_server_restarts_on_its_port_after_kill_9(cluster: Cluster) -> None:
    port = cluster.server.port
    create_execution(cluster.kube, plan(1, random.Random(1))[0])  # a connection to the port
    cluster.server.kill()
    cluster.kube.close()  # the client ends its side: the server's side goes to TIME_WAIT
    time.sleep(OUTAGE)
    cluster.server.start(port)


@pytest.mark.timeout(120)
@pytest.mark.reuse_address
@pytest.mark.parametrize(
    ("lease", "renew"),
    [(3.0, 1.0), (15.0, 5.0)],
    ids=["lease-shorter-than-outage", "lease-outlasts-outage"],
)
def test_work_survives_a_server_crash(
    cluster: Cluster, figure: Callable[[str], None], lease: float, renew: float
) -> None:
    planned = plan(COUNT, random.Random(11))
    worker = cluster.worker(lease_duration=lease, renew_period=renew)
    wait_for_leader(cluster.kube, {worker.pid})
    for root in planned:
        create_execution(cluster.kube, root)
    in_flight = _wait_for_sleeps(cluster, 8)
    port = cluster.server.port

    mark(cluster.effects, "outage")
    killed = time.monotonic()
    cluster.server.kill()
    time.sleep(OUTAGE)
    cluster.server.start(port, reuse_address=True)
    restarted = time.monotonic() - killed
    mark(cluster.effects, "restored")
    assert cluster.server.port == port
    try:
        drive(cluster.kube, [p.name for p in planned], timeout=90.0)
    finally:
        log = worker.log.read_text()
        figure(
            f"lease {lease}s/{renew}s: killed the server with {in_flight} sleeps waiting, "
            f"serving again {restarted:.1f}s later, roots ended (or gave up) "
            f"{time.monotonic() - killed:.1f}s after the kill; worker log: "
            f"{log.count(' WARNING ')} warnings, {log.count(' ERROR ')} errors "
            f"({len(_FAILED_RESUME.findall(log))} of them failed wake-ups/resumes), "
            f"{log.count('lost leadership')} leadership losses"
        )
    executions, suspensions = list_all(cluster.kube)
    report = check_run(
        planned, executions, suspensions, read_effects(cluster.effects), sleep_slack=20.0
    )
    figure(report.summary())
    assert worker.running, "the worker died with the server"
    assert report.pids == {worker.pid}
    assert not report.problems, "\n".join(report.problems[:40])


def _wait_for_sleeps(cluster: Cluster, count: int, timeout: float = 20.0) -> int:
    """Resume suspensions until ``count`` sleeps are waiting; returns how many are."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resume_waiting(cluster.kube)
        waiting = [
            s
            for s in cluster.kube.list(SUSPENSIONS)
            if s["spec"].get("kind") == "Sleep"
            and (s.get("status") or {}).get("phase", "Waiting") == "Waiting"
        ]
        if len(waiting) >= count:
            return len(waiting)
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} sleeps waiting within {timeout}s")
