"""Benchmark of the workflow engine: a kontinue Worker against a file-backed dev server, then
against upstream Kubernetes (etcd + kube-apiserver of ``scripts/controlplane.sh``).

What a user of kontinue pays for durability, end to end: the dev server (``kontinue dev``,
SQLite on disk) runs in its own process; a :class:`kontinue.Worker` runs in this process on the
benchmark's event loop, as ``kontinue worker`` would (in a process of its own for the
sleepers, whose figure is the worker's memory); executions are created with plain API
writes and their outcomes observed through a watch on Executions (no polling), as any client
sees them. Each workload gets a fresh namespace and worker, so caches do not carry over.

Workloads (``--quick`` divides the sizes by ten):

1. ``noop_latency``: sequential no-op executions, create to observed Completed, p50/p99.
2. ``noop_throughput``: 2,000 no-op executions created at once, executions per second, and
   the CPU time this process (worker and benchmark client) and the server spent per execution.
3. ``fan_out``: one parent running 500 children with ``asyncio.gather`` of ``ktx.execute``.
4. ``sleepers``: 1,000 executions each taking ``ktx.sleep(2)``: how late they wake, against the
   recorded ``resumeAt`` of the sleep (a whole second) and against the moment they asked plus
   2 s; the worker's RSS (for this workload the worker runs in a process of its own, as
   ``kontinue worker`` does) and the requests per sleeper. Executions that
   never end are counted as stuck, not waited for forever. ``--sleepers N`` adds a run with N
   sleeping N/40 s, so that all of them are asleep at once (``asleep_at_once`` counts them):
   the worker's RSS with N waiting executions, and their lateness when they wake (staggered as
   they started).
5. ``store_step``: one execution running 1,000 ``ktx.store`` steps in sequence, ms per step
   (and with a tenth of the steps, as the status, hence each write, grows with every step).
6. ``api_requests``: requests the server counted (``GET /metrics``) during workload 2, per
   execution: all, writes (create/update/patch/delete) and reads, and by verb and resource.

The same workloads run on DBOS Transact (``_dbos_peer.py``, SQLite) in a fresh process after
ours; ratios are oriented so that above 1 means kontinue is faster (throughput: ours/dbos; fan
out, latency p50 and store step: dbos/ours). The worker keeps its default settings unless
``--worker-qps``, ``--worker-burst`` or ``--no-events`` say otherwise. The machine's load
average is printed before and after: figures from a busy machine are not comparable. Prints
``name: value unit`` lines.

The same workloads then run on the local upstream control plane (``--servers`` chooses), their
figures prefixed ``upstream_``: what real etcd and kube-apiserver cost against the dev server.

    .venv/bin/python bench/engine.py [--quick] [--only throughput,fanout] [--sleepers 10000]
        [--servers dev,upstream]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import logging
import multiprocessing
import os
import re
import signal
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import psutil
from _server import ServerProcess, dev_server, upstream_available, upstream_server

from kontinue import ExecutionContext, Worker, WorkerSettings
from kontinue.api import API_VERSION, labels
from kontinue.kube import (
    AlreadyExists,
    ApiError,
    AsyncKubeClient,
    ConnectionFailed,
    Gone,
    KubeSettings,
)

Figures = dict[str, tuple[float, str]]
T = TypeVar("T")
JSON = dict[str, Any]

EXECUTIONS = "executions.kontinue.cloud"
GROUP = "bench"
TERMINAL = frozenset({"Completed", "Failed", "Canceled", "Skipped"})
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
SLEEP_SECONDS = 2.0
SLEEPERS_STARTED_PER_SECOND = 40
"""A safe guess of how fast sleepers start: ``--sleepers N`` sleep N/40 s, so that all N are
asleep at once before the first wakes."""
WORKLOADS = ("latency", "throughput", "fanout", "sleepers", "steps")
# The benchmark's own client is not throttled; the worker keeps its default limits.
BENCH_CLIENT = KubeSettings(qps=0, burst=1, field_manager="bench")
# Creates in flight at once: the client's connection pool. More would only queue in the pool,
# where the wait counts against the request timeout.
CREATE_CONCURRENCY = 100
_SAMPLE = re.compile(r"^apiserver_request_total\{([^}]*)\} (\d+)")
_LABEL = re.compile(r'(\w+)="([^"]*)"')
# kube-apiserver labels requests with HTTP-style verbs; the dev server with RBAC verbs
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete", "GET": "get"}
_VERBS |= {"LIST": "list", "WATCH": "watch", "DELETECOLLECTION": "deletecollection"}


# Workflows ------------------------------------------------------------------------------------


async def noop(ktx: ExecutionContext, args: dict[str, Any]) -> None:
    """Does nothing: what is measured is the engine's cost alone."""


async def child(ktx: ExecutionContext, args: dict[str, Any]) -> int:
    return int(args["i"])


async def fan_out(ktx: ExecutionContext, args: dict[str, Any]) -> int:
    children = int(args["children"])
    results = await asyncio.gather(
        *(ktx.execute("bench-child", {"i": i}, result_type=int) for i in range(children))
    )
    return sum(results)


async def sleeper(ktx: ExecutionContext, args: dict[str, Any]) -> JSON:
    """Sleep durably; report when it asked (exact only if never replayed) and when it woke."""
    asked = ktx.now()
    await ktx.sleep(float(args.get("seconds", SLEEP_SECONDS)))
    return {
        "asked": asked.isoformat(),
        "woke": ktx.now().isoformat(),
        "resumptions": ktx.resumptions,
    }


def _successor(i: int) -> int:
    return i + 1


async def stepper(ktx: ExecutionContext, args: dict[str, Any]) -> int:
    total = 0
    for i in range(int(args["steps"])):
        total += await ktx.store(partial(_successor, i))
    return total


FUNCTIONS: dict[str, Callable[..., Awaitable[Any]]] = {
    "bench-noop": noop,
    "bench-child": child,
    "bench-fan-out": fan_out,
    "bench-sleeper": sleeper,
    "bench-stepper": stepper,
}


def make_worker(namespace: str, settings: WorkerSettings) -> Worker:
    worker = Worker(namespace=namespace, group=GROUP, settings=settings)
    for name, fn in FUNCTIONS.items():
        worker.register(fn, name)
    return worker


# Harness --------------------------------------------------------------------------------------


class Outcomes:
    """A watch on the namespace's Executions: a future per name, resolved when it ends.

    The future holds the ``perf_counter`` time the terminal state was seen and the object, or
    what ``keep`` takes of it (so that a big batch holds little in this process's memory).
    """

    def __init__(self, client: AsyncKubeClient, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self.ended = 0
        self.keep: Callable[[JSON], JSON] = lambda obj: obj
        self.latest: dict[str, str] = {}
        """The last phase seen of each expected execution, and whether it had a result."""
        self._futures: dict[str, asyncio.Future[tuple[float, JSON]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        version = await self._list()
        self._task = asyncio.create_task(self._follow(version), name="bench-watch")

    async def _list(self) -> str:
        items, version = await self.client.list_with_version(EXECUTIONS, namespace=self.namespace)
        seen = time.perf_counter()
        for item in items:
            self._observe(seen, item)
        return version

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def expect(self, name: str) -> asyncio.Future[tuple[float, JSON]]:
        """The future of ``name``; ask before creating it so no event can be missed."""
        future = self._futures.get(name)
        if future is None:
            future = self._futures[name] = asyncio.get_running_loop().create_future()
        return future

    async def _follow(self, version: str) -> None:
        while True:  # a watch ends after a while or fails: go on from the last version
            try:
                async for event in self.client.watch_events(
                    EXECUTIONS, namespace=self.namespace, resource_version=version
                ):
                    seen = time.perf_counter()
                    version = event.resource_version or version
                    if event.type in ("ADDED", "MODIFIED"):
                        self._observe(seen, event.object)
            except Gone:
                version = await self._list()
            except (ApiError, ConnectionFailed) as error:
                print(f"(watch of executions failed, resuming: {error})", file=sys.stderr)
                await asyncio.sleep(0.2)

    def _observe(self, seen: float, obj: JSON) -> None:
        name = obj["metadata"]["name"]
        future = self._futures.get(name)
        if future is None or future.done():
            return
        status = obj.get("status") or {}
        phase = status.get("phase")
        self.latest[name] = f"{phase}, result {'result' in status}"
        if phase not in TERMINAL:
            return
        self.ended += 1
        if phase == "Completed":
            future.set_result((seen, self.keep(obj)))
        else:
            message = (obj.get("status") or {}).get("message")
            future.set_exception(RuntimeError(f"{obj['metadata']['name']} {phase}: {message}"))


@dataclass
class Batch:
    """How a batch of executions ended: (seen, object) of each Completed one, the errors of
    those that ended otherwise, and the names of those that had not ended."""

    completed: list[tuple[float, JSON]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    stuck_states: Counter[str] = field(default_factory=Counter)
    """How many stuck executions were last seen in each phase, with a result or not."""

    def report(self, label: str) -> None:
        """Say on stderr what did not complete."""
        if self.failed:
            print(f"({label}: {len(self.failed)} failed, e.g. {self.failed[0]})", file=sys.stderr)
        if self.stuck:
            states = ", ".join(f"{n} x {state}" for state, n in self.stuck_states.most_common())
            print(
                f"({label}: {len(self.stuck)} never ended, e.g. {self.stuck[0]}; last seen: "
                f"{states})",
                file=sys.stderr,
            )

    def check(self) -> None:
        """Raise unless every execution completed."""
        if self.failed or self.stuck:
            self.report("batch")
            example = (self.failed or [f"{self.stuck[0]} did not end"])[0]
            raise RuntimeError(
                f"{len(self.failed)} failed and {len(self.stuck)} stuck of "
                f"{len(self.completed) + len(self.failed) + len(self.stuck)} (e.g. {example})"
            )


@dataclass(frozen=True)
class Setup:
    """The dev server under test, and how the workers are set up."""

    kubeconfig: str
    server_pids: list[int]
    worker: WorkerSettings


class Bench:
    """One namespace with a running worker, a client and a watch on its Executions."""

    def __init__(self, setup: Setup, namespace: str) -> None:
        self.namespace = namespace
        self.client = AsyncKubeClient.from_kubeconfig(
            setup.kubeconfig, namespace=namespace, settings=BENCH_CLIENT
        )
        self.worker_pid = os.getpid()
        """The process the worker runs in."""
        self.outcomes = Outcomes(self.client, namespace)
        self.server = [psutil.Process(pid) for pid in setup.server_pids]
        self._creating = asyncio.Semaphore(CREATE_CONCURRENCY)

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU time (user + system) used so far by this process (worker and benchmark) and by
        the server process."""
        own = psutil.Process().cpu_times()
        server = sum(t.user + t.system for t in (p.cpu_times() for p in self.server))
        return own.user + own.system, server

    async def execute(self, function: str, arguments: JSON | None = None) -> tuple[float, JSON]:
        """Create an execution and wait for it to end: (seconds from create, final object)."""
        name = f"{function}-{uuid.uuid4().hex[:10]}"
        done = self.outcomes.expect(name)
        started = time.perf_counter()
        await self.create(name, function, arguments)
        seen, obj = await done
        return seen - started, obj

    async def create(self, name: str, function: str, arguments: JSON | None = None) -> None:
        meta = {
            "name": name,
            "labels": {labels.LABEL_FUNCTION: function, labels.LABEL_WORKER_GROUP: GROUP},
        }
        spec = {"function": function, "arguments": arguments or {}}
        body = {"apiVersion": API_VERSION, "kind": "Execution", "metadata": meta, "spec": spec}
        async with self._creating:
            try:
                await self.client.create(body)
            except AlreadyExists:
                pass  # a retried create whose first try had landed (the names are unique)

    async def many(
        self, count: int, function: str, arguments: JSON | None = None, stall: float = 60.0
    ) -> Batch:
        """Create ``count`` executions at once and wait until all have ended, or until none has
        ended for ``stall`` seconds (the rest are reported as stuck)."""
        names = [f"{function}-{uuid.uuid4().hex[:10]}" for _ in range(count)]
        futures = [self.outcomes.expect(name) for name in names]
        await asyncio.gather(*(self.create(name, function, arguments) for name in names))
        everything = asyncio.gather(*futures, return_exceptions=True)
        ended = -1
        while ended != self.outcomes.ended:
            ended = self.outcomes.ended
            done, _ = await asyncio.wait({everything}, timeout=stall)
            if done:
                break
        batch = Batch()
        for name, future in zip(names, futures, strict=True):
            if not future.done():
                batch.stuck.append(name)
                batch.stuck_states[self.outcomes.latest.get(name, "not seen")] += 1
            elif future.exception() is not None:
                batch.failed.append(str(future.exception()))
            else:
                batch.completed.append(future.result())
        everything.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await everything
        return batch

    async def settled_request_counts(self) -> tuple[Counter[tuple[str, str]], int]:
        """The counts once they stop moving (the worker records Events after it writes an
        outcome), and how many earlier scrapes they include (the one before the workload too:
        a scrape is counted once it has answered)."""
        counts, scrapes = await self.request_counts(), 1
        for _ in range(20):
            await asyncio.sleep(0.5)
            again = await self.request_counts()
            settled = _besides_scrapes(again) == _besides_scrapes(counts)
            counts, scrapes = again, scrapes + 1
            if settled:
                break
        return counts, scrapes

    async def request_counts(self) -> Counter[tuple[str, str]]:
        """The server's request counters by (verb, resource), all status codes summed."""
        response = await self.client.raw("GET", "/metrics")
        counts: Counter[tuple[str, str]] = Counter()
        for line in response.body.decode().splitlines():
            match = _SAMPLE.match(line)
            if match:
                found = dict(_LABEL.findall(match.group(1)))
                verb = _VERBS.get(found.get("verb", ""), found.get("verb", "").lower())
                resource = found.get("resource", "")
                if found.get("subresource"):
                    resource += "/" + found["subresource"]
                counts[(verb, resource)] += int(match.group(2))
        return counts


@contextlib.asynccontextmanager
async def bench_in(
    setup: Setup, label: str, *, worker_process: bool = False
) -> AsyncIterator[Bench]:
    """A fresh namespace with a worker that has become leader, for one workload: on this
    loop, or with ``worker_process`` in a process of its own (as ``kontinue worker`` runs), so
    that its memory is its own."""
    namespace = f"bench-{label}-{uuid.uuid4().hex[:6]}"
    async with AsyncKubeClient.from_kubeconfig(setup.kubeconfig, settings=BENCH_CLIENT) as admin:
        namespace_body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        await admin.create(namespace_body)
    bench = Bench(setup, namespace)
    if worker_process:
        context = multiprocessing.get_context("spawn")
        ready = context.Event()
        process = context.Process(
            target=_worker_process,
            args=(setup.kubeconfig, namespace, setup.worker, ready),
            name="bench-worker",
            daemon=True,
        )
        process.start()
        try:
            if not await asyncio.to_thread(ready.wait, 60):
                raise TimeoutError("the worker process did not become leader in time")
            bench.worker_pid = process.pid or os.getpid()
            await bench.outcomes.start()
            yield bench
        finally:
            await bench.outcomes.stop()
            process.terminate()
            await asyncio.to_thread(process.join, 30)
            await bench.client.close()
        return
    worker = make_worker(namespace, setup.worker)
    worker_client = AsyncKubeClient.from_kubeconfig(
        setup.kubeconfig, namespace=namespace, settings=worker.settings.kube
    )
    running = asyncio.create_task(worker.run(worker_client), name="bench-worker")
    try:
        await _until_leader(worker, running)
        await bench.outcomes.start()
        yield bench
    finally:
        await bench.outcomes.stop()
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await worker_client.close()
        await bench.client.close()


def _worker_process(kubeconfig: str, namespace: str, settings: WorkerSettings, ready: Any) -> None:
    """A worker process of the benchmark: runs until terminated."""

    async def serve() -> None:
        worker = make_worker(namespace, settings)
        client = AsyncKubeClient.from_kubeconfig(
            kubeconfig, namespace=namespace, settings=settings.kube
        )
        running = asyncio.create_task(worker.run(client), name="bench-worker")
        await _until_leader(worker, running)
        ready.set()
        await running

    run_loop(serve())


async def _until_leader(worker: Worker, running: asyncio.Task[None], within: float = 30) -> None:
    deadline = time.monotonic() + within
    while worker.engine is None or not worker.engine.ready.is_set():
        if running.done():
            running.result()
            raise RuntimeError("the worker stopped before it was ready")
        if time.monotonic() > deadline:
            raise TimeoutError("the worker was not ready in time")
        await asyncio.sleep(0.005)
    while not worker.engine.leader.is_leader:
        if running.done():
            running.result()
        if time.monotonic() > deadline:
            raise TimeoutError("the worker did not become leader in time")
        await asyncio.sleep(0.005)


def _besides_scrapes(counts: Counter[tuple[str, str]]) -> dict[tuple[str, str], int]:
    return {key: value for key, value in counts.items() if key != ("get", "")}


def _percentiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


def _rss_mb(pid: int | None = None) -> float:
    return float(psutil.Process(pid).memory_info().rss) / 2**20


# Workloads ------------------------------------------------------------------------------------


async def noop_latency(setup: Setup, n: int) -> Figures:
    async with bench_in(setup, "latency") as bench:
        for _ in range(10):  # warm-up: discovery, connections, the worker's first run
            await bench.execute("bench-noop")
        latencies = [(await bench.execute("bench-noop"))[0] * 1000 for _ in range(n)]
    p50, p99 = _percentiles(latencies)
    return {"noop_latency_p50": (p50, "ms"), "noop_latency_p99": (p99, "ms")}


async def noop_throughput(setup: Setup, n: int) -> Figures:
    """Workload 2, with the server's request counters read before and after (workload 6)."""
    async with bench_in(setup, "throughput") as bench:
        await bench.execute("bench-noop")  # warm-up
        before = await bench.request_counts()
        cpu_before = bench.cpu_seconds()
        started = time.perf_counter()
        batch = await bench.many(n, "bench-noop")
        batch.check()
        elapsed = max(seen for seen, _ in batch.completed) - started
        cpu_after = bench.cpu_seconds()
        after, scrapes = await bench.settled_request_counts()
    own, server = (b - a for a, b in zip(cpu_before, cpu_after, strict=True))
    figures: Figures = {
        "noop_throughput": (n / elapsed, "executions/s"),
        "noop_cpu_bench_process": (own / n * 1000, "ms/execution"),
        "noop_cpu_server_process": (server / n * 1000, "ms/execution"),
    }
    return figures | per_execution("api", after - before, scrapes, n)


def per_execution(prefix: str, delta: Counter[tuple[str, str]], scrapes: int, n: int) -> Figures:
    """Requests the server counted, per execution: all, writes, reads, and by kind."""
    # the scrapes themselves (kube-apiserver does not count its /metrics)
    delta[("get", "")] = max(0, delta[("get", "")] - scrapes)
    total = sum(delta.values())
    writes = sum(count for (verb, _), count in delta.items() if verb in WRITE_VERBS)
    figures: Figures = {
        f"{prefix}_requests_per_execution": (total / n, "requests"),
        f"{prefix}_writes_per_execution": (writes / n, "requests"),
        f"{prefix}_reads_per_execution": ((total - writes) / n, "requests"),
    }
    for (verb, resource), count in sorted(delta.items()):
        if count > 0:
            name = f"{prefix}_{verb}_{resource or 'nonresource'}_per_execution"
            figures[name] = (count / n, "requests")
    return figures


async def fan_out_time(setup: Setup, children: int) -> Figures:
    async with bench_in(setup, "fanout") as bench:
        await bench.execute("bench-noop")  # warm-up
        elapsed, obj = await asyncio.wait_for(
            bench.execute("bench-fan-out", {"children": children}), 600
        )
    total = obj["status"].get("result")
    if total != children * (children - 1) // 2:
        raise RuntimeError(f"the fan-out summed {total}")
    return {"fan_out": (elapsed, "s")}


def _sleep_summary(obj: JSON) -> JSON:
    """What the figures need of a finished sleeper: its result, and its sleep's recorded
    resumeAt and start."""
    status = obj["status"]
    steps = status.get("steps") or {}
    sleep = next(step for step in steps.values() if step["kind"] == "sleep")
    return {"result": status["result"], "resumeAt": sleep["resumeAt"], "from": sleep["startedAt"]}


def _most_at_once(intervals: list[tuple[datetime, datetime]]) -> int:
    """The most intervals that overlap at one instant."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = current = 0
    for _, change in edges:
        current += change
        most = max(most, current)
    return most


async def sleepers(
    setup: Setup, n: int, prefix: str = "sleepers", seconds: float = SLEEP_SECONDS
) -> Figures:
    """Workload 4 with ``n`` sleepers of ``seconds`` each (long enough, for a big ``n``, that
    all of them are asleep at once: ``asleep_at_once`` says whether they were)."""
    async with bench_in(setup, prefix, worker_process=True) as bench:
        await bench.execute("bench-noop")  # warm-up
        bench.outcomes.keep = _sleep_summary
        before = peak = _rss_mb(bench.worker_pid)
        sampling = True

        async def sample() -> None:
            nonlocal peak
            while sampling:
                peak = max(peak, _rss_mb(bench.worker_pid))
                await asyncio.sleep(0.1)

        sampler = asyncio.create_task(sample())
        before_requests = await bench.request_counts()
        started = time.perf_counter()
        try:
            batch = await bench.many(n, "bench-sleeper", {"seconds": seconds}, stall=seconds + 60)
        finally:
            sampling = False
            await sampler
        batch.report(prefix)
        if len(batch.completed) < 2:
            batch.check()
        elapsed = max(seen for seen, _ in batch.completed) - started
        after = _rss_mb(bench.worker_pid)
        after_requests, scrapes = await bench.settled_request_counts()
    late_recorded: list[float] = []
    late_asked: list[float] = []
    asleep: list[tuple[datetime, datetime]] = []
    replayed = 0
    for _, summary in batch.completed:
        result = summary["result"]
        woke = datetime.fromisoformat(result["woke"])
        resume_at = datetime.fromisoformat(summary["resumeAt"])
        asleep.append((datetime.fromisoformat(summary["from"]), woke))
        late_recorded.append((woke - resume_at).total_seconds() * 1000)
        if result["resumptions"]:
            replayed += 1  # its "asked" is the replay's time, not the original request's
            continue
        wanted = datetime.fromisoformat(result["asked"]) + timedelta(seconds=seconds)
        late_asked.append((woke - wanted).total_seconds() * 1000)
    p50, p99 = _percentiles(late_recorded)
    figures: Figures = {
        f"{prefix}_lateness_vs_resumeAt_p50": (p50, "ms"),
        f"{prefix}_lateness_vs_resumeAt_p99": (p99, "ms"),
    }
    if len(late_asked) >= 2:
        p50, p99 = _percentiles(late_asked)
        figures[f"{prefix}_lateness_vs_asked_p50"] = (p50, "ms")
        figures[f"{prefix}_lateness_vs_asked_p99"] = (p99, "ms")
        figures[f"{prefix}_lateness_vs_asked_min"] = (min(late_asked), "ms")
    figures[f"{prefix}_sleep_length"] = (seconds, "s")
    figures[f"{prefix}_asleep_at_once"] = (_most_at_once(asleep), "executions")
    figures[f"{prefix}_replayed"] = (replayed, "executions")
    figures[f"{prefix}_failed"] = (len(batch.failed), "executions")
    figures[f"{prefix}_stuck"] = (len(batch.stuck), "executions")
    figures[f"{prefix}_total_time"] = (elapsed, "s")
    figures[f"{prefix}_rss_before"] = (before, "MB")
    figures[f"{prefix}_rss_peak"] = (peak, "MB")
    figures[f"{prefix}_rss_after"] = (after, "MB")
    return figures | per_execution(prefix, after_requests - before_requests, scrapes, n)


async def store_steps(setup: Setup, n: int) -> Figures:
    """Workload 5; also with a tenth of the steps, since every step rewrites a status that
    holds all the steps before it."""
    figures: Figures = {}
    async with bench_in(setup, "steps") as bench:
        await bench.execute("bench-noop")  # warm-up
        for steps, name in ((n // 10, f"store_step_of_{n // 10}"), (n, "store_step")):
            elapsed, obj = await asyncio.wait_for(
                bench.execute("bench-stepper", {"steps": steps}), 600
            )
            total = obj["status"].get("result")
            if total != steps * (steps + 1) // 2:
                raise RuntimeError(f"the steps summed {total}")
            figures[name] = (elapsed / steps * 1000, "ms")
    return figures


# Driver ---------------------------------------------------------------------------------------


class LogTally(logging.Handler):
    """Counts the warnings and errors the worker logs, instead of printing each one (a
    struggling worker logs thousands); keeps the first few messages as examples."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()
        self.examples: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.levelname.lower()] += 1
        if len(self.examples) < 3:
            self.examples.append(f"{record.name}: {record.getMessage()}"[:300])

    def report(self, workload: str) -> None:
        """Emit the counts of ``workload`` (if any), show the examples, and start over."""
        for level, count in sorted(self.counts.items()):
            emit(f"{workload}_worker_log_{level}", count, "records")
        for example in self.examples:
            print(f"({workload}: logged {example})", file=sys.stderr)
        self.counts.clear()
        self.examples.clear()


_prefix = ""
"""Prepended to every figure's name: ``upstream_`` while the workloads run on kube-apiserver."""


def emit(name: str, value: float, unit: str) -> None:
    text = f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    print(f"{_prefix}{name}: {text} {unit}", flush=True)


async def run_ours(
    setup: Setup, workloads: list[str], scale: int, extra_sleepers: int | None
) -> Figures:
    plans: dict[str, Callable[[], Awaitable[Figures]]] = {
        "latency": lambda: noop_latency(setup, 200 // scale),
        "throughput": lambda: noop_throughput(setup, 2000 // scale),
        "fanout": lambda: fan_out_time(setup, 500 // scale),
        "sleepers": lambda: sleepers(setup, 1000 // scale),
        "steps": lambda: store_steps(setup, 1000 // scale),
    }
    if extra_sleepers:
        label = f"sleepers{extra_sleepers}"
        workloads = [*workloads, label]
        length = max(SLEEP_SECONDS, extra_sleepers / SLEEPERS_STARTED_PER_SECOND)
        plans[label] = lambda: sleepers(setup, extra_sleepers, label, length)
    figures: Figures = {}
    tally = LogTally()
    logging.getLogger().addHandler(tally)
    try:
        for workload in workloads:
            try:
                result = await plans[workload]()
            except Exception as error:
                print(f"{workload}: failed ({type(error).__name__}: {error})", flush=True)
                result = {}
            for name, (value, unit) in result.items():
                emit(name, value, unit)
            figures |= result
            tally.report(workload)
    finally:
        logging.getLogger().removeHandler(tally)
    return figures


def run_loop(main: Awaitable[T]) -> T:
    """Run on uvloop, as ``kontinue worker`` does (asyncio's loop where it is missing)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)  # type: ignore[arg-type]
    return uvloop.run(main)  # type: ignore[arg-type]


def _peer_figures(quick: bool) -> Figures:
    import _dbos_peer

    figures: Figures = _dbos_peer.run_all(quick=quick)
    return figures


def run_peer(quick: bool) -> Figures:
    """DBOS's figures, measured in a fresh process (its RSS is then its own)."""
    if importlib.util.find_spec("_dbos_peer") is None:
        print("dbos: unavailable (bench/_dbos_peer.py does not exist)", flush=True)
        return {}
    if importlib.util.find_spec("dbos") is None:
        print("dbos: not installed (.venv/bin/pip install -e '.[bench]' adds the peer)", flush=True)
        return {}
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            figures = pool.submit(_peer_figures, quick).result()
    except Exception as error:
        print(f"dbos: unavailable ({type(error).__name__}: {error})", flush=True)
        return {}
    for name, (value, unit) in figures.items():
        emit(name, value, unit)
    return figures


def ratios(ours: Figures, peer: Figures, prefix: str = "") -> None:
    """Each ratio is above 1 when kontinue is the faster (``prefix``: which server's)."""
    pairs = {
        "ratio_throughput": ("noop_throughput", "dbos_noop_throughput", True),
        "ratio_fanout": ("fan_out", "dbos_fan_out", False),
        "ratio_latency_p50": ("noop_latency_p50", "dbos_noop_latency_p50", False),
        "ratio_store_step": ("store_step", "dbos_sequential_step", False),
    }
    for name, (mine, theirs, higher_is_better) in pairs.items():
        if mine in ours and theirs in peer and ours[mine][0] and peer[theirs][0]:
            a, b = ours[mine][0], peer[theirs][0]
            emit(prefix + name, a / b if higher_is_better else b / a, "x")


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds, so the dev server is stopped too


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of every size")
    parser.add_argument(
        "--only",
        default=",".join(WORKLOADS),
        help=f"comma-separated workloads among {', '.join(WORKLOADS)} (default: all)",
    )
    parser.add_argument(
        "--sleepers", type=int, default=None, metavar="N", help="also a run with N sleepers"
    )
    parser.add_argument("--no-peer", action="store_true", help="skip the DBOS figures")
    parser.add_argument(
        "--servers",
        default="dev,upstream",
        help="where to run, in order: dev (kontinue dev), upstream (etcd + kube-apiserver "
        "of scripts/controlplane.sh; skipped with a line when Go is missing)",
    )
    defaults = WorkerSettings()
    parser.add_argument(
        "--worker-qps",
        type=float,
        default=defaults.kube.qps,
        help="the worker client's request rate limit (0: none; default: the worker's own)",
    )
    parser.add_argument(
        "--worker-burst",
        type=int,
        default=defaults.kube.burst,
        help="requests the worker client may send at once above its rate",
    )
    parser.add_argument(
        "--no-events", action="store_true", help="workers record no Kubernetes Events"
    )
    args = parser.parse_args()
    workloads = [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = set(workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    if set(args.servers.split(",")) - {"dev", "upstream", ""}:
        parser.error("--servers takes dev and upstream")
    scale = 10 if args.quick else 1
    kube = replace(defaults.kube, qps=args.worker_qps, burst=args.worker_burst)
    worker_settings = replace(defaults, kube=kube, record_events=not args.no_events)
    emit("worker_qps_limit", kube.qps, "requests/s")
    emit("worker_burst_limit", kube.burst, "requests")
    emit("worker_record_events", float(worker_settings.record_events), "bool")
    emit("host_load_average_1m", os.getloadavg()[0], "(at start; 2 cores)")
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    results: dict[str, Figures] = {}
    for kind in servers:
        results[kind] = run_on(kind, workloads, scale, args.sleepers, worker_settings)
    emit("host_load_average_1m", os.getloadavg()[0], "(after ours)")
    if args.no_peer:
        return
    peer = run_peer(args.quick)
    for kind, ours in results.items():
        ratios(ours, peer, prefix="" if kind == "dev" else f"{kind}_")


def run_on(
    kind: str,
    workloads: list[str],
    scale: int,
    extra_sleepers: int | None,
    worker_settings: WorkerSettings,
) -> Figures:
    """The workloads on ``kind`` (dev: ``kontinue dev``; upstream: kube-apiserver and etcd),
    its figures printed with the prefix ``upstream_`` for the latter."""
    global _prefix
    starts: Callable[[], contextlib.AbstractContextManager[ServerProcess]] = dev_server
    if kind == "upstream":
        missing = upstream_available()
        if missing is not None:
            print(f"upstream: skipped ({missing})", flush=True)
            return {}
        starts = upstream_server
    _prefix = "" if kind == "dev" else f"{kind}_"
    try:
        with starts() as server:
            emit("server_startup", server.startup_ms, "ms")
            setup = Setup(server.kubeconfig, server.pids, worker_settings)
            return run_loop(run_ours(setup, workloads, scale, extra_sleepers))
    finally:
        _prefix = ""


if __name__ == "__main__":
    main()
