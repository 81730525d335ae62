"""What every kontinue resource shares: the model base, ObjectMeta, times and conditions.

The models speak the wire format of Kubernetes: camelCase field names, RFC 3339 times with second
precision, and no empty collections (Go's ``omitempty``), so that dumping a model gives what the
API server would store and reading it back gives an equal model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    model_serializer,
)
from pydantic.alias_generators import to_camel

__all__ = [
    "API_VERSION",
    "GROUP",
    "VERSION",
    "Condition",
    "ConditionStatus",
    "KontinueModel",
    "ObjectMeta",
    "OwnerReference",
    "Resource",
    "ResourceNames",
    "Time",
    "format_time",
    "parse_time",
]

GROUP: Final = "kontinue.cloud"
"""The API group of every kontinue resource."""
VERSION: Final = "v1alpha1"
"""The only served (and stored) version of the kontinue resources."""
API_VERSION: Final = "kontinue.cloud/v1alpha1"
"""The ``apiVersion`` written into every kontinue object."""


def _utc_seconds(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0)


def parse_time(value: Any) -> datetime | None:
    """A time as Kubernetes writes it (``metav1.Time`` or ``MicroTime``, RFC 3339), as an
    aware ``datetime``; None when absent or unreadable (a reader of others' objects must not
    fail on a malformed field)."""
    if isinstance(value, datetime):
        return value
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def format_time(value: datetime) -> str:
    """``value`` as Kubernetes writes a ``metav1.Time``: RFC 3339 in UTC, seconds, ``Z``."""
    return _utc_seconds(value).strftime("%Y-%m-%dT%H:%M:%SZ")


Time = Annotated[
    datetime,
    AfterValidator(_utc_seconds),
    PlainSerializer(format_time, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A UTC-aware ``datetime`` truncated to whole seconds, like ``metav1.Time``.

Truncating on input (not just on output) keeps a model equal to itself after a trip through the
API server.  A naive ``datetime`` is taken to be UTC.
"""


class KontinueModel(BaseModel):
    """The base of every kontinue model: camelCase on the wire, snake_case in Python.

    Fields whose default is an empty collection are left out of dumps when empty (Go's
    ``omitempty``), so an object serialises the way the API server stores it.  Unknown fields are
    ignored, so a newer server's additions do not break older clients.  Field docstrings are the
    descriptions that ``kubectl explain`` shows.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        use_attribute_docstrings=True,
    )

    @model_serializer(mode="wrap")
    def _omit_empty(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name, field in type(self).model_fields.items():
            if field.default_factory is None:
                continue
            key = field.alias if info.by_alias and field.alias else name
            if key in data and data[key] in ({}, []):
                del data[key]
        return data


class OwnerReference(KontinueModel):
    """An object this one belongs to; deleting the owner deletes this object too."""

    api_version: str
    """API version of the owner, e.g. ``kontinue.cloud/v1alpha1``."""
    kind: str
    """Kind of the owner, e.g. ``Execution``."""
    name: str
    """Name of the owner (in the same namespace)."""
    uid: str
    """UID of the owner: a new object with the same name is not the owner."""
    controller: bool | None = None
    """True when the owner is the managing controller of this object (at most one is)."""
    block_owner_deletion: bool | None = None
    """With foreground deletion, the owner is not removed before this object is."""


class ObjectMeta(KontinueModel):
    """The standard Kubernetes object metadata, limited to the fields kontinue reads or writes."""

    name: str | None = None
    """Unique name within the namespace; set it or ``generateName``."""
    generate_name: str | None = None
    """Prefix from which the server generates a unique name when ``name`` is empty."""
    namespace: str | None = None
    """Namespace of the object (every kontinue resource is namespaced)."""
    uid: str | None = None
    """Unique id assigned by the server; distinguishes objects that reuse a name."""
    resource_version: str | None = None
    """Opaque version for optimistic concurrency: a write with a stale one fails with 409."""
    generation: int | None = None
    """Incremented by the server on every change of the spec."""
    creation_timestamp: Time | None = None
    """When the server created the object."""
    deletion_timestamp: Time | None = None
    """Set when deletion was requested; the object lives on until its finalizers are gone."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Labels for selection, e.g. ``kontinue.cloud/function``."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """Non-identifying metadata, e.g. ``kontinue.cloud/display-name``."""
    owner_references: list[OwnerReference] = Field(default_factory=list)
    """Owners of this object; children of an execution name it here so deletion cascades."""
    finalizers: list[str] = Field(default_factory=list)
    """Tasks that must finish before the server removes the object."""


class ConditionStatus(StrEnum):
    """Whether a condition holds (``metav1.ConditionStatus``)."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(KontinueModel):
    """One aspect of an object's state (``metav1.Condition``), read by generic status tools."""

    type: str
    """Condition type in CamelCase, e.g. ``Ready``; unique within the list."""
    status: ConditionStatus
    """Whether the condition holds: True, False or Unknown."""
    reason: str | None = None
    """Machine-readable CamelCase reason of the last transition."""
    message: str | None = None
    """Human-readable details of the last transition."""
    last_transition_time: Time | None = None
    """When the status last changed."""
    observed_generation: int | None = None
    """The ``metadata.generation`` the condition was computed from."""


@dataclass(frozen=True)
class ResourceNames:
    """How a kind is named in the API (the CRD's ``spec.names``), for clients and the CRDs."""

    kind: str
    """The kind, e.g. ``Execution``."""
    plural: str
    """The resource name in URLs and ``kubectl get``, e.g. ``executions``."""
    singular: str
    """The singular name ``kubectl`` accepts, e.g. ``execution``."""
    short_names: tuple[str, ...] = ()
    """Abbreviations ``kubectl`` accepts, e.g. ``ex``."""

    @property
    def qualified(self) -> str:
        """``plural.group``: the CRD name, unambiguous across API groups."""
        return f"{self.plural}.{GROUP}"


class Resource(KontinueModel):
    """A top-level kontinue object: ``apiVersion``, ``kind`` and ``metadata``.

    Subclasses fix ``kind`` and add ``spec`` and ``status``; ``names`` says how the kind is
    addressed in the API.
    """

    names: ClassVar[ResourceNames]

    api_version: Literal["kontinue.cloud/v1alpha1"] = API_VERSION
    """The versioned schema of this object (``kontinue.cloud/v1alpha1``)."""
    kind: str
    """The kind of this object."""
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    """Standard object metadata."""
