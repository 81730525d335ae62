"""The control run: the 200 executions of the crash tests with nothing killed.

Everything must complete with its result, and with no crash to excuse one, no side effect may
run twice. When this fails, the crash tests fail for reasons that have nothing to do with
crashes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest

from .harness import (
    Cluster,
    check_run,
    create_execution,
    drive,
    list_all,
    plan,
    read_effects,
    wait_for_leader,
)

COUNT = 200


@pytest.mark.timeout(90)
def test_all_work_completes_exactly_once_without_crashes(
    cluster: Cluster, figure: Callable[[str], None]
) -> None:
    planned = plan(COUNT, random.Random(3))
    worker = cluster.worker()
    wait_for_leader(cluster.kube, {worker.pid})
    started = time.monotonic()
    for root in planned:
        create_execution(cluster.kube, root)
    drive(cluster.kube, [p.name for p in planned], timeout=60.0)
    elapsed = time.monotonic() - started
    executions, suspensions = list_all(cluster.kube)
    report = check_run(
        planned, executions, suspensions, read_effects(cluster.effects), sleep_slack=10.0
    )
    figure(f"{COUNT} roots created and done in {elapsed:.1f}s")
    figure(report.summary())
    assert not report.recalls, "a store made another call without any crash"
    assert not report.problems, "\n".join(report.problems[:40])
