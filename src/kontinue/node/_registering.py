"""The Node and its heartbeat: registration, the Lease renewed every 10 s, Ready refreshed.

As a kubelet: the Node is created (or taken over when it exists, from an earlier run), its
status written with a strategic merge patch, and its Lease in ``kube-node-lease`` renewed; the
node lifecycle controller reads the Lease as the heartbeat, and lifts the
``node.kubernetes.io/not-ready`` taint that admission puts on every new Node once the Node
reports Ready (a kubelet never changes its own taints; NodeRestriction forbids it).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from kontinue.clock import Clock
from kontinue.kube import AlreadyExists, AsyncKubeClient, KubeError, NotFound

from ._machine import Machine
from ._objects import LEASE_NAMESPACE, lease, micro_time, node, node_status
from ._settings import NodeSettings

__all__ = ["NodeRegistration"]

log = logging.getLogger("kontinue.node")
JSON = dict[str, Any]


class NodeRegistration:
    """Registers the Node and keeps it alive (:meth:`register`, then :meth:`heartbeat`)."""

    def __init__(
        self,
        client: AsyncKubeClient,
        settings: NodeSettings,
        machine: Machine,
        port: int,
        clock: Clock,
    ) -> None:
        self.client = client
        self.settings = settings
        self.machine = machine
        self.port = port
        self.clock = clock
        self.since: datetime = clock.now()
        self.uid = ""
        self.kubelet_version = ""

    async def register(self) -> JSON:
        """Create the Node (or take over the one there) and report it Ready.

        Returns the Node as the API server last answered.
        """
        name = self.settings.name
        version = await self.client.server_version()
        # the API server's release, marked as ours (build metadata does not count in semver)
        self.kubelet_version = f"{version.get('gitVersion', 'v0.0.0')}+kontinue"
        try:
            current: JSON = await self.client.create(node(name, self.machine))
            log.info("node %s registered", name)
        except AlreadyExists:
            current = await self.client.get("nodes", name)
            log.info("node %s exists; taking it over", name)
        self.uid = str(current["metadata"]["uid"])
        current = await self.write_status()
        await self.renew_lease()
        return current

    async def write_status(self) -> JSON:
        """Patch the Node's status: Ready, addresses, port, resources, heartbeat now."""
        status = node_status(
            address=self.settings.address,
            hostname=self.settings.name,
            port=self.port,
            machine=self.machine,
            max_pods=self.settings.max_pods,
            kubelet_version=self.kubelet_version,
            since=self.since,
            now=self.clock.now(),
        )
        answer: JSON = await self.client.patch(
            "nodes", {"status": status}, name=self.settings.name, type="strategic", status=True
        )
        return answer

    async def renew_lease(self) -> None:
        """Renew the node's Lease (creating it when missing)."""
        name = self.settings.name
        now = self.clock.now()
        try:
            await self.client.patch(
                "leases",
                {
                    "spec": {
                        "holderIdentity": name,
                        "leaseDurationSeconds": self.settings.lease_duration,
                        "renewTime": micro_time(now),
                    }
                },
                name=name,
                namespace=LEASE_NAMESPACE,
            )
        except NotFound:
            await self.client.create(lease(name, self.uid, self.settings.lease_duration, now))

    async def heartbeat(self) -> None:
        """Renew the Lease every ``lease_renew_interval`` and the status every
        ``status_interval`` seconds, until cancelled; failures are logged and retried."""
        loop = asyncio.get_running_loop()
        next_status = loop.time() + self.settings.status_interval
        while True:
            await asyncio.sleep(self.settings.lease_renew_interval)
            try:
                await self.renew_lease()
                if loop.time() >= next_status:
                    await self.write_status()
                    next_status = loop.time() + self.settings.status_interval
            except KubeError as exc:
                log.warning("node %s: heartbeat failed: %s", self.settings.name, exc)
