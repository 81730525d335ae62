"""The pods bound to the node, watched through the API and handed to the pod supervisor.

One accumulator query, ``spec.nodeName=<node>`` in every namespace (the only pod list the Node
authorizer allows a node): its first snapshot is the state at start, handled by
:meth:`~kontinue.pods.PodSupervisor.recover` (pods of an earlier run are marked lost, pods
being deleted are let go, the others start); after that each change starts, deletes or forgets
a pod. The accumulator re-lists after 410 and reconnects by itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from kontinue.kube import ALL_NAMESPACES, AsyncKubeClient, DeltaType, KubeError, Query
from kontinue.pods import PodSupervisor

__all__ = ["PodWatch"]

log = logging.getLogger("kontinue.node")
JSON = dict[str, Any]


@dataclass
class _Snapshot:
    pods: list[dict[str, Any]] = field(default_factory=list)


class PodWatch:
    """Feeds the supervisor with the node's pods; keeps their latest state for the logs."""

    def __init__(self, client: AsyncKubeClient, node_name: str, supervisor: PodSupervisor) -> None:
        self.client = client
        self.node_name = node_name
        self.supervisor = supervisor
        self.pods: dict[tuple[str, str], JSON] = {}

    async def run(self) -> None:
        """Recover, then follow the node's pods until cancelled."""
        query = Query(
            "pods",
            "pods",
            namespace=ALL_NAMESPACES,
            field_selector=f"spec.nodeName={self.node_name}",
        )
        async with self.client.watch(query) as accumulator:
            await accumulator.changed()
            snapshot = _Snapshot()
            accumulator.update(snapshot)
            self.pods = {_key(pod): pod for pod in snapshot.pods}
            await self.supervisor.recover(snapshot.pods)
            log.info("node %s: %d pods bound at start", self.node_name, len(snapshot.pods))
            while True:
                await accumulator.changed()
                _, deltas = accumulator.update_with_deltas(snapshot)
                for delta in deltas:
                    self._apply(delta.type, delta.obj)

    def _apply(self, change: DeltaType, pod: JSON) -> None:
        key = _key(pod)
        if change == DeltaType.DELETE:
            self.pods.pop(key, None)
            self.supervisor.forget(pod)
            return
        self.pods[key] = pod
        if pod["metadata"].get("deletionTimestamp"):
            self.supervisor.delete(pod)
        else:
            self.supervisor.start(pod)

    async def pod(self, namespace: str, name: str) -> JSON | None:
        """A pod bound to the node, from the watch (or the API, if the watch lags behind)."""
        found = self.pods.get((namespace, name))
        if found is not None:
            return found
        try:
            pod: JSON = await self.client.get("pods", name, namespace=namespace)
        except KubeError:  # 404, or 403 for a pod that is not the node's
            return None
        if (pod.get("spec") or {}).get("nodeName") != self.node_name:
            return None
        return pod


def _key(pod: JSON) -> tuple[str, str]:
    meta = pod.get("metadata") or {}
    return str(meta.get("namespace", "")), str(meta.get("name", ""))
