"""What each execution created, and the clean-up when an attempt ends.

The watches index every Execution, Suspension and Job by the parent that created it (its
``parent`` label). When an attempt ends or fails, what it left running is ended too: children
still running are asked to cancel, Suspensions still waiting are canceled (a sleep already due
is resumed instead), and running Jobs are deleted with their pods.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any, Protocol

from kontinue.api import format_time, labels, parse_time
from kontinue.api.resources import EXECUTIONS, JOBS, SUSPENSIONS
from kontinue.clock import Clock
from kontinue.kube import AsyncKubeClient, NotFound
from kontinue.kube.informing import Informer

from ._jobs import job_ended
from ._status import TERMINAL, labels_of, phase_of
from ._suspensions import Resumer

__all__ = ["Children", "ChildrenHost"]

JSON = dict[str, Any]
_log = logging.getLogger("kontinue.worker")


class ChildrenHost(Protocol):
    """What the clean-up needs from the worker: its caches, client, clock and Resumer."""

    @property
    def namespace(self) -> str: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def client(self) -> AsyncKubeClient: ...
    @property
    def executions(self) -> Informer: ...
    @property
    def suspensions(self) -> Informer: ...
    @property
    def jobs(self) -> Informer: ...
    @property
    def resumer(self) -> Resumer: ...
    def observed(self, obj: JSON) -> None: ...


class Children:
    """The index parent -> (kind, name) of what it created, and the clean-up of an attempt."""

    def __init__(self, engine: ChildrenHost) -> None:
        self.engine = engine
        self._by_parent: dict[str, set[tuple[str, str]]] = {}

    def index(self, kind: str, event: str, obj: JSON) -> None:
        """Keep the index current with a watch event of ``kind`` (execution, suspension, job)."""
        parent = labels_of(obj).get(labels.LABEL_PARENT)
        if not parent:
            return
        key = (kind, str(obj["metadata"]["name"]))
        if event == "DELETED":
            known = self._by_parent.get(parent)
            if known is not None:
                known.discard(key)
                if not known:
                    del self._by_parent[parent]
        else:
            self._by_parent.setdefault(parent, set()).add(key)

    async def clean_up(self, parent: str, reason: str, *, children: bool = True) -> None:
        """Cancel what an ended (or failed) attempt left running: children still running and
        Suspensions still waiting."""
        now = format_time(self.engine.clock.now())
        for kind, name in sorted(self._by_parent.get(parent, ())):
            if kind == "job":
                job = self.engine.jobs.cache.get(name)
                if children and job is not None and not job_ended(job):
                    await self._delete_job(name)
                continue
            if kind == "suspension":
                obj = self.engine.suspensions.cache.get(name)
                if obj is None or (obj.get("status") or {}).get("phase", "Waiting") != "Waiting":
                    continue
                resume_at = parse_time((obj.get("spec") or {}).get("resumeAt"))
                if resume_at is not None and self.engine.clock.now() >= resume_at:
                    await self.engine.resumer.resume_or_retry(
                        name
                    )  # a sleep its run woke from on time
                    continue
                patch = {"status": {"phase": "Canceled", "message": reason, "resumedAt": now}}
                await self._quietly(
                    self.engine.client.patch(
                        SUSPENSIONS, patch, name=name, namespace=self.engine.namespace, status=True
                    )
                )
                continue
            obj = self.engine.executions.cache.get(name)
            if not children or obj is None or phase_of(obj) in TERMINAL:
                continue
            if (obj.get("spec") or {}).get("cancel"):
                continue
            request = {"reason": reason, "requestedAt": now}
            await self._quietly(
                self.engine.client.patch(
                    EXECUTIONS,
                    {"spec": {"cancel": request}},
                    name=name,
                    namespace=self.engine.namespace,
                )
            )

    async def _delete_job(self, job: str) -> None:
        """Delete a running Job and its pods (their processes are killed)."""
        try:
            await self.engine.client.delete(
                JOBS, job, namespace=self.engine.namespace, propagation="Background"
            )
        except NotFound:
            pass
        except Exception as error:
            _log.warning("deleting Job %s failed: %s", job, error)

    async def _quietly(self, call: Coroutine[Any, Any, JSON]) -> None:
        try:
            self.engine.observed(await call)
        except NotFound:
            pass
        except Exception as error:
            _log.warning("clean-up write failed: %s", error)
