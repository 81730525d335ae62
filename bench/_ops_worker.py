"""The worker that ``bench/operations.py`` runs in separate processes (``kontinue worker``).

Settings come from the environment so each process can be a shard with short Lease times.
"""

from __future__ import annotations

import os

import kontinue

worker = kontinue.Worker(
    group="ops",
    identity=os.environ.get("OPS_IDENTITY"),
    settings=kontinue.WorkerSettings(
        sharding=os.environ.get("OPS_SHARDING") == "1",
        shard_renew=float(os.environ.get("OPS_SHARD_RENEW", "10")),
        shard_expire=float(os.environ.get("OPS_SHARD_EXPIRE", "40")),
        renew_period=float(os.environ.get("OPS_RENEW", "5")),
        lease_duration=float(os.environ.get("OPS_LEASE", "15")),
        record_events=False,
    ),
)


@worker.function("noop")
async def noop(ktx: kontinue.ExecutionContext) -> None:
    """Does nothing: the cost measured is the engine's."""


@worker.function("hold")
async def hold(ktx: kontinue.ExecutionContext) -> str:
    """Waits for a resume, and says which replica ran it last."""
    await ktx.suspend("resume me")
    return os.environ.get("OPS_IDENTITY", "")
