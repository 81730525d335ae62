"""WorkerSettings: every knob of a worker, with its unit, default and reason."""

from __future__ import annotations

from dataclasses import dataclass, field

from kontinue.kube import KubeSettings

__all__ = ["WorkerSettings"]


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker runs, apart from which functions it serves.

    Attributes:
        lease_duration: Seconds a leader's Lease stays valid without renewal (15, client-go's
            default); a second replica takes over this long after the leader dies.
        renew_period: Seconds between renewals (and between attempts of the non-leaders) (5).
        max_cached_runs: Waiting async runs kept in memory as suspended coroutines (1,000);
            beyond it the longest-waiting ones are evicted and replayed when they wake. Replays
            cost CPU, cached runs cost a few KB each.
        max_concurrent_runs: Most executions this worker process runs at once (None: no cap).
            Waiting runs (for a child, a sleep, an approval) do not count; held-back executions
            stay Pending with a message saying so.
        max_write_backlog: Requests of the worker's client waiting for an answer beyond which
            new executions wait to start (500, about a second of writes): under a burst they
            wait in the watch cache instead of piling up runs and queued requests in memory.
            Runs already started, wake-ups and replays are never held.
        sync_threads: Threads for plain ``def`` workflows and their ``store`` callables (32).
        status_delay: Seconds a run may execute before its status says Executing (0.5). A run
            that ends sooner writes only its outcome: fewer writes per short execution.
        unknown_function_grace: Seconds an Execution naming a function no worker publishes is
            left Pending before it fails (10), counted from when this worker first saw it, so
            workers starting together can publish first.
        retry_delay: Seconds (real time) before a run interrupted by an API failure is replayed,
            or a failed reconcile is tried again (2).
        sharding: Replicas of the group share the executions (each runs those assigned to it)
            instead of the leader running all of them (False).
        shard_renew: Seconds between renewals of a replica's shard Lease (10).
        shard_expire: Seconds after which a shard that stopped renewing is dead and its
            executions go to the other replicas (40).
        metrics_address: ``host:port`` of the Prometheus endpoint and the probes ``/healthz``
            (the event loop answers) and ``/readyz`` (the caches are filled); None disables
            them. Binds 127.0.0.1 unless told otherwise.
        metrics_optional: Whether a taken ``metrics_address`` only warns (and the worker runs
            without metrics) instead of stopping it (False; ``kontinue worker``'s default
            address is optional, since several workers may run on one machine).
        record_events: Whether lifecycle transitions are recorded as Kubernetes Events.
        max_pending_events: Events waiting to be written beyond which new ones are dropped
            (and counted in ``kontinue_events_dropped``), so that under a backlog of writes
            they do not delay the ones that make progress (500: a second of the client's rate).
        code_version: The version of the workflow code this worker runs, recorded on each
            execution it starts (``status.codeVersion``) and named when a replay no longer
            matches; None derives it from the source of the worker's functions (a hash).
        run_other_versions: Whether this worker also runs executions started on another code
            version (True). False leaves them waiting, with a message, for a worker of their
            version (e.g. a deployment of the old code during a rollout).
        blocked_loop_warning: Seconds the worker's event loop may be blocked (by a blocking
            call in an ``async def`` workflow) before a warning names the execution and the
            line (1.0); None turns the watchdog off.
        kube: Rate limits and timeouts of the worker's API client. A worker writes once or
            twice per execution, so it allows more than a plain client (500/s, burst 1,000).
    """

    lease_duration: float = 15.0
    renew_period: float = 5.0
    max_cached_runs: int = 1000
    max_concurrent_runs: int | None = None
    max_write_backlog: int = 500
    sync_threads: int = 32
    status_delay: float = 0.5
    unknown_function_grace: float = 10.0
    code_version: str | None = None
    run_other_versions: bool = True
    blocked_loop_warning: float | None = 1.0
    retry_delay: float = 2.0
    sharding: bool = False
    shard_renew: float = 10.0
    shard_expire: float = 40.0
    metrics_address: str | None = None
    metrics_optional: bool = False
    record_events: bool = True
    max_pending_events: int = 500
    kube: KubeSettings = field(
        default_factory=lambda: KubeSettings(qps=500.0, burst=1000, field_manager="kontinue-worker")
    )
