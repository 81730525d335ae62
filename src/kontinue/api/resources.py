"""The plural names (``resource.group``) the worker, controllers, client and CLI read and
write, each spelled once."""

from __future__ import annotations

from ._meta import GROUP

__all__ = [
    "ARCHIVES",
    "EXECUTIONS",
    "FUNCTIONS",
    "JOBS",
    "LEASES",
    "SCHEDULES",
    "SUSPENSIONS",
]

EXECUTIONS = f"executions.{GROUP}"
SUSPENSIONS = f"suspensions.{GROUP}"
FUNCTIONS = f"functions.{GROUP}"
SCHEDULES = f"scheduledexecutions.{GROUP}"
ARCHIVES = f"archivedexecutions.{GROUP}"
JOBS = "jobs.batch"
LEASES = "leases.coordination.k8s.io"
