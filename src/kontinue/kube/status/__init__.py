"""Object status the way kstatus (sigs.k8s.io/cli-utils ``pkg/kstatus/status``) computes it.

Waiting for "the object is ready" needs one answer for every kind: :func:`compute_status` turns
any object (built-in kinds by their own fields, custom resources by ``observedGeneration`` and the
``Reconciling``/``Stalled``/``Ready`` conditions) into a :class:`Status`: ``InProgress``,
``Current``, ``Failed``, ``Terminating``, ``NotFound`` or ``Unknown``.
:func:`aggregate_status` folds the statuses of several objects into one, and
:func:`augment_conditions` writes the computed kstatus conditions into a copy of an object.

Everything here is pure: no I/O, objects are plain JSON-like mappings.  The resolver that watches
live objects until they reach a status will join this package.
"""

from ._model import Condition, Status, StatusResult
from ._rules import aggregate_status, augment_conditions, compute_status

__all__ = [
    "Condition",
    "Status",
    "StatusResult",
    "aggregate_status",
    "augment_conditions",
    "compute_status",
]
