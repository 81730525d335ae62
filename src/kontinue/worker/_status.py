"""Writing an Execution's status: the one :class:`StatusWriter` every status write of the
worker goes through, and its pure parts (step and error JSON, JSON patches).

A write is a JSON patch (not a merge patch, see :func:`status_ops`) whose first operation
pins the resourceVersion the writer last saw, with the conditions and ``observedGeneration``
that follow from the change (:func:`kontinue.api.conditions_for`, shared with the client). What
a 409 means is the caller's to decide: a run that finds another writer's status stops
(:meth:`StatusWriter.send`), a decision taken from outside a run is applied again on top of
what is there now (:meth:`StatusWriter.write_over`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kontinue.api import TERMINAL_PHASES, ExecutionError, ExecutionPhase, ExecutionStep
from kontinue.api import conditions_for as _conditions_for
from kontinue.api.resources import EXECUTIONS
from kontinue.clock import Clock
from kontinue.kube import AsyncKubeClient, Conflict, NotFound

__all__ = [
    "TERMINAL",
    "StatusWriter",
    "dump_error",
    "dump_step",
    "labels_of",
    "phase_of",
    "status_ops",
]

JSON = dict[str, Any]
TERMINAL = {phase.value for phase in TERMINAL_PHASES}
"""The terminal phases as status strings."""
_ATTEMPTS = 8


def phase_of(obj: JSON) -> str:
    """An Execution's phase as its status says (Pending before it has one)."""
    return str((obj.get("status") or {}).get("phase") or ExecutionPhase.PENDING.value)


def labels_of(obj: JSON) -> dict[str, str]:
    """An object's labels (empty when it has none)."""
    return (obj.get("metadata") or {}).get("labels") or {}


def dump_step(step: ExecutionStep) -> JSON:
    """The status form of a step (``value`` kept even when null: it is a recorded result)."""
    data: JSON = step.model_dump(mode="json", by_alias=True, exclude_none=True)
    if step.state.value != "Pending" and "value" not in data:
        data["value"] = None
    return data


def dump_error(error: ExecutionError) -> JSON:
    """The status form of an error."""
    return error.model_dump(mode="json", by_alias=True, exclude_none=True)


def _pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def status_ops(current: JSON | None, changes: JSON, resource_version: str) -> list[JSON]:
    """A JSON patch (RFC 6902) applying ``changes`` to a status that is ``current``.

    Not a merge patch, where ``null`` means "delete": a result or stored value may hold nulls
    (``{"note": None}``) and must be stored as given. A key set to None in ``changes`` is
    removed; ``steps`` entries are added or removed one by one. The first operation sets the
    resourceVersion the change is based on, so the server refuses it (409) if the object
    changed meanwhile.
    """
    ops: list[JSON] = [
        {"op": "replace", "path": "/metadata/resourceVersion", "value": resource_version}
    ]
    if current is None:
        ops.append({"op": "add", "path": "/status", "value": {}})
        current = {}
    for key, value in changes.items():
        if key == "steps" and isinstance(value, dict):
            steps = current.get("steps")
            if not isinstance(steps, dict):
                kept = {k: v for k, v in value.items() if v is not None}
                ops.append({"op": "add", "path": _pointer("status", "steps"), "value": kept})
                continue
            for step_id, step in value.items():
                path = _pointer("status", "steps", step_id)
                if step is not None:
                    ops.append({"op": "add", "path": path, "value": step})
                elif step_id in steps:
                    ops.append({"op": "remove", "path": path})
            continue
        path = _pointer("status", key)
        if value is not None:
            ops.append({"op": "add", "path": path, "value": value})
        elif key in current:
            ops.append({"op": "remove", "path": path})
    return ops


class StatusWriter:
    """Writes the status of the namespace's Executions for one worker; ``observe`` gets every
    answer (the worker's cache stays coherent with its own writes)."""

    def __init__(
        self,
        client: AsyncKubeClient,
        namespace: str,
        clock: Clock,
        observe: Callable[[JSON], None],
    ) -> None:
        self._client = client
        self._namespace = namespace
        self._clock = clock
        self._observe = observe

    def with_conditions(
        self, obj: Mapping[str, Any], status: Mapping[str, Any], patch: JSON
    ) -> JSON:
        """``patch`` plus the conditions and ``observedGeneration`` of the status it makes of
        ``status`` (the status of ``obj`` as the writer knows it)."""
        phase = ExecutionPhase(patch.get("phase") or status.get("phase") or "Pending")
        generation = int((obj.get("metadata") or {}).get("generation") or 1)
        conditions = _conditions_for(
            phase,
            patch.get("message", status.get("message")),
            status.get("conditions") or [],
            self._clock.now(),
            generation,
        )
        return {**patch, "conditions": conditions, "observedGeneration": generation}

    async def send(
        self, name: str, current: JSON | None, changes: JSON, resource_version: str
    ) -> JSON:
        """One patch of ``changes`` over ``current`` (None: the object has no status yet),
        refused with :class:`~kontinue.kube.Conflict` if the object is no longer at
        ``resource_version``; the answer is observed and returned."""
        answer: JSON = await self._client.patch(
            EXECUTIONS,
            status_ops(current, changes, resource_version),
            name=name,
            namespace=self._namespace,
            status=True,
            type="json",
        )
        self._observe(answer)
        return answer

    async def get(self, name: str) -> JSON | None:
        """The execution as the API server has it now (observed), None when it is gone."""
        try:
            obj: JSON = await self._client.get(EXECUTIONS, name, namespace=self._namespace)
        except NotFound:
            return None
        self._observe(obj)
        return obj

    async def write_over(
        self, name: str, obj: JSON | None, patch: JSON, *, only_if_changed: bool = False
    ) -> JSON | None:
        """Patch the status of a non-terminal execution on top of whatever it is now: on a
        409 the object is read again and the patch applied to it. None when the execution is
        gone or ended meanwhile (only a rerun's Backoff may follow an end)."""
        for _ in range(_ATTEMPTS):
            if obj is None:
                return None
            status = obj.get("status") or {}
            if status.get("phase") in TERMINAL and patch.get("phase") not in (
                None,
                ExecutionPhase.BACKOFF.value,
            ):
                return None
            if only_if_changed and all(status.get(k) == v for k, v in patch.items()):
                return obj
            changes = self.with_conditions(obj, status, patch)
            current = obj.get("status") if "status" in obj else None
            try:
                return await self.send(name, current, changes, obj["metadata"]["resourceVersion"])
            except Conflict:
                obj = await self.get(name)
            except NotFound:
                return None
        raise Conflict(409, {"message": f"status of {name} kept changing"})
