"""Installing kontinue's CustomResourceDefinitions into a cluster (or the dev server).

The CRDs come from :func:`kontinue.api.crd_manifests`, the same source as ``deploy/crds/``.
Installing is idempotent: existing definitions are replaced with the current ones.
"""

from __future__ import annotations

from typing import Any

from kontinue.api import crd_manifests
from kontinue.kube import AsyncKubeClient, KubeClient

__all__ = ["install_crds", "install_crds_async"]


def _replace(current: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    return {**desired, "metadata": {**desired["metadata"], **_version(current)}}


def _version(obj: dict[str, Any]) -> dict[str, Any]:
    return {"resourceVersion": obj["metadata"]["resourceVersion"]}


def install_crds(client: KubeClient) -> list[str]:
    """Create or update every kontinue CRD; returns their names."""
    names = []
    for manifest in crd_manifests().values():
        client.upsert(manifest, merge=_replace)
        names.append(str(manifest["metadata"]["name"]))
    return names


async def install_crds_async(client: AsyncKubeClient) -> list[str]:
    """The asyncio form of :func:`install_crds`."""
    names = []
    for manifest in crd_manifests().values():
        await client.upsert(manifest, merge=_replace)
        names.append(str(manifest["metadata"]["name"]))
    return names
