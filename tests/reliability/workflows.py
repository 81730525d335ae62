"""Workflows for the reliability tests, run by ``kontinue worker`` in separate processes.

Every side effect appends one line ``kind execution step attempt call pid`` to the file named
by ``$KONTINUE_RELIABILITY_LOG`` (one ``os.write`` on an ``O_APPEND`` descriptor, so lines of
concurrent writers never interleave):

- ``entry``: a workflow function was entered (once per run or replay; step ``-``, call 0);
- ``store``: a ``ktx.store`` callable of a parent workflow ran (``call`` is the store's call
  number from ``kontinue.current_step()``);
- ``child``: the body of a child workflow did its work (also through ``ktx.store``).

Every workflow returns ``{"value": int, "sleeps": [...]}``; each sleep reports its execution,
step and length, the wall-clock time stored just before it (``started``) and the time stored
just after it (``woke``), so a test can tell a sleep that was skipped or restarted from zero.
``$KONTINUE_RELIABILITY_LEASE_DURATION`` and ``$KONTINUE_RELIABILITY_RENEW_PERIOD`` shorten
leader election for the tests that kill workers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import zlib
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

import kontinue

LOG_ENV = "KONTINUE_RELIABILITY_LOG"
LEASE_ENV = "KONTINUE_RELIABILITY_LEASE_DURATION"
RENEW_ENV = "KONTINUE_RELIABILITY_RENEW_PERIOD"
GROUP = "reliability"

Result = dict[str, Any]


def _settings() -> kontinue.WorkerSettings:
    """Default settings, with the lease timings taken from the environment when set."""
    defaults = kontinue.WorkerSettings()
    return kontinue.WorkerSettings(
        lease_duration=float(os.environ.get(LEASE_ENV, defaults.lease_duration)),
        renew_period=float(os.environ.get(RENEW_ENV, defaults.renew_period)),
    )


worker = kontinue.Worker(group=GROUP, settings=_settings())


class _StepDowns(logging.Handler):
    """Marks in the side-effect log when this process loses the group's Lease (``stepdown``):
    it stops its runs, and a store whose value it had not written yet is called again by the
    next leader, as after a kill. A busy machine can delay renewals that long."""

    def emit(self, entry: logging.LogRecord) -> None:
        if " lost leadership of " in entry.getMessage():
            record("stepdown", "-", "-", 0, 0)


logging.getLogger("kontinue.kube.leases").addHandler(_StepDowns())


class Number(BaseModel):
    """The argument of every workflow here."""

    n: int


class Pause(BaseModel):
    """A sleep's length in seconds, and a number for the result."""

    n: int
    seconds: float


class Approval(BaseModel):
    """The data a test resumes a manual suspension with."""

    value: int


def resume_value(execution: str) -> int:
    """The value a test resumes ``execution``'s suspension with (derived from its name)."""
    return zlib.crc32(execution.encode()) % 1000


def record_to(
    path: str | os.PathLike[str],
    kind: str,
    execution: str,
    step: str,
    attempt: int,
    call: int,
    pid: int,
) -> None:
    """Append the line ``kind execution step attempt call pid`` to ``path`` in one write."""
    line = f"{kind} {execution} {step} {attempt} {call} {pid}\n".encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def record(kind: str, execution: str, step: str, attempt: int, call: int) -> None:
    """Append a side effect of this process to the log file (none when it is not set)."""
    path = os.environ.get(LOG_ENV)
    if path:
        record_to(path, kind, execution, step, attempt, call, os.getpid())


def _effect(kind: str, value: Any) -> Callable[[], Any]:
    """A ``store`` callable that records its side effect (under the call it is), then
    returns ``value``."""

    def compute() -> Any:
        call = kontinue.current_step()
        record(kind, call.execution, call.step, call.attempt, call.call)
        return value() if callable(value) else value

    return compute


async def _effect_async(ktx: kontinue.ExecutionContext, kind: str, step: str, value: Any) -> Any:
    """``ktx.store`` of a recorded side effect, under the step name ``step``."""
    return await ktx.store(_effect(kind, value), step=step)


def _sleep_report(ktx: Any, step: str, seconds: float, started: float, woke: float) -> Result:
    """What a workflow reports about one of its sleeps."""
    return {
        "execution": ktx.name,
        "step": step,
        "seconds": seconds,
        "started": started,
        "woke": woke,
    }


async def _sleep(ktx: kontinue.ExecutionContext, seconds: float, step: str) -> Result:
    """A durable sleep between two stored wall-clock times."""
    started = await _effect_async(ktx, "store", f"{step}-start", time.time)
    await ktx.sleep(seconds, step=step)
    woke = await _effect_async(ktx, "store", f"{step}-woke", time.time)
    return _sleep_report(ktx, step, seconds, started, woke)


def _entered(ktx: Any) -> None:
    record("entry", ktx.name, "-", ktx.attempt, 0)


# Children ---------------------------------------------------------------------------------------


@worker.function("square")
async def square(ktx: kontinue.ExecutionContext, args: Number) -> Result:
    """A child without waits: its one side effect is the square."""
    _entered(ktx)
    value = await _effect_async(ktx, "child", "work", args.n * args.n)
    return {"value": value, "sleeps": []}


@worker.function("nap")
async def nap(ktx: kontinue.ExecutionContext, args: Pause) -> Result:
    """A child that sleeps, then does its side effect."""
    _entered(ktx)
    sleep = await _sleep(ktx, args.seconds, "nap")
    value = await _effect_async(ktx, "child", "work", args.n + 1)
    return {"value": value, "sleeps": [sleep]}


# Roots ------------------------------------------------------------------------------------------


@worker.function("chain")
async def chain(ktx: kontinue.ExecutionContext, args: Number) -> Result:
    """A stored token, then two children one after the other."""
    _entered(ktx)
    token = await _effect_async(ktx, "store", "token", args.n)
    first = await ktx.execute(square, Number(n=args.n), step="first")
    second = await ktx.execute(square, Number(n=args.n + 1), step="second")
    return {"value": token + first["value"] + second["value"], "sleeps": []}


@worker.function("fan")
async def fan(ktx: kontinue.ExecutionContext, args: Number) -> Result:
    """Three children and a sleeping child at once, then a store."""
    _entered(ktx)
    results = await asyncio.gather(
        *(ktx.execute(square, Number(n=args.n + i), step=f"sq{i}") for i in range(3)),
        ktx.execute(nap, Pause(n=args.n, seconds=1.0), step="nap"),
    )
    total = await _effect_async(ktx, "store", "total", sum(r["value"] for r in results))
    return {"value": total, "sleeps": [s for r in results for s in r["sleeps"]]}


@worker.function("sleeper")
async def sleeper(ktx: kontinue.ExecutionContext, args: Pause) -> Result:
    """A store, a sleep, a store."""
    _entered(ktx)
    sleep = await _sleep(ktx, args.seconds, "sleep")
    return {"value": args.n, "sleeps": [sleep]}


@worker.function("approval")
async def approval(ktx: kontinue.ExecutionContext, args: Number) -> Result:
    """A store, a manual suspension resumed by the test, a store of what it was given."""
    _entered(ktx)
    before = await _effect_async(ktx, "store", "before", args.n)
    given = await ktx.suspend("approve", data=Approval, step="approve")
    after = await _effect_async(ktx, "store", "after", given.value * 2)
    return {"value": before + after, "sleeps": []}


@worker.function("mixed")
async def mixed(ktx: kontinue.ExecutionContext, args: Pause) -> Result:
    """A child, a sleep, a manual suspension and a sleeping child, in that order."""
    _entered(ktx)
    first = await ktx.execute(square, Number(n=args.n), step="first")
    sleep = await _sleep(ktx, args.seconds, "sleep")
    given = await ktx.suspend("approve", data=Approval, step="approve")
    napped = await ktx.execute(nap, Pause(n=given.value, seconds=1.0), step="nap")
    value = await _effect_async(ktx, "store", "total", first["value"] + napped["value"])
    return {"value": value, "sleeps": [sleep, *napped["sleeps"]]}


@worker.function("sync-chain")
def sync_chain(ktx: kontinue.SyncExecutionContext, args: Pause) -> Result:
    """A plain ``def`` workflow (it parks its thread on every wait): store, child, sleep."""
    _entered(ktx)
    token = ktx.store(_effect("store", args.n), step="token")
    child = ktx.execute(square, Number(n=args.n), step="child")
    started = ktx.store(_effect("store", time.time), step="sleep-start")
    ktx.sleep(args.seconds, step="sleep")
    woke = ktx.store(_effect("store", time.time), step="sleep-woke")
    sleep = _sleep_report(ktx, "sleep", args.seconds, started, woke)
    return {"value": token + child["value"], "sleeps": [sleep]}
