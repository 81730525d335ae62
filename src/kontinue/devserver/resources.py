"""The kinds the dev server serves and the discovery documents that describe them.

A :class:`ResourceType` is everything the server needs to know about one REST resource: where it
lives in the URL space, how it is stored, which subresources and field selectors it has. Built-in
kinds are declared here; custom resources get theirs from their CRD (see ``crds.py``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BUILTIN_TYPES",
    "ResourceType",
    "api_group_document",
    "api_group_list",
    "api_resource_list",
    "api_versions",
]

JSON = dict[str, Any]
FieldGetter = Callable[[JSON], str]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
#: The verbs of a custom resource, in the order apiextensions-apiserver lists them.
CUSTOM_VERBS = ("delete", "deletecollection", "get", "list", "patch", "create", "update", "watch")
NO_COLLECTION_DELETE = ("create", "delete", "get", "list", "patch", "update", "watch")


def _path(*keys: str) -> FieldGetter:
    def get(obj: JSON) -> str:
        value: Any = obj
        for key in keys:
            if not isinstance(value, dict):
                return ""
            value = value.get(key)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return get


def _event_source(obj: JSON) -> str:
    source = obj.get("source") or {}
    return str(source.get("component") or obj.get("reportingComponent") or "")


POD_FIELDS: dict[str, FieldGetter] = {
    "status.phase": _path("status", "phase"),
    "spec.nodeName": _path("spec", "nodeName"),
    "spec.restartPolicy": _path("spec", "restartPolicy"),
    "spec.schedulerName": _path("spec", "schedulerName"),
    "spec.serviceAccountName": _path("spec", "serviceAccountName"),
    "status.podIP": _path("status", "podIP"),
    "status.nominatedNodeName": _path("status", "nominatedNodeName"),
}
EVENT_FIELDS: dict[str, FieldGetter] = {
    **{
        f"involvedObject.{key}": _path("involvedObject", key)
        for key in (
            "kind",
            "namespace",
            "name",
            "uid",
            "apiVersion",
            "resourceVersion",
            "fieldPath",
        )
    },
    "reason": _path("reason"),
    "reportingComponent": _path("reportingComponent"),
    "source": _event_source,
    "type": _path("type"),
}
SECRET_FIELDS: dict[str, FieldGetter] = {"type": _path("type")}
NAMESPACE_FIELDS: dict[str, FieldGetter] = {"status.phase": _path("status", "phase")}
JOB_FIELDS: dict[str, FieldGetter] = {"status.successful": _path("status", "succeeded")}


@dataclass
class ResourceType:
    """One REST resource (``group/plural``) as served at one or more versions."""

    group: str
    version: str  # the storage (and preferred) version
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()  # "status", "log", ...
    has_generation: bool = False
    # Kubernetes keeps the dependents of a deleted Job by default (batch/v1 legacy behaviour).
    default_propagation: str = "Background"
    # Whether DELETE answers with the deleted object (pods, custom resources) or a Status.
    returns_deleted_object: bool = False
    field_selectors: dict[str, FieldGetter] = field(default_factory=dict)
    served_versions: tuple[str, ...] = ()
    # For custom resources: version -> openAPIV3Schema / additionalPrinterColumns.
    schemas: dict[str, JSON] = field(default_factory=dict)
    printer_columns: dict[str, list[JSON]] = field(default_factory=dict)
    is_custom: bool = False
    crd_name: str = ""

    def __post_init__(self) -> None:
        if not self.served_versions:
            self.served_versions = (self.version,)

    @property
    def key(self) -> str:
        """Storage key of the resource, independent of the version it is served at."""
        return f"{self.group}/{self.plural}"

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def api_version(self, version: str | None = None) -> str:
        v = version or self.version
        return f"{self.group}/{v}" if self.group else v

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def field_value(self, obj: JSON, name: str) -> str | None:
        """Value of a selectable field, or None when the field is not selectable."""
        if name == "metadata.name":
            return str(obj.get("metadata", {}).get("name", ""))
        if name == "metadata.namespace":
            return str(obj.get("metadata", {}).get("namespace", "")) if self.namespaced else ""
        getter = self.field_selectors.get(name)
        return getter(obj) if getter else None

    def selectable_fields(self) -> list[str]:
        return ["metadata.name", "metadata.namespace", *self.field_selectors]

    @property
    def storage_version_hash(self) -> str:
        """Discovery's ``storageVersionHash``: the first 8 bytes of the SHA-256 of the storage
        group/version/kind, base64-encoded (as kube-apiserver computes it)."""
        group = "" if self.key in STORAGE_ALIASES else self.group  # stored as core Events
        digest = hashlib.sha256(f"{group}/{self.version}/{self.kind}".encode()).digest()
        return base64.b64encode(digest[:8]).decode()


def _builtin(
    group: str, version: str, plural: str, kind: str, namespaced: bool = True, **kw: Any
) -> ResourceType:
    return ResourceType(
        group=group,
        version=version,
        plural=plural,
        singular=kind.lower(),
        kind=kind,
        namespaced=namespaced,
        **kw,
    )


BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _builtin(
        "",
        "v1",
        "namespaces",
        "Namespace",
        namespaced=False,
        short_names=("ns",),
        verbs=NO_COLLECTION_DELETE,
        subresources=("finalize", "status"),
        field_selectors=NAMESPACE_FIELDS,
    ),
    _builtin("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
    _builtin("", "v1", "secrets", "Secret", field_selectors=SECRET_FIELDS),
    _builtin(
        "",
        "v1",
        "serviceaccounts",
        "ServiceAccount",
        short_names=("sa",),
        returns_deleted_object=True,
    ),
    _builtin("", "v1", "events", "Event", short_names=("ev",), field_selectors=EVENT_FIELDS),
    _builtin(
        "",
        "v1",
        "pods",
        "Pod",
        short_names=("po",),
        categories=("all",),
        subresources=("log", "status"),
        field_selectors=POD_FIELDS,
        returns_deleted_object=True,
        has_generation=True,
    ),
    _builtin(
        "events.k8s.io",
        "v1",
        "events",
        "Event",
        short_names=("ev",),
        field_selectors=EVENT_FIELDS,
    ),
    _builtin("coordination.k8s.io", "v1", "leases", "Lease"),
    _builtin(
        "batch",
        "v1",
        "jobs",
        "Job",
        categories=("all",),
        subresources=("status",),
        has_generation=True,
        default_propagation="Orphan",
        field_selectors=JOB_FIELDS,
    ),
    _builtin(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        namespaced=False,
        short_names=("crd", "crds"),
        categories=("api-extensions",),
        subresources=("status",),
        has_generation=True,
    ),
)

# Core and events.k8s.io Events are two views of the same objects, as in a real cluster.
STORAGE_ALIASES = {"events.k8s.io/events": "/events"}


# Discovery documents -----------------------------------------------------------------------


def api_versions(server_address: str) -> JSON:
    """``GET /api``."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def api_resource_list(group_version: str, types: Iterable[ResourceType]) -> JSON:
    """``GET /api/v1`` or ``GET /apis/{group}/{version}``."""
    resources: list[JSON] = []
    for rt in types:
        entry: JSON = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(rt.verbs),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        entry["storageVersionHash"] = rt.storage_version_hash
        resources.append(entry)
        for sub in rt.subresources:
            verbs = (
                ["get"]
                if sub == "log"
                else ["update"]
                if sub == "finalize"
                else ["get", "patch", "update"]
            )
            resources.append(
                {
                    "name": f"{rt.plural}/{sub}",
                    "singularName": "",
                    "namespaced": rt.namespaced,
                    "kind": "Pod" if sub == "log" else rt.kind,
                    "verbs": verbs,
                }
            )
    doc: JSON = {"kind": "APIResourceList", "groupVersion": group_version, "resources": resources}
    if "/" in group_version:
        doc["apiVersion"] = "v1"
    return doc


def api_group_document(name: str, versions: list[str]) -> JSON:
    """One entry of ``GET /apis`` (also the body of ``GET /apis/{group}``)."""
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(groups: list[JSON]) -> JSON:
    """``GET /apis``."""
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
