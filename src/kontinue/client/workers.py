"""Whether a worker group is running, from the Lease its live leader holds and renews.

Function objects say what a group publishes, not whether any of its workers still runs; the
group's Lease does (``kontinue-worker-<group>``, renewed by its leader). A UI or a script asks
here before telling a user that executions will wait.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from kontinue.kube import Forbidden, NotFound

from ._async_client import AsyncClient
from ._unclaimed import lease_reason, worker_lease_name

__all__ = ["WorkerGroupStatus", "worker_group_status"]


@dataclass(frozen=True)
class WorkerGroupStatus:
    """What the group's Lease says."""

    group: str
    live: bool | None
    """True while a leader renews the Lease, False when none does, None when this client may
    not read Leases (it cannot tell)."""
    holder: str = ""
    """The identity of the current (or last) leader."""
    reason: str = ""
    """Why the group is not live, for people."""


async def worker_group_status(
    client: AsyncClient, group: str, *, namespace: str | None = None
) -> WorkerGroupStatus:
    """Whether a worker of ``group`` runs in ``namespace`` (the client's by default)."""
    ns = namespace or client.namespace
    try:
        lease = await client.kube.get("Lease", worker_lease_name(group), namespace=ns)
    except NotFound:
        lease = None
    except Forbidden:
        return WorkerGroupStatus(group, None)
    holder = str(((lease or {}).get("spec") or {}).get("holderIdentity") or "")
    reason = lease_reason(group, ns, lease, datetime.now(UTC))
    return WorkerGroupStatus(group, reason is None, holder, reason or "")
