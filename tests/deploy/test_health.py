"""The worker's probes: /healthz says whether its event loop answers, /readyz whether its caches
are filled, on the same address as /metrics (what the chart's liveness and readiness probes and
the ServiceMonitor use)."""

from __future__ import annotations

import asyncio
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter

import kontinue
from kontinue.testing import WorkflowEnvironment
from kontinue.worker import WorkerSettings
from kontinue.worker._health import HealthServer


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running on its own thread, as a worker's does beside the server."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_readiness_follows_the_flag_and_liveness_the_event_loop(
    loop: asyncio.AbstractEventLoop,
) -> None:
    registry = CollectorRegistry()
    Counter("kontinue_probe_test", "a series to find", registry=registry).inc()
    synced = threading.Event()
    server = HealthServer(
        "127.0.0.1", 0, registry=registry, loop=loop, ready=synced.is_set, live_timeout=0.2
    )
    server.start()
    try:
        assert get(server.port, "/readyz") == (503, "caches not synced yet\n")
        synced.set()
        assert get(server.port, "/readyz") == (200, "ok\n")
        assert get(server.port, "/healthz") == (200, "ok\n")
        status, body = get(server.port, "/metrics")
        assert status == 200 and "kontinue_probe_test_total 1.0" in body
        assert get(server.port, "/nothing")[0] == 404

        # a callback that does not return holds the loop, as a blocking call in a workflow does
        release = threading.Event()
        loop.call_soon_threadsafe(release.wait, 10)
        try:
            status, body = get(server.port, "/healthz")
            assert (status, body) == (503, "event loop not answering in 0.2 s\n")
            assert get(server.port, "/readyz")[0] == 200  # readiness does not need the loop
        finally:
            release.set()
        assert get(server.port, "/healthz") == (200, "ok\n")
    finally:
        server.stop()


def test_a_running_worker_serves_its_probes_beside_its_metrics(
    kontinue_env: WorkflowEnvironment,
) -> None:
    worker = kontinue.Worker(group="probes", settings=WorkerSettings(metrics_address="127.0.0.1:0"))

    @worker.function("one")
    async def one(ktx: kontinue.ExecutionContext) -> int:
        return 1

    with kontinue_env.running(worker) as running:
        assert kontinue_env.wait(kontinue_env.execute("one", {})).status.result == 1
        port = running.worker.engine.metrics.port
        assert port is not None
        assert get(port, "/readyz") == (200, "ok\n")
        assert get(port, "/healthz") == (200, "ok\n")
        status, body = get(port, "/metrics")
        assert status == 200
        assert 'kontinue_executions_completed_total{function="one"' in body
