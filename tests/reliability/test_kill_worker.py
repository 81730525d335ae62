"""``kill -9`` the worker again and again while 200 executions run: nothing is lost or doubled.

One worker process runs at a time. A chaos thread kills it 1-3 s after it became leader and
starts a new one at once (which takes over when the dead worker's 3 s lease runs out), 4 to 6
times, while the test creates the executions over the first seconds and resumes manual
suspensions as they appear. Once every execution completed, the side-effect log must show
every store callable and child body run exactly once per attempt, except across a kill (the
window between a callable's return and the write of its step), and no sleep may have ended
early or restarted from zero.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from kontinue.kube import KubeClient, KubeError

from .harness import (
    EXECUTIONS,
    TERMINAL,
    Cluster,
    background,
    check_run,
    client,
    create_execution,
    drive,
    list_all,
    phase,
    plan,
    read_effects,
    resume_waiting,
    wait_for_leader,
)

COUNT = 200
CREATE_OVER = 20.0
"""Seconds over which the executions are created, so every kill finds work in flight."""
SLEEP_SLACK = 20.0
"""How late a sleep may be resumed: it can fall due while no worker leads, and under load a
new worker takes up to ~10 s (start-up, lease expiry, replay) to resume it."""


@dataclass
class Kill:
    pid: int
    pending: int
    """Root executions not ended when the worker was killed."""
    handover: float
    """Seconds from the kill until the next worker held the lease."""


@pytest.mark.timeout(170)
def test_work_survives_repeated_worker_kills(
    cluster: Cluster, figure: Callable[[str], None]
) -> None:
    seed = int(os.environ.get("KONTINUE_RELIABILITY_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    target = rng.randint(4, 6)
    planned = plan(COUNT, rng)
    roots = [p.name for p in planned]
    first = cluster.worker()
    wait_for_leader(cluster.kube, {first.pid})
    kills: list[Kill] = []

    def chaos(stop: threading.Event) -> None:
        kube = client(cluster.server.kubeconfig, cluster.namespace)
        current = first
        try:
            while len(kills) < target and not stop.wait(rng.uniform(1.0, 3.0)):
                killed, victim = time.monotonic(), current
                victim.kill()
                current = cluster.worker()
                pending = _pending(kube, roots)
                wait_for_leader(kube, {current.pid}, timeout=30.0, interval=0.02)
                kills.append(Kill(victim.pid, pending, time.monotonic() - killed))
        finally:
            kube.close()

    started = time.monotonic()
    with background(chaos) as thread:
        for i, root in enumerate(planned):
            time.sleep(max(0.0, started + CREATE_OVER * i / COUNT - time.monotonic()))
            create_execution(cluster.kube, root)
            if i % 10 == 0:
                _resume(cluster.kube)
        while thread.is_alive() and time.monotonic() - started < 120:
            _resume(cluster.kube)
            time.sleep(0.2)
    try:
        drive(cluster.kube, roots, timeout=90.0)
    finally:
        handovers = ", ".join(f"{k.handover:.1f}s" for k in kills)
        figure(
            f"seed {seed}: {len(kills)} kills (wanted {target}) with "
            f"{[k.pending for k in kills]} root executions pending; handovers {handovers}; "
            f"ran {time.monotonic() - started:.1f}s from the first creation"
        )
    executions, suspensions = list_all(cluster.kube)
    report = check_run(
        planned, executions, suspensions, read_effects(cluster.effects), sleep_slack=SLEEP_SLACK
    )
    figure(report.summary())
    assert len(kills) == target, "the chaos thread stopped early"
    assert all(k.pending > 0 for k in kills[:4]), "a kill found no work in flight"
    assert report.pids <= {w.pid for w in cluster.workers}
    assert not report.problems, "\n".join(report.problems[:40])


def _resume(kube: KubeClient) -> None:
    with contextlib.suppress(KubeError):
        resume_waiting(kube)


def _pending(kube: KubeClient, roots: list[str]) -> int:
    """How many of ``roots`` have not ended (-1 when the API did not answer)."""
    try:
        items = kube.list(EXECUTIONS)
    except KubeError:
        return -1
    phases = {item["metadata"]["name"]: phase(item) for item in items}
    return sum(1 for root in roots if phases.get(root, "Pending") not in TERMINAL)
