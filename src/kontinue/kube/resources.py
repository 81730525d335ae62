"""Where each kind lives in the REST API: group, version, plural, scope.

A :class:`ResourceMap` starts with the common built-in kinds (so everyday calls need no
discovery round trip) and learns the rest from discovery documents, which the clients fetch on
demand. Pure data, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AGGREGATED_DISCOVERY",
    "BUILTIN_RESOURCES",
    "ResourceInfo",
    "ResourceMap",
    "aggregated_documents",
    "split_api_version",
]

AGGREGATED_DISCOVERY = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
)
"""The Accept header of aggregated discovery (Kubernetes 1.30+): every group's resources in
one answer of ``GET /api`` and one of ``GET /apis``, instead of one request per group version;
older servers ignore it and answer the plain group lists."""


def aggregated_documents(answer: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    """The group versions of an ``APIGroupDiscoveryList`` as ``(group version, the
    APIResourceList its legacy discovery would answer, whether it is the group's preferred
    version)``; versions come in preference order."""
    found = []
    for group in answer.get("items") or []:
        name = str((group.get("metadata") or {}).get("name") or "")
        for index, version in enumerate(group.get("versions") or []):
            group_version = f"{name}/{version['version']}" if name else str(version["version"])
            resources = []
            for entry in version.get("resources") or []:
                kind = (entry.get("responseKind") or {}).get("kind")
                if not kind:
                    continue
                resources.append(
                    {
                        "name": entry.get("resource"),
                        "singularName": entry.get("singularResource") or "",
                        "namespaced": entry.get("scope") == "Namespaced",
                        "kind": kind,
                        "verbs": entry.get("verbs") or [],
                        "shortNames": entry.get("shortNames") or [],
                    }
                )
            found.append((group_version, {"resources": resources}, index == 0))
    return found


def split_api_version(api_version: str) -> tuple[str, str]:
    """``"apps/v1"`` -> ``("apps", "v1")``; ``"v1"`` -> ``("", "v1")``."""
    group, _, version = api_version.rpartition("/")
    return group, version


@dataclass(frozen=True)
class ResourceInfo:
    """One REST resource at one version."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = field(default=(), compare=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None, sub: str = "") -> str:
        """URL path of the collection, or of one object (and a subresource)."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name is not None:
            base += f"/{name}"
            if sub:
                base += f"/{sub}"
        return base


def _r(
    api_version: str, kind: str, plural: str, namespaced: bool = True, *short: str
) -> ResourceInfo:
    group, version = split_api_version(api_version)
    return ResourceInfo(group, version, kind, plural, namespaced, kind.lower(), tuple(short))


BUILTIN_RESOURCES: tuple[ResourceInfo, ...] = (
    _r("v1", "Namespace", "namespaces", False, "ns"),
    _r("v1", "Pod", "pods", True, "po"),
    _r("v1", "ConfigMap", "configmaps", True, "cm"),
    _r("v1", "Secret", "secrets"),
    _r("v1", "Service", "services", True, "svc"),
    _r("v1", "ServiceAccount", "serviceaccounts", True, "sa"),
    _r("v1", "Event", "events", True, "ev"),
    _r("v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, "pvc"),
    _r("v1", "Node", "nodes", False, "no"),
    _r("apps/v1", "Deployment", "deployments", True, "deploy"),
    _r("apps/v1", "StatefulSet", "statefulsets", True, "sts"),
    _r("apps/v1", "DaemonSet", "daemonsets", True, "ds"),
    _r("apps/v1", "ReplicaSet", "replicasets", True, "rs"),
    _r("batch/v1", "Job", "jobs"),
    _r("batch/v1", "CronJob", "cronjobs", True, "cj"),
    _r("coordination.k8s.io/v1", "Lease", "leases"),
    _r("events.k8s.io/v1", "Event", "events", True, "ev"),
    _r("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", True, "pdb"),
    _r("rbac.authorization.k8s.io/v1", "Role", "roles"),
    _r("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings"),
    _r("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", False),
    _r("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", False),
    _r(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        "crd",
        "crds",
    ),
)


class ResourceMap:
    """Kinds and names to resources; built-ins known up front, the rest learned."""

    def __init__(self, known: Iterable[ResourceInfo] = BUILTIN_RESOURCES) -> None:
        self._by_kind: dict[tuple[str, str], ResourceInfo] = {}
        self._learned: set[str] = set()
        self._names: dict[str, ResourceInfo | None] = {}  # by_name answers, until the map changes
        self._known = tuple(known)
        for info in self._known:
            self.add(info)

    def add(self, info: ResourceInfo) -> None:
        self._by_kind[(info.api_version, info.kind)] = info
        self._names.clear()

    def learn(self, group_version: str, document: dict[str, Any]) -> None:
        """Record an ``APIResourceList`` (``GET /api/v1`` or ``/apis/{group}/{version}``)."""
        group, version = split_api_version(group_version)
        for entry in document.get("resources") or []:
            name = str(entry.get("name", ""))
            if not name or "/" in name:
                continue  # subresources
            self.add(
                ResourceInfo(
                    group,
                    version,
                    str(entry["kind"]),
                    name,
                    bool(entry.get("namespaced")),
                    str(entry.get("singularName") or ""),
                    tuple(entry.get("shortNames") or ()),
                    tuple(entry.get("verbs") or ()),
                )
            )
        self._learned.add(group_version)

    def knows(self, group_version: str) -> bool:
        return group_version in self._learned

    def by_kind(self, api_version: str, kind: str) -> ResourceInfo | None:
        return self._by_kind.get((api_version, kind))

    def by_version_kind(self, version: str, kind: str) -> list[ResourceInfo]:
        """Every resource of ``kind`` at ``version``, whatever its group."""
        return [i for i in self._by_kind.values() if i.version == version and i.kind == kind]

    def forget(self, group_version: str | None = None) -> None:
        """Drop everything learned from discovery (back to the kinds known up front), or only
        that ``group_version`` was learned, so a kind missing from it is looked up again."""
        if group_version is not None:
            self._learned.discard(group_version)
            self._names.clear()
            return
        self._by_kind = {(i.api_version, i.kind): i for i in self._known}
        self._learned.clear()
        self._names.clear()

    def by_name(self, name: str) -> ResourceInfo | None:
        """Resolve what kubectl accepts: ``pods``, ``pod``, ``Pod``, ``po``, ``deploy.apps``."""
        if name in self._names:
            return self._names[name]
        found = self._find(name)
        self._names[name] = found
        return found

    def _find(self, name: str) -> ResourceInfo | None:
        base, _, group = name.partition(".")
        lowered = base.lower()
        matches = [
            info
            for info in self._by_kind.values()
            if (not group or info.group == group or info.group.startswith(group + "."))
            and lowered in (info.plural, info.singular, info.kind.lower(), *info.short_names)
        ]
        if not matches:
            return None
        # Prefer the core and well-known groups (events: core v1 over events.k8s.io).
        matches.sort(key=lambda i: (i.group != "", i.group))
        return matches[0]

    def all(self) -> list[ResourceInfo]:
        return list(self._by_kind.values())
