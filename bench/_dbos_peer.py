"""Peer figures: DBOS Transact on a local SQLite system database, for the engine benchmark.

Absolute numbers on a shared, noisy machine say little; a peer measured in the same run, on the
same machine, makes the ratios hold.  The peer is DBOS Transact (PyPI ``dbos``) in its fastest
local setup: a SQLite system database file in a fresh temporary directory, in WAL mode with
``synchronous=NORMAL`` (the durability kontinue's own store has: a killed process loses nothing,
a power cut may lose the last moments), no Postgres, launched once per process.

DBOS supports ``async def`` workflows and steps, and kontinue is asyncio, so every workload here
is async: workflows start with ``DBOS.start_workflow_async`` and sleep with ``DBOS.sleep_async``.
DBOS's async paths still run each database call on a thread (``asyncio.to_thread`` onto its
executor); that executor is capped at ``EXECUTOR_THREADS`` (``max_executor_threads``), because
on a two-core machine a handful of threads beats the default of a thread per call (GIL churn).

Workloads (sizes are keyword arguments; ``--quick`` divides them by ten):

1. ``noop_latency``: sequential no-op workflows, start to result, p50 and p99.
2. ``noop_throughput``: no-op workflows all started at once, executions per second.
3. ``fan_out``: one parent workflow starts children and waits for all their results.
4. ``sleepers``: workflows each taking a durable two-second sleep; how late they wake (from the
   moment the workflow asked to sleep) and the process's peak RSS meanwhile.
5. ``sequential_steps``: one workflow running steps one after another, time per step.

Prints ``name: value unit`` lines.  ``.venv/bin/python bench/_dbos_peer.py [--quick]``.  Other
bench scripts call :func:`run_all` (outside any running event loop).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import logging
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import psutil
from dbos import DBOS, DBOSConfig

Figures = dict[str, tuple[float, str]]

EXECUTOR_THREADS = 4
SYNCHRONOUS = "NORMAL"

_launched = False


# -- workflows ------------------------------------------------------------------------------------


@DBOS.workflow()
async def _noop() -> None:
    """Does nothing: the cost measured is the engine's alone."""


@DBOS.workflow()
async def _child(i: int) -> int:
    return i


@DBOS.workflow()
async def _parent(children: int) -> int:
    """Start the children one by one (deterministic order), then collect their results."""
    handles = [await DBOS.start_workflow_async(_child, i) for i in range(children)]
    total = 0
    for handle in handles:
        total += await handle.get_result()
    return total


@DBOS.workflow()
async def _sleeper(seconds: float) -> float:
    """Sleep durably; return how late it woke (seconds) from the moment it asked."""
    asked = time.time()
    await DBOS.sleep_async(seconds)
    return time.time() - (asked + seconds)


@DBOS.step()
async def _small(i: int) -> int:
    return i + 1


@DBOS.workflow()
async def _stepper(n: int) -> int:
    total = 0
    for i in range(n):
        total += await _small(i)
    return total


# -- setup ----------------------------------------------------------------------------------------


def launch() -> Path:
    """Configure and launch DBOS on a fresh SQLite file (WAL); once per process.

    Returns the database file.  DBOS does not set a journal mode itself, so WAL (persistent, a
    property of the file) is set before launch; ``synchronous`` is per connection, so every
    connection of DBOS's engine is opened by :func:`_connect`.
    """
    global _launched
    if _launched:
        raise RuntimeError("DBOS is already launched in this process")
    tmp = tempfile.TemporaryDirectory(prefix="dbos-bench-")
    database = Path(tmp.name) / "dbos_system.sqlite"
    with sqlite3.connect(database) as conn:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if mode != "wal":
        raise RuntimeError(f"SQLite refused WAL mode (got {mode!r})")

    def _connect() -> sqlite3.Connection:
        conn = sqlite3.connect(database, check_same_thread=False)
        conn.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
        return conn

    config: DBOSConfig = {
        "name": "kontinue-bench-peer",
        "system_database_url": f"sqlite:///{database}",
        "db_engine_kwargs": {"creator": _connect},
        "max_executor_threads": EXECUTOR_THREADS,
        "log_level": "ERROR",  # drops the "SQLite is for development" warning and launch info
    }
    DBOS(config=config)
    DBOS.launch()
    _launched = True

    def _shutdown() -> None:
        DBOS.destroy()
        tmp.cleanup()

    atexit.register(_shutdown)
    logging.getLogger("dbos").setLevel(logging.ERROR)
    with sqlite3.connect(database) as conn:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "wal":
        raise RuntimeError(f"the DBOS system database is not in WAL mode ({mode!r})")
    return database


def _ensure_launched() -> None:
    if not _launched:
        launch()


def _percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p99 of at least two values."""
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


# -- workloads ------------------------------------------------------------------------------------


async def noop_latency(n: int = 200) -> Figures:
    """Sequential no-op workflows: start to result, p50 and p99 in ms."""
    _ensure_launched()
    for _ in range(10):  # warm-up
        await (await DBOS.start_workflow_async(_noop)).get_result()
    latencies = []
    for _ in range(n):
        started = time.perf_counter()
        handle = await DBOS.start_workflow_async(_noop)
        await handle.get_result()
        latencies.append((time.perf_counter() - started) * 1000)
    p50, p99 = _percentiles(latencies)
    return {"dbos_noop_latency_p50": (p50, "ms"), "dbos_noop_latency_p99": (p99, "ms")}


async def noop_throughput(n: int = 2000) -> Figures:
    """No-op workflows all started concurrently, then all awaited: executions/s."""
    _ensure_launched()
    started = time.perf_counter()
    handles = await asyncio.gather(*(DBOS.start_workflow_async(_noop) for _ in range(n)))
    await asyncio.gather(*(handle.get_result() for handle in handles))
    elapsed = time.perf_counter() - started
    return {"dbos_noop_throughput": (n / elapsed, "executions/s")}


async def fan_out(children: int = 500) -> Figures:
    """One parent workflow starts ``children`` child workflows and waits for them: seconds."""
    _ensure_launched()
    started = time.perf_counter()
    handle = await DBOS.start_workflow_async(_parent, children)
    total = await handle.get_result()
    elapsed = time.perf_counter() - started
    if total != children * (children - 1) // 2:
        raise RuntimeError(f"fan-out summed {total}")
    return {"dbos_fan_out": (elapsed, "s")}


async def sleepers(n: int = 1000, seconds: float = 2.0) -> Figures:
    """Workflows each sleeping durably: wake-up lateness p50/p99 in ms, peak RSS in MB."""
    _ensure_launched()
    peak = _rss_mb()
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss_mb())
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    handles = await asyncio.gather(
        *(DBOS.start_workflow_async(_sleeper, seconds) for _ in range(n))
    )
    lateness = await asyncio.gather(*(handle.get_result() for handle in handles))
    done.set()
    await sampler
    p50, p99 = _percentiles([late * 1000 for late in lateness])
    return {
        "dbos_sleepers_lateness_p50": (p50, "ms"),
        "dbos_sleepers_lateness_p99": (p99, "ms"),
        "dbos_sleepers_rss": (max(peak, _rss_mb()), "MB"),
    }


async def sequential_steps(n: int = 1000) -> Figures:
    """One workflow running ``n`` steps one after another: ms per step."""
    _ensure_launched()
    started = time.perf_counter()
    handle = await DBOS.start_workflow_async(_stepper, n)
    total = await handle.get_result()
    elapsed = time.perf_counter() - started
    if total != n * (n + 1) // 2:
        raise RuntimeError(f"steps summed {total}")
    return {"dbos_sequential_step": (elapsed / n * 1000, "ms")}


# -- driver ---------------------------------------------------------------------------------------


def run_all(quick: bool = False) -> Figures:
    """Every workload at full size (a tenth with ``quick``): name -> (value, unit).

    Launches DBOS on first use; call it from outside any running event loop.
    """
    _ensure_launched()
    scale = 10 if quick else 1

    async def run() -> Figures:
        figures: Figures = {}
        figures |= await noop_latency(n=200 // scale)
        figures |= await noop_throughput(n=2000 // scale)
        figures |= await fan_out(children=500 // scale)
        figures |= await sleepers(n=1000 // scale)
        figures |= await sequential_steps(n=1000 // scale)
        return figures

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of every size (smoke run)")
    args = parser.parse_args()
    for name, (value, unit) in run_all(quick=args.quick).items():
        print(f"{name}: {value:.3g} {unit}" if value < 100 else f"{name}: {value:.0f} {unit}")


if __name__ == "__main__":
    main()
