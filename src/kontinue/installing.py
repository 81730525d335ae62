"""Installing kontinue's CustomResourceDefinitions into a cluster (or the dev server).

The CRDs come from :func:`kontinue.api.crd_manifests`, the same source as ``deploy/crds/``.
Installing is idempotent: existing definitions are replaced with the current ones. It returns
once every definition is ``Established`` (served), as a real API server takes a moment after the
create: custom resources created before that get 404.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kontinue.api import crd_manifests
from kontinue.kube import AsyncKubeClient, KubeClient

__all__ = ["install_crds", "install_crds_async"]

CRDS = "customresourcedefinitions.apiextensions.k8s.io"
#: How long a definition may take to become Established before installing fails.
ESTABLISH_TIMEOUT = 60.0
_POLL = 0.05


def _established(crd: dict[str, Any]) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def _not_established(names: list[str]) -> TimeoutError:
    return TimeoutError(
        f"CRDs not Established after {ESTABLISH_TIMEOUT:.0f} s: {', '.join(names)} "
        "(kubectl describe crd NAME shows why)"
    )


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
    deadline = time.monotonic() + ESTABLISH_TIMEOUT
    waiting = list(names)
    while waiting:
        waiting = [name for name in waiting if not _established(client.get(CRDS, name))]
        if waiting and time.monotonic() > deadline:
            raise _not_established(waiting)
        if waiting:
            time.sleep(_POLL)
    return names


async def install_crds_async(client: AsyncKubeClient) -> list[str]:
    """The asyncio form of :func:`install_crds`."""
    names = []
    for manifest in crd_manifests().values():
        await client.upsert(manifest, merge=_replace)
        names.append(str(manifest["metadata"]["name"]))
    deadline = time.monotonic() + ESTABLISH_TIMEOUT
    waiting = list(names)
    while waiting:
        waiting = [name for name in waiting if not _established(await client.get(CRDS, name))]
        if waiting and time.monotonic() > deadline:
            raise _not_established(waiting)
        if waiting:
            await asyncio.sleep(_POLL)
    return names
