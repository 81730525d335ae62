"""The worker's Prometheus metrics (SPEC §4), on their own registry per worker.

The names and labels of Go kontinue's: ``kontinue_executions_running`` (runs in this worker's
memory), ``kontinue_execution_latency_seconds`` (from creation to the end),
``kontinue_executions_completed_total`` (ended executions) and ``kontinue_execution_states``
(executions of the worker's group by phase, from the watch cache). Every series carries
``namespace`` and ``worker`` (the worker group); per-execution ones ``function``, and ended
ones ``result`` (Completed, Failed, Canceled or Skipped). Served on
``settings.metrics_address`` when set (``kontinue worker`` serves 127.0.0.1:9090 by default),
with the liveness and readiness probes ``/healthz`` and ``/readyz`` (:mod:`._health`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter as Tally
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from kontinue.api import ExecutionPhase, labels
from kontinue.clock import Clock
from kontinue.errors import KontinueError

from ._health import HealthServer
from .settings import WorkerSettings

if TYPE_CHECKING:
    from ._runs import Run

__all__ = ["MetricsHost", "MetricsUnavailable", "WorkerMetrics"]

_log = logging.getLogger("kontinue.worker")


class MetricsUnavailable(KontinueError):
    """The metrics endpoint cannot listen on its address (taken, or not this machine's)."""


JSON = dict[str, Any]


class MetricsHost(Protocol):
    """What the metrics read from the worker."""

    @property
    def namespace(self) -> str: ...
    @property
    def group(self) -> str: ...
    @property
    def settings(self) -> WorkerSettings: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def ready(self) -> asyncio.Event:
        """Set once the caches are filled (``/readyz``)."""
        ...


class WorkerMetrics:
    """Counts what the engine does; cheap enough to update on every event."""

    def __init__(self, engine: MetricsHost) -> None:
        self._engine = engine
        self.registry = CollectorRegistry(auto_describe=True)
        where = ["namespace", "worker"]
        self.running = Gauge(
            "kontinue_executions_running",
            "Executions with a run in this worker's memory",
            where,
            registry=self.registry,
        )
        self.latency = Histogram(
            "kontinue_execution_latency_seconds",
            "Seconds from an execution's creation to its end",
            ["function", *where, "result"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
            registry=self.registry,
        )
        self.completed_total = Counter(
            "kontinue_executions_completed",
            "Executions that reached a terminal phase, by function and result",
            ["function", *where, "result"],
            registry=self.registry,
        )
        self.states = Gauge(
            "kontinue_execution_states",
            "Executions of this worker group by function and phase (from the watch cache)",
            ["function", *where, "phase"],
            registry=self.registry,
        )
        self.events_dropped = Counter(
            "kontinue_events_dropped",
            "Kubernetes Events not recorded because too many were waiting to be written",
            where,
            registry=self.registry,
        )
        self._where = (engine.namespace, engine.group)
        self._phases: dict[str, tuple[str, str]] = {}
        self._tally: Tally[tuple[str, str]] = Tally()
        self._server: HealthServer | None = None
        self._running: set[str] = set()
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *values: str) -> Any:
        """``metric.labels(*values)``, cached: the library's lookup is slow on a hot path."""
        key = (id(metric), *values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def start(self) -> None:
        """Serve the metrics and the probes (:mod:`._health`) on ``settings.metrics_address``;
        call on the worker's event loop, before its caches are filled (``/readyz`` says when)."""
        address = self._engine.settings.metrics_address
        if not address:
            return
        host, _, port = address.rpartition(":")
        try:
            self._server = HealthServer(
                host.strip("[]") or "127.0.0.1",
                int(port),
                registry=self.registry,
                loop=asyncio.get_running_loop(),
                ready=self._engine.ready.is_set,
            )
        except OSError as error:
            why = error.strerror or str(error)
            if not self._engine.settings.metrics_optional:
                raise MetricsUnavailable(
                    f"cannot serve metrics on {address}: {why}; choose another HOST:PORT "
                    "(--metrics-address) or turn them off (--metrics-address off)"
                ) from None
            _log.warning(
                "metrics are off: %s is taken (%s); give another one with --metrics-address",
                address,
                why,
            )
            return
        self._server.start()

    @property
    def port(self) -> int | None:
        """The port metrics and probes are served on (None: not served)."""
        return None if self._server is None else self._server.port

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def text(self) -> str:
        """The metrics in the Prometheus text format (what the endpoint serves)."""
        return generate_latest(self.registry).decode()

    def event_dropped(self) -> None:
        self._child(self.events_dropped, *self._where).inc()

    def run_started(self, run: Run) -> None:
        self._running.add(run.name)
        self._child(self.running, *self._where).set(len(self._running))

    def run_ended(self, run: Run) -> None:
        self._running.discard(run.name)
        self._child(self.running, *self._where).set(len(self._running))

    def completed(self, run: Run, phase: ExecutionPhase) -> None:
        self.completed_name(run.definition.name, phase, run.raw)

    def completed_name(self, function: str, phase: ExecutionPhase, obj: JSON) -> None:
        self._child(self.completed_total, function, *self._where, phase.value).inc()
        created = (obj.get("metadata") or {}).get("creationTimestamp")
        if created:
            started = datetime.fromisoformat(str(created))
            seconds = (self._engine.clock.now() - started).total_seconds()
            self._child(self.latency, function, *self._where, phase.value).observe(
                max(0.0, seconds)
            )

    def execution_changed(self, event: str, obj: JSON) -> None:
        meta = obj.get("metadata") or {}
        if (meta.get("labels") or {}).get(labels.LABEL_WORKER_GROUP) != self._engine.group:
            return
        name = str(meta.get("name"))
        before = self._phases.pop(name, None)
        if before is not None:
            self._tally[before] -= 1
        if event != "DELETED":
            function = str((obj.get("spec") or {}).get("function") or "")
            phase = str((obj.get("status") or {}).get("phase") or "Pending")
            self._phases[name] = (function, phase)
            self._tally[(function, phase)] += 1
        for changed in (before, self._phases.get(name)):
            if changed is not None:
                function, phase = changed
                gauge = self._child(self.states, function, *self._where, phase)
                gauge.set(self._tally[changed])
