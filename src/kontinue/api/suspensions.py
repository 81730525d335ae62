"""Suspension: a durable pause of an execution, for a time or until someone resumes it.

A sleep is a Suspension with ``resumeAt``; a manual suspension (an approval, an external event)
waits for a client to set ``spec.resume``, optionally with data checked against ``spec.schema``
(an approval form), which ``ktx.suspend()`` then returns.  While it waits, the execution holds no
thread and no memory on any worker: the Suspension is the whole state.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import Field

from ._meta import Condition, KontinueModel, Resource, ResourceNames, Time

__all__ = [
    "ResumeRequest",
    "Suspension",
    "SuspensionKind",
    "SuspensionPhase",
    "SuspensionSpec",
    "SuspensionStatus",
]


class SuspensionKind(StrEnum):
    """Sleep: resumed by time (``resumeAt``).  Manual: resumed by a client (or canceled)."""

    SLEEP = "Sleep"
    MANUAL = "Manual"


class SuspensionPhase(StrEnum):
    """Waiting until resumed; Resumed and Canceled are final."""

    WAITING = "Waiting"
    RESUMED = "Resumed"
    CANCELED = "Canceled"


class ResumeRequest(KontinueModel):
    """A client's request to resume a manual suspension (a sleep may be cut short too)."""

    data: Any = None
    """Data handed to the waiting execution (any JSON), checked against ``spec.schema``."""
    requested_at: Time | None = None
    """When the request was made."""
    requested_by: str | None = None
    """Who resumed it (a user name, for the audit trail)."""


class SuspensionSpec(KontinueModel):
    """Which execution waits, for what, and the client's resume request."""

    execution: str = Field(min_length=1)
    """Name of the suspended Execution in the same namespace."""
    step: str = Field(min_length=1)
    """Id of the execution's step that created the suspension."""
    kind: SuspensionKind
    """Sleep (resumed by time) or Manual (resumed by a client)."""
    resume_at: Time | None = None
    """For a sleep: when it ends."""
    message: str | None = None
    """What the execution waits for, shown to whoever should resume it."""
    data_schema: dict[str, Any] | None = Field(
        default=None, validation_alias="schema", serialization_alias="schema"
    )
    """JSON Schema of the data a client must supply on resume (an approval form)."""
    resume: ResumeRequest | None = None
    """Set by a client to resume the suspension."""


class SuspensionStatus(KontinueModel):
    """Whether the suspension still holds, written by the worker."""

    phase: SuspensionPhase = SuspensionPhase.WAITING
    """Waiting, Resumed or Canceled."""
    resumed_at: Time | None = None
    """When the suspension ended."""
    data: Any = None
    """The validated resume data the execution receives."""
    message: str | None = None
    """Human-readable state, e.g. why resume data was rejected."""
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    """Standard conditions, for generic status tools."""


class Suspension(Resource):
    """A pause of an execution: a durable sleep or a wait for a client to resume it."""

    names: ClassVar[ResourceNames] = ResourceNames(
        "Suspension", "suspensions", "suspension", ("susp",)
    )

    kind: Literal["Suspension"] = "Suspension"
    """The kind of this object."""
    spec: SuspensionSpec
    """Which execution waits and for what."""
    # The worker creates a Suspension without a status (the main resource ignores it); the
    # default ``{}`` makes the API server fill in ``phase: Waiting`` (the default below it), so
    # the Phase printer column of ``kubectl get suspensions`` is never empty. kube-apiserver
    # applies it when it reads the object from storage, the dev server when it writes it.
    status: SuspensionStatus = Field(
        default_factory=SuspensionStatus, json_schema_extra={"default": {}}
    )
    """Whether the suspension still holds (``phase: Waiting`` until the worker ends it)."""

    @property
    def is_waiting(self) -> bool:
        """True while the execution is still held by this suspension."""
        return self.status.phase == SuspensionPhase.WAITING
