"""Which resources the server serves: the built-in kinds plus one per established CRD.

The catalog follows CRD changes as they are committed, so discovery and routing see a new
resource the moment its CRD is written, and stop seeing it when the CRD is gone.
"""

from __future__ import annotations

from typing import Any

from .crds import resource_type_from_crd, version_priority
from .resources import BUILTIN_TYPES, STORAGE_ALIASES, ResourceType
from .storage import Change, Store

__all__ = ["CRD_KEY", "NAMESPACES_KEY", "Catalog", "storage_key"]

JSON = dict[str, Any]
CRD_KEY = "apiextensions.k8s.io/customresourcedefinitions"
NAMESPACES_KEY = "/namespaces"


def storage_key(rt: ResourceType) -> str:
    """Where a resource's objects are stored (events.k8s.io Events share the core ones)."""
    return STORAGE_ALIASES.get(rt.key, rt.key)


def _crd_key(crd: JSON) -> str:
    spec = crd.get("spec", {})
    return f"{spec.get('group')}/{spec.get('names', {}).get('plural')}"


class Catalog:
    """The served resource types, by storage key and by (group, version, plural)."""

    def __init__(self, store: Store) -> None:
        self._types: dict[str, ResourceType] = {rt.key: rt for rt in BUILTIN_TYPES}
        for _, entry in store.items(CRD_KEY):
            crd = entry.load()
            self._types[_crd_key(crd)] = resource_type_from_crd(crd)
        self._index()

    def _index(self) -> None:
        self._by_gvr = {
            (t.group, v, t.plural): t for t in self._types.values() for v in t.served_versions
        }

    def follow(self, change: Change) -> str | None:
        """Apply a committed CRD change; returns the key of a resource that went away."""
        if change.resource != CRD_KEY:
            return None
        if change.type == "DELETED":
            key = _crd_key(change.obj)
            self._types.pop(key, None)
            self._index()
            return key
        rt = resource_type_from_crd(change.obj)
        self._types[rt.key] = rt
        self._index()
        return None

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_gvr.get((group, version, plural))

    def by_key(self, key: str) -> ResourceType | None:
        return self._types.get(key)

    def types(self) -> list[ResourceType]:
        return list(self._types.values())

    def group_versions(self) -> dict[str, list[str]]:
        """Group name -> served versions, preferred first (the core group is "")."""
        groups: dict[str, set[str]] = {}
        for rt in self._types.values():
            groups.setdefault(rt.group, set()).update(rt.served_versions)
        return {g: sorted(v, key=version_priority) for g, v in sorted(groups.items())}

    def types_in(self, group: str, version: str) -> list[ResourceType]:
        """The resources of one group version, sorted by name (for discovery)."""
        return sorted(
            (t for t in self._types.values() if t.group == group and version in t.served_versions),
            key=lambda t: t.plural,
        )
