"""Mutexes and function concurrency limits, as Leases that hold across replicas.

Each gate is one ``coordination.k8s.io/v1`` Lease in the namespace: a named mutex
(``spec.mutex.name``, one holder) or a function's ``concurrency.limit`` (that many holders).
The Lease lists its holders and, in arrival order, its waiters (annotations): the order in
which this worker's watch saw the executions created, not the order in which it happened to
look at them (those race each other after a burst of creations). Every change
is written with the Lease's resourceVersion, so two leaders (or shards) cannot both take the
last slot. Holders are executions, not workers: a holder whose worker died keeps its slot until
the execution is resumed elsewhere or ends. Slots of executions that ended or were deleted are
reclaimed the next time anyone looks.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kontinue.api import TERMINAL_PHASES, Execution, labels
from kontinue.api.resources import LEASES
from kontinue.kube import AlreadyExists, Conflict, NotFound
from kontinue.kube.informing import Informer

if TYPE_CHECKING:
    from ._host import ControllerHost

__all__ = ["Gate", "Semaphores", "gates_of"]

JSON = dict[str, Any]
SEMAPHORE_LABEL = labels.LABEL_SEMAPHORE
HOLDERS = labels.ANNOTATION_HOLDERS
WAITERS = labels.ANNOTATION_WAITERS
_TERMINAL = {p.value for p in TERMINAL_PHASES}
_log = logging.getLogger("kontinue.controllers")


@dataclass(frozen=True)
class Gate:
    """One semaphore an execution must hold to run."""

    kind: str
    """``mutex`` or ``function``."""
    key: str
    """The mutex name or the function name."""
    limit: int
    """How many executions may hold it at once."""

    @property
    def lease(self) -> str:
        """The name of the Lease that keeps the gate."""
        slug = re.sub(r"[^a-z0-9-]+", "-", self.key.lower()).strip("-")[:40] or "x"
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:8]
        return f"kontinue-{self.kind}-{slug}-{digest}"

    def describe(self) -> str:
        """The gate as messages name it (``mutex db``, ``the concurrency limit of f (3)``)."""
        if self.kind == "mutex":
            return f"mutex {self.key}"
        return f"the concurrency limit of {self.key} ({self.limit})"


def gates_of(execution: Execution, function_limit: int | None) -> list[Gate]:
    """The gates ``execution`` must hold: its mutex, then its function's limit."""
    gates = []
    if execution.spec.mutex is not None:
        gates.append(Gate("mutex", execution.spec.mutex.name, 1))
    if function_limit is not None:
        gates.append(Gate("function", execution.spec.function, function_limit))
    return gates


def _names(text: str | None) -> list[str]:
    return [n for n in (text or "").split(",") if n]


class Semaphores:
    """Takes and releases gates for one worker group's executions."""

    def __init__(self, engine: ControllerHost) -> None:

        self.engine = engine
        self.leases = Informer(
            engine.client, LEASES, engine.namespace, self._on_lease, label_selector=SEMAPHORE_LABEL
        )
        self.waiting: set[str] = set()
        self._arrivals: dict[str, int] = {}
        """The order in which new executions were seen (a waiter queues behind those before it)."""
        self._arrived = 0
        """Executions of this group waiting for a gate (reconciled again when one frees)."""

    def _on_lease(self, event: str, obj: JSON) -> None:
        for name in list(self.waiting):
            self.engine.enqueue(name)

    def execution_arrived(self, name: str) -> None:
        """The watch saw the execution ``name`` for the first time."""
        if name not in self._arrivals:
            self._arrived += 1
            self._arrivals[name] = self._arrived

    def execution_ended(self, obj: JSON) -> None:
        """Any execution ended or went away: waiters may move up."""
        self._arrivals.pop(str(obj["metadata"]["name"]), None)
        spec = obj.get("spec") or {}
        if self.waiting and (spec.get("mutex") or spec.get("function")):
            for name in list(self.waiting):
                self.engine.enqueue(name)

    def _alive(self, name: str) -> bool:
        obj = self.engine.executions.cache.get(name)
        if obj is None or (obj.get("metadata") or {}).get("deletionTimestamp"):
            return False
        return str((obj.get("status") or {}).get("phase") or "Pending") not in _TERMINAL

    async def acquire(self, execution: Execution, gates: list[Gate]) -> str | None:
        """Hold every gate (None), or the message saying what the execution waits for."""
        name = execution.metadata.name or ""
        for gate in gates:
            waiting = await self._take(gate, name)
            if waiting is not None:
                self.waiting.add(name)
                return waiting
        self.waiting.discard(name)
        return None

    async def release(self, name: str, gates: list[Gate]) -> None:
        """Give up ``name``'s slots and queue positions."""
        self.waiting.discard(name)
        for gate in gates:
            await self._change(
                gate,
                lambda holders, waiters: (
                    [h for h in holders if h != name],
                    [w for w in waiters if w != name],
                ),
            )

    async def _take(self, gate: Gate, name: str) -> str | None:
        outcome: dict[str, str | None] = {"waiting": None}

        def take(holders: list[str], waiters: list[str]) -> tuple[list[str], list[str]]:
            holders = [h for h in holders if self._alive(h) or h == name]
            waiters = [w for w in waiters if (self._alive(w) or w == name) and w not in holders]
            if name in holders:
                outcome["waiting"] = None
                return holders, waiters
            if name not in waiters:
                waiters.insert(self._place(name, waiters), name)
            free = gate.limit - len(holders)
            if free > 0 and name in waiters[:free]:
                waiters.remove(name)
                return [*holders, name], waiters
            position = waiters.index(name) + 1
            held = ", ".join(holders) or "nobody"
            outcome["waiting"] = (
                f"waiting for {gate.describe()}, held by {held} "
                f"(position {position} of {len(waiters)} waiting)"
            )
            return holders, waiters

        await self._change(gate, take)
        return outcome["waiting"]

    def _place(self, name: str, waiters: list[str]) -> int:
        """Where ``name`` joins the line: behind every waiter that arrived before it (a waiter
        this worker never saw, another replica's, keeps its place ahead)."""
        mine = self._arrivals.get(name)
        if mine is None:
            return len(waiters)
        for index, waiter in enumerate(waiters):
            theirs = self._arrivals.get(waiter)
            if theirs is not None and theirs > mine:
                return index
        return len(waiters)

    async def _change(self, gate: Gate, change: Any) -> None:
        client = self.engine.client
        ns = self.engine.namespace
        for _ in range(10):
            lease = self.leases.cache.get(gate.lease)
            if lease is None:
                holders, waiters = change([], [])
                body = _lease(gate, ns, holders, waiters)
                try:
                    created = await client.create(body, namespace=ns)
                except AlreadyExists:
                    self.leases.observe(await client.get(LEASES, gate.lease, namespace=ns))
                    continue
                self.leases.observe(created)
                return
            notes = (lease.get("metadata") or {}).get("annotations") or {}
            before = (_names(notes.get(HOLDERS)), _names(notes.get(WAITERS)))
            holders, waiters = change(*before)
            if (holders, waiters) == before:
                return
            updated = _lease(gate, ns, holders, waiters)
            updated["metadata"]["resourceVersion"] = lease["metadata"]["resourceVersion"]
            try:
                answer = await client.update(updated)
            except Conflict:
                self.leases.observe(await client.get(LEASES, gate.lease, namespace=ns))
                continue
            except NotFound:
                self.leases.forget(gate.lease)
                continue
            self.leases.observe(answer)
            return
        raise Conflict(409, {"message": f"the Lease of {gate.describe()} kept changing"})


def _lease(gate: Gate, namespace: str, holders: list[str], waiters: list[str]) -> JSON:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": gate.lease,
            "namespace": namespace,
            "labels": {SEMAPHORE_LABEL: gate.kind},
            "annotations": {
                labels.ANNOTATION_GATE: f"{gate.kind}/{gate.key}",
                labels.ANNOTATION_GATE_LIMIT: str(gate.limit),
                HOLDERS: ",".join(holders),
                WAITERS: ",".join(waiters),
            },
        },
        "spec": {"holderIdentity": holders[0] if holders else None},
    }
