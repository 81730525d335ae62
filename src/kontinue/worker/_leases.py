"""Leader election with a ``coordination.k8s.io/v1`` Lease, as client-go does it.

Exactly one replica of a worker group runs executions: the holder of the group's Lease. The
leader renews it every ``renew_period``; the others try every ``renew_period`` too and take it
over once it has not been renewed for ``lease_duration``. Every write carries the Lease's
resourceVersion, so two candidates cannot both win. A leader that cannot renew before its lease
runs out steps down by itself, before anyone else may take over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from kontinue.api import parse_time
from kontinue.clock import Clock
from kontinue.kube import AlreadyExists, AsyncKubeClient, Conflict, NotFound

__all__ = ["LeaderElection"]

_log = logging.getLogger("kontinue.worker")


def _micro_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElection:
    """Holds (or waits for) one Lease; ``on_change(is_leader)`` is called on every change."""

    def __init__(
        self,
        client: AsyncKubeClient,
        namespace: str,
        name: str,
        identity: str,
        clock: Clock,
        on_change: Callable[[bool], None],
        *,
        lease_duration: float = 15.0,
        renew_period: float = 5.0,
        labels: dict[str, str] | None = None,
    ) -> None:
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.is_leader = False
        self._client = client
        self._clock = clock
        self._on_change = on_change
        self._duration = lease_duration
        self._period = renew_period
        self._renewed: datetime | None = None
        self._labels = dict(labels or {})

    def _set(self, leader: bool) -> None:
        if leader != self.is_leader:
            self.is_leader = leader
            _log.info(
                "%s %s leadership of %s/%s",
                self.identity,
                "acquired" if leader else "lost",
                self.namespace,
                self.name,
            )
            self._on_change(leader)

    async def run(self) -> None:
        """Try to acquire or renew every ``renew_period`` until cancelled."""
        try:
            while True:
                try:
                    # a renewal stuck in retries must not outlive the lease: give up in time
                    held = await asyncio.wait_for(self._try(), self._renew_deadline)
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    _log.warning("lease %s/%s: %s", self.namespace, self.name, error or "timeout")
                    held = self._still_valid()
                self._set(held)
                await asyncio.sleep(self._period)
        finally:
            self._set(False)

    @property
    def _renew_deadline(self) -> float:
        """How long a holder keeps acting without a successful renewal (two thirds of the
        lease, as client-go's default 10 s of 15 s): it stops before anyone may take over."""
        return self._duration * 2 / 3

    def _still_valid(self) -> bool:
        renewed = self._renewed
        if not self.is_leader or renewed is None:
            return False
        return self._clock.now() < renewed + timedelta(seconds=self._renew_deadline)

    def _spec(self, now: datetime, transitions: int, acquired: str | None) -> dict[str, Any]:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, round(self._duration)),
            "acquireTime": acquired or _micro_time(now),
            "renewTime": _micro_time(now),
            "leaseTransitions": transitions,
        }

    async def _try(self) -> bool:
        now = self._clock.now()
        try:
            lease = await self._client.get("Lease", self.name, namespace=self.namespace)
        except NotFound:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {
                    "name": self.name,
                    "namespace": self.namespace,
                    "labels": self._labels,
                },
                "spec": self._spec(now, 0, None),
            }
            try:
                await self._client.create(body)
            except AlreadyExists:
                return False
            self._renewed = now
            return True
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity")
        transitions = int(spec.get("leaseTransitions") or 0)
        if holder == self.identity:
            lease["spec"] = self._spec(now, transitions, spec.get("acquireTime"))
        else:
            renewed = parse_time(spec.get("renewTime"))
            duration = float(spec.get("leaseDurationSeconds") or self._duration)
            if holder and renewed is not None and now < renewed + timedelta(seconds=duration):
                return False
            lease["spec"] = self._spec(now, transitions + 1, None)
        try:
            await self._client.update(lease)
        except Conflict:
            return False
        self._renewed = now
        return True

    async def release(self) -> None:
        """Give the lease up (on a clean shutdown) so another replica takes over at once."""
        self._set(False)
        try:
            lease = await self._client.get("Lease", self.name, namespace=self.namespace)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.identity:
                return
            spec["holderIdentity"] = None
            spec["renewTime"] = None
            lease["spec"] = spec
            await self._client.update(lease)
        except Exception as error:  # best effort: the lease expires anyway
            _log.info("could not release lease %s/%s: %s", self.namespace, self.name, error)
