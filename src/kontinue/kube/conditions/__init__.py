"""Status conditions that follow a task, and the Events that explain failures.

Long-running work on behalf of an object (a build, a workflow step) should be visible where
Kubernetes users look: in the object's ``status.conditions`` (``kubectl get``/``wait``/
``describe``, kstatus) and in its Events.  :func:`monitor_condition` wraps a task and keeps one
condition in step with it (:class:`ConditionMonitor`: the task receives the object;
:class:`SyncConditionMonitor` for blocking code), :class:`EventRecorder` writes core/v1 Events,
and the pure helpers :func:`set_condition`/:func:`find_condition` edit and read conditions
without I/O.
"""

from ._monitoring import (
    ConditionMonitor,
    ConditionUpdateFailed,
    SyncConditionMonitor,
    monitor_condition,
)
from ._recording import EventRecorder
from ._setting import find_condition, set_condition

__all__ = [
    "ConditionMonitor",
    "ConditionUpdateFailed",
    "EventRecorder",
    "SyncConditionMonitor",
    "find_condition",
    "monitor_condition",
    "set_condition",
]
