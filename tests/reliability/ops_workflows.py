"""The worker of ``test_operations``: sharded replicas, a concurrency-limited function, a Job.

Each process reads its identity, Lease timings and the file it reports to from the environment.
"""

from __future__ import annotations

import os
import time

import kontinue

REPORT_ENV = "KONTINUE_OPS_REPORT"

worker = kontinue.Worker(
    group="ops",
    identity=os.environ.get("KONTINUE_OPS_IDENTITY"),
    settings=kontinue.WorkerSettings(
        sharding=os.environ.get("KONTINUE_OPS_SHARDING") == "1",
        shard_renew=0.5,
        shard_expire=3.0,
        renew_period=0.5,
        lease_duration=3.0,
    ),
)


def report(line: str) -> None:
    """Append one line to the report file (one write: lines never interleave)."""
    descriptor = os.open(os.environ[REPORT_ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, f"{line}\n".encode())
    finally:
        os.close(descriptor)


@worker.function("hold")
async def hold(ktx: kontinue.ExecutionContext) -> str:
    """Waits to be resumed; returns the identity of the replica that ran it last."""
    await ktx.suspend("resume me")
    return os.environ.get("KONTINUE_OPS_IDENTITY", "")


@worker.function("limited", concurrency=2)
def limited(ktx: kontinue.SyncExecutionContext) -> None:
    """Holds one of the function's two slots for half a second, and says when."""
    report(f"start {ktx.name} {time.time():.3f} {os.getpid()}")
    time.sleep(0.5)
    report(f"end {ktx.name} {time.time():.3f} {os.getpid()}")


@worker.function("job")
async def job(ktx: kontinue.ExecutionContext, args: dict[str, str]) -> str:
    """Runs a script that records it started, then waits for a release file."""
    script = (
        f"echo ran >> {args['ran']}; "
        f"while [ ! -e {args['release']} ]; do sleep 0.05; done; echo released"
    )
    result = await ktx.run_script("busybox", script)
    return (await result.logs()).strip()
