"""Leader election with a ``coordination.k8s.io/v1`` Lease, as client-go does it.

One candidate among several holds the Lease. The holder renews it every ``renew_period``; the
others try every ``renew_period`` too and take it over once they have seen no renewal for
``lease_duration``. As in client-go, that is judged by when *this* candidate last saw the
Lease's record change, on its own clock, never by the renewTime another host wrote (their
clocks may disagree). Every write carries the Lease's resourceVersion, so two candidates cannot
both win. A holder that cannot renew within two thirds of the lease steps down by itself, before
anyone else may take over.

All timing (renewals, the renewal deadline, expiry) is on the injected clock: the wall clock in
production, a :class:`~kontinue.clock.ManualClock` in tests that move lease time by hand.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from kontinue.clock import Clock, SystemClock
from kontinue.timers import sleep, within

from ._async_client import AsyncKubeClient
from .errors import AlreadyExists, Conflict, NotFound

__all__ = ["LeaderElection", "LeaseObserver"]

_log = logging.getLogger("kontinue.kube.leases")


def _micro_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaseObserver:
    """When each Lease's record last changed, as seen on ``clock``: a Lease is held while its
    holder renewed it (changed its record) within its duration of that clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._seen: dict[str, tuple[tuple[Any, ...], datetime]] = {}

    def observe(self, lease: dict[str, Any]) -> datetime:
        """Note ``lease`` as read now; returns when its record last changed."""
        name = str(lease["metadata"]["name"])
        spec = lease.get("spec") or {}
        record = (spec.get("holderIdentity"), spec.get("renewTime"), spec.get("acquireTime"))
        known = self._seen.get(name)
        if known is not None and known[0] == record:
            return known[1]
        now = self.clock.now()
        self._seen[name] = (record, now)
        return now

    def forget(self, name: str) -> None:
        """The Lease ``name`` is gone."""
        self._seen.pop(name, None)

    def expires(self, lease: dict[str, Any], default_duration: float) -> datetime | None:
        """When ``lease`` runs out on this clock unless renewed (None: nobody holds it)."""
        spec = lease.get("spec") or {}
        if not spec.get("holderIdentity"):
            return None
        duration = float(spec.get("leaseDurationSeconds") or default_duration)
        return self.observe(lease) + timedelta(seconds=duration)

    def held(self, lease: dict[str, Any], default_duration: float) -> bool:
        """Whether ``lease``'s holder still holds it."""
        expires = self.expires(lease, default_duration)
        return expires is not None and self.clock.now() < expires


class LeaderElection:
    """Holds (or waits for) one Lease; ``on_change(is_leader)`` is called on every change."""

    def __init__(
        self,
        client: AsyncKubeClient,
        namespace: str,
        name: str,
        identity: str,
        on_change: Callable[[bool], None],
        clock: Clock | None = None,
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
        self._clock = clock or SystemClock()
        self._observer = LeaseObserver(self._clock)
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
                    held = await within(self._clock, self._renew_deadline, self._try())
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    _log.warning("lease %s/%s: %s", self.namespace, self.name, error or "timeout")
                    held = self._still_valid()
                self._set(held)
                await sleep(self._clock, self._period)
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
        elif self._observer.held(lease, self._duration):
            return False
        else:
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
