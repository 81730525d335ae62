"""Leader loops of a worker group: schedules, TTL and archiving, mutexes and limits.

They run inside the worker, on the replica holding the group's Lease, and keep every piece of
state in Kubernetes objects (ScheduledExecution status, ArchivedExecutions, Leases), so a new
leader carries on where the previous one stopped.
"""

from .expiring import TTLController, split_parts
from .scheduling import Plan, ScheduleController, plan, run_name
from .semaphores import Gate, Semaphores, gates_of
from .sharding import LABEL_SHARD, ShardController

__all__ = [
    "LABEL_SHARD",
    "Gate",
    "Plan",
    "ScheduleController",
    "Semaphores",
    "ShardController",
    "TTLController",
    "gates_of",
    "plan",
    "run_name",
    "split_parts",
]
