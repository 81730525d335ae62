"""Sharding: replicas of a worker group share the executions instead of one leader running all.

Each replica holds its own Lease (``kontinue-shard-<group>-...``, renewed every
``shard_renew`` seconds, dead after ``shard_expire``), labelled with its group so the others can
list them. The group's leader assigns every unassigned execution, and every execution of a
dead shard, to the live shard running the fewest, by setting the ``kontinue.cloud/shard`` label
(written with the execution's resourceVersion). A shard runs only the executions labelled with
its identity; one whose own Lease runs out stops running before anyone may reassign its work,
and the new owner resumes each execution by replaying it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from kontinue.api import TERMINAL_PHASES, labels
from kontinue.api.resources import EXECUTIONS, LEASES
from kontinue.kube import Conflict, NotFound
from kontinue.kube.informing import Informer
from kontinue.kube.leases import LeaderElection, LeaseObserver

if TYPE_CHECKING:
    from ._host import ControllerHost

__all__ = ["LABEL_SHARD", "ShardController", "shard_lease_name"]

JSON = dict[str, Any]
LABEL_SHARD = labels.LABEL_SHARD
LABEL_SHARD_GROUP = labels.LABEL_SHARD_GROUP
_TERMINAL = {p.value for p in TERMINAL_PHASES}
_log = logging.getLogger("kontinue.controllers")


def shard_lease_name(group: str, identity: str) -> str:
    """The Lease a replica renews while it is alive."""
    slug = re.sub(r"[^a-z0-9-]+", "-", identity.lower()).strip("-")[:30] or "replica"
    digest = hashlib.sha256(f"{group}/{identity}".encode()).hexdigest()[:8]
    return f"kontinue-shard-{group[:100]}-{slug}-{digest}"


class ShardController:
    """This replica's shard Lease, and (on the leader) the assignment of executions."""

    def __init__(self, engine: ControllerHost) -> None:
        self.engine = engine
        settings = engine.settings
        self.lease = LeaderElection(
            engine.lease_client,
            engine.namespace,
            shard_lease_name(engine.group, engine.identity),
            engine.identity,
            self._alive_changed,
            engine.lease_clock,
            lease_duration=settings.shard_expire,
            renew_period=settings.shard_renew,
            labels={LABEL_SHARD_GROUP: engine.group},
        )
        self.leases = Informer(
            engine.client,
            LEASES,
            engine.namespace,
            self._on_lease,
            label_selector=f"{LABEL_SHARD_GROUP}={engine.group}",
        )
        self._observer = LeaseObserver(engine.lease_clock)
        self._expiry: Any = None
        self._pending: set[str] = set()
        self._live_seen: list[str] = []
        self._load: dict[str, int] | None = None

    @property
    def alive(self) -> bool:
        """True while this replica's own Lease is valid: only then may it run executions."""
        return self.lease.is_leader

    def _alive_changed(self, alive: bool) -> None:
        self.engine.active_changed(alive)

    # Which shards live ----------------------------------------------------------------------

    def live_shards(self) -> list[str]:
        """Identities of the replicas whose shard Lease is still valid."""
        expire = self.engine.settings.shard_expire
        return sorted(
            str((lease.get("spec") or {}).get("holderIdentity"))
            for lease in self.leases.cache.values()
            if self._observer.held(lease, expire)
        )

    def _on_lease(self, event: str, obj: JSON) -> None:
        if event == "DELETED":
            self._observer.forget(str(obj["metadata"]["name"]))
        else:
            self._observer.observe(obj)  # a renewal counts from when this replica saw it
        if not self.engine.leader.is_leader:
            return
        if self.live_shards() != self._live_seen:
            self.rebalance()  # a shard joined or left: move what has no live owner
        else:
            self._plan_expiry()  # a renewal: only the next deadline moved

    # Assignment (leader) --------------------------------------------------------------------

    def rebalance(self) -> None:
        """Assign every execution that has no live shard; plan the next check."""
        live = self.live_shards()
        self._live_seen = live
        for name, obj in list(self.engine.executions.cache.items()):
            self.consider(name, obj, live)
        self._plan_expiry()

    def consider(self, name: str, obj: JSON, live: list[str] | None = None) -> None:
        """Assign ``name`` to a live shard if it needs one (leader only)."""
        if not self.engine.leader.is_leader or name in self._pending:
            return
        meta = obj.get("metadata") or {}
        obj_labels = meta.get("labels") or {}
        if obj_labels.get(labels.LABEL_WORKER_GROUP) != self.engine.group:
            return
        if str((obj.get("status") or {}).get("phase") or "Pending") in _TERMINAL:
            return
        if meta.get("deletionTimestamp"):
            return
        live = self.live_shards() if live is None else live
        if not live or obj_labels.get(LABEL_SHARD) in live:
            return
        load = self._load_of(live)
        chosen = min(live, key=lambda shard: (load[shard], shard))
        load[chosen] += 1
        self._pending.add(name)
        self.engine.spawn(self._assign(obj, chosen), f"kontinue-assign:{name}")

    def _load_of(self, live: list[str]) -> dict[str, int]:
        """Running executions per live shard, counted once per loop iteration (a rebalance or
        a burst of new executions shares one count instead of scanning the cache each time)."""
        if self._load is None or set(self._load) != set(live):
            load = dict.fromkeys(live, 0)
            for other in self.engine.executions.cache.values():
                owner = ((other.get("metadata") or {}).get("labels") or {}).get(LABEL_SHARD)
                phase = str((other.get("status") or {}).get("phase") or "Pending")
                if owner in load and phase not in _TERMINAL:
                    load[owner] += 1
            self._load = load
            asyncio.get_running_loop().call_soon(self._forget_load)
        return self._load

    def _forget_load(self) -> None:
        self._load = None

    async def _assign(self, obj: JSON, shard: str) -> None:
        name = str(obj["metadata"]["name"])
        try:
            patch = {
                "metadata": {
                    "resourceVersion": obj["metadata"]["resourceVersion"],
                    "labels": {LABEL_SHARD: shard},
                }
            }
            answer = await self.engine.client.patch(
                EXECUTIONS, patch, name=name, namespace=self.engine.namespace
            )
            self.engine.observed(answer)
        except Conflict:
            fresh = self.engine.executions.cache.get(name)
            self._pending.discard(name)
            if fresh is not None:
                self.consider(name, fresh)
            return
        except NotFound:
            pass
        except Exception as error:
            _log.warning("assigning %s to shard %s failed: %s", name, shard, error)
        self._pending.discard(name)

    def _plan_expiry(self) -> None:
        """Check again when the next live shard's Lease would run out."""
        expire = self.engine.settings.shard_expire
        deadlines = [self._observer.expires(lease, expire) for lease in self.leases.cache.values()]
        now = self.engine.lease_clock.now()
        upcoming = [d for d in deadlines if d is not None and d > now]
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if upcoming:
            self._expiry = self.engine.lease_timers.at(
                min(upcoming) + timedelta(milliseconds=1), self.rebalance
            )

    async def run(self) -> None:
        """Keep this replica's shard Lease until cancelled (then give it up)."""
        try:
            await self.lease.run()
        finally:
            await asyncio.shield(self.lease.release())
