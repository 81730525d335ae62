"""The worker: runs registered workflow functions and records their progress in Executions.

A :class:`Worker` holds the functions of one worker group. :meth:`Worker.run` publishes them as
Function resources, watches the namespace's Executions and Suspensions, and (on the replica that
holds the group's Lease) runs each execution, replaying it from its recorded steps whenever it
resumes. Tune it with :class:`WorkerSettings`.
"""

from ._metrics import MetricsUnavailable
from ._worker import Worker, function_object_name
from .settings import WorkerSettings

__all__ = ["MetricsUnavailable", "Worker", "WorkerSettings", "function_object_name"]
