"""Object status the way kstatus (sigs.k8s.io/cli-utils ``pkg/kstatus/status``) computes it.

Waiting for "the object is ready" needs one answer for every kind: :func:`compute_status` turns
any object (built-in kinds by their own fields, custom resources by ``observedGeneration`` and the
``Reconciling``/``Stalled``/``Ready`` conditions) into a :class:`Status`: ``InProgress``,
``Current``, ``Failed``, ``Terminating``, ``NotFound`` or ``Unknown``.
:func:`aggregate_status` folds the statuses of several objects into one, and
:func:`augment_conditions` writes the computed kstatus conditions into a copy of an object.

The rules are pure: no I/O, objects are plain JSON-like mappings.  :class:`Resolver` puts them to
work on live objects through an :class:`~kontinue.kube.AsyncKubeClient`: it reads their status once
(``fetch_and_resolve``) or watches them until they all reach a status (``wait_for_status``, which
yields :class:`WaitEvent` values); :class:`SyncResolver` does the same for blocking code.
Importing this package does not load the client.
"""

from ._model import Condition, Status, StatusResult
from ._resolver import (
    EventResource,
    EventType,
    Resolver,
    ResourceIdentifier,
    ResourceResult,
    SyncResolver,
    WaitEvent,
)
from ._rules import aggregate_status, augment_conditions, compute_status

__all__ = [
    "Condition",
    "EventResource",
    "EventType",
    "Resolver",
    "ResourceIdentifier",
    "ResourceResult",
    "Status",
    "StatusResult",
    "SyncResolver",
    "WaitEvent",
    "aggregate_status",
    "augment_conditions",
    "compute_status",
]
