"""Sharding: replicas share a group's executions; a replica that leaves hands its work over."""

from __future__ import annotations

from datetime import timedelta

import kontinue
from kontinue.api import API_VERSION, ExecutionPhase, labels
from kontinue.controllers import LABEL_SHARD
from kontinue.testing import RunningWorker, WorkflowEnvironment, eventually


def test_shards_share_executions_and_take_over_from_a_replica_that_stops(
    kontinue_env: WorkflowEnvironment,
) -> None:
    ran: list[tuple[str, str]] = []
    settings = kontinue.WorkerSettings(
        sharding=True, shard_renew=0.2, shard_expire=2.0, renew_period=0.2
    )

    def make(identity: str) -> kontinue.Worker:
        worker = kontinue.Worker(group="shards", identity=identity, settings=settings)

        @worker.function("wait-here")
        async def wait_here(ktx: kontinue.ExecutionContext) -> str:
            ran.append((ktx.name, identity))
            await ktx.suspend("resume me")
            return identity

        return worker

    replicas: list[RunningWorker] = []
    for identity in ("a", "b", "c"):
        worker = make(identity)
        worker.clock = kontinue_env.clock
        worker.namespace = kontinue_env.namespace
        replicas.append(
            RunningWorker(worker, kontinue_env.worker_kubeconfig, kontinue_env.namespace).start()
        )
    try:
        names = [f"s{n}" for n in range(12)]
        for name in names:
            kontinue_env.kube.create(
                {
                    "apiVersion": API_VERSION,
                    "kind": "Execution",
                    "metadata": {
                        "name": name,
                        "labels": {
                            labels.LABEL_FUNCTION: "wait-here",
                            labels.LABEL_WORKER_GROUP: "shards",
                        },
                    },
                    "spec": {"function": "wait-here"},
                }
            )
        for name in names:
            kontinue_env.wait(name, phases={ExecutionPhase.SUSPENDED}, timeout=15)
        owners = {n: kontinue_env.get(n).metadata.labels[LABEL_SHARD] for n in names}
        assert set(owners.values()) == {"a", "b", "c"}  # spread over the live shards
        assert all(owners[name] == who for name, who in ran)  # each ran where it was assigned
        leaving = owners["s0"]
        gone = [n for n in names if owners[n] == leaving]
        replicas[["a", "b", "c"].index(leaving)].stop()  # its shard Lease is released
        moved = eventually(
            lambda: (
                all(
                    kontinue_env.get(n).metadata.labels.get(LABEL_SHARD) not in (leaving, None)
                    for n in gone
                )
                and {n: kontinue_env.get(n).metadata.labels[LABEL_SHARD] for n in gone}
            )
        )
        kontinue_env.advance(timedelta(seconds=1))
        for name in names:
            kontinue_env.wait(
                name,
                phases={ExecutionPhase.SUSPENDED},
                until=lambda e: e.status.resumptions >= (1 if e.metadata.name in gone else 0),
            )
            suspension = next(s for s in kontinue_env.suspensions(name) if s.is_waiting)
            kontinue_env.resume(suspension.metadata.name or "")
        results = {n: kontinue_env.wait(n, timeout=15).status.result for n in names}
    finally:
        for replica in replicas:
            try:
                replica.stop()
            except Exception:
                pass
    for name in gone:
        assert results[name] == moved[name] != leaving
    assert all(results[n] == owners[n] for n in names if n not in gone)
