"""Aggregated discovery: every group, version and resource in one document per root.

Clients since Kubernetes 1.26 ask ``GET /api`` and ``GET /apis`` with ``Accept:
application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`` and get an
``APIGroupDiscoveryList`` instead of one request per group version. The answer's ``Content-Type``
must repeat those parameters, or client-go reads it as the plain ``APIVersions``/
``APIGroupList``. The documents are built from the :class:`~.catalog.Catalog` on each request, so
they follow CRDs as they come and go, like the plain discovery documents.
"""

from __future__ import annotations

from typing import Any

from .catalog import Catalog
from .resources import ResourceType

__all__ = ["aggregated_content_type", "aggregated_discovery", "negotiate_discovery"]

JSON = dict[str, Any]
GROUP = "apidiscovery.k8s.io"
#: As kube-apiserver 1.37 serves it (``v2beta1``, which kubectl before 1.30 asks for, is gone:
#: those fall back to a request per group version, as against a real cluster).
VERSIONS = ("v2",)
LIST_KIND = "APIGroupDiscoveryList"


def negotiate_discovery(accept: str) -> str | None:
    """The ``apidiscovery.k8s.io`` version ``accept`` prefers, or None for the plain documents.

    Offers are taken in the client's order (client-go lists v2, then v2beta1, then plain JSON);
    offers in other media types (protobuf) are skipped.
    """
    for offer in accept.split(","):
        media, *params = (part.strip() for part in offer.split(";"))
        options = dict(p.split("=", 1) for p in params if "=" in p)
        if media not in ("application/json", "*/*", "application/*"):
            continue
        if not options.get("as"):
            return None
        if (
            options.get("g") == GROUP
            and options.get("v") in VERSIONS
            and options.get("as") == LIST_KIND
        ):
            return options["v"]
    return None


def aggregated_content_type(version: str) -> str:
    """The ``Content-Type`` of an aggregated discovery answer (client-go checks its parameters)."""
    return f"application/json;g={GROUP};v={version};as={LIST_KIND}"


def aggregated_discovery(catalog: Catalog, version: str, *, core: bool) -> JSON:
    """The ``APIGroupDiscoveryList`` of ``/api`` (``core``) or ``/apis``."""
    items = []
    for group, versions in catalog.group_versions().items():
        if bool(group) == core:
            continue
        metadata: JSON = {}
        if group:
            metadata["name"] = group
        items.append(
            {
                "metadata": metadata,
                "versions": [
                    {
                        "version": v,
                        "resources": [_resource(rt, v) for rt in catalog.types_in(group, v)],
                        "freshness": "Current",
                    }
                    for v in versions
                ],
            }
        )
    return {
        "kind": LIST_KIND,
        "apiVersion": f"{GROUP}/{version}",
        "metadata": {},
        "items": items,
    }


def _resource(rt: ResourceType, version: str) -> JSON:
    # built-in kinds leave group and version to the entry's group version, as upstream does
    kind = (
        {"group": rt.group, "version": version, "kind": rt.kind}
        if rt.is_custom
        else {"group": "", "version": "", "kind": rt.kind}
    )
    entry: JSON = {
        "resource": rt.plural,
        "responseKind": kind,
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    if rt.subresources:
        entry["subresources"] = [_subresource(sub, kind) for sub in rt.subresources]
    return entry


def _subresource(name: str, kind: JSON) -> JSON:
    verbs = {"log": ["get"], "finalize": ["update"]}.get(name, ["get", "patch", "update"])
    response = {**kind, "kind": "Pod"} if name == "log" else kind
    return {"subresource": name, "responseKind": response, "verbs": verbs}
