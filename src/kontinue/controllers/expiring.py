"""TTL: archiving and deleting finished execution trees.

A finished *root* execution with ``ttl.archiveAfter`` (its own, or its function's default) is
archived that long after it finished: the whole tree (executions, suspensions, Jobs) is written
to an ArchivedExecution, compressed and split into parts when it is too large for one object,
and only once every part exists is the root deleted (the API server's garbage collector removes
the rest of the tree through the ownerReferences, pods and their processes included). With
``ttl.deleteAfter`` the root, or its archive, is deleted that long after the execution finished.
Children's TTLs are ignored: a tree lives and goes as one.

Writing the archive before deleting anything means a failure leaves the tree intact, with a
Warning Event saying why; it is never half deleted.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from kontinue.api import (
    API_VERSION,
    TERMINAL_PHASES,
    Execution,
    ExecutionTTL,
    encode_archive,
    format_time,
    labels,
    parse_time,
)
from kontinue.api.resources import ARCHIVES, EXECUTIONS, JOBS, SUSPENSIONS
from kontinue.kube import AlreadyExists, ApiError, NotFound
from kontinue.kube.informing import Informer

if TYPE_CHECKING:
    from ._host import ControllerHost

__all__ = ["PART_BYTES", "TTLController", "split_parts"]

JSON = dict[str, Any]
DELETE_AT = labels.ANNOTATION_DELETE_AT
PART_BYTES = 900_000
"""Most encoded bytes per archive part: with metadata, well under the ~1.5 MiB object limit."""
_TERMINAL = {p.value for p in TERMINAL_PHASES}
_log = logging.getLogger("kontinue.controllers")


def split_parts(data: str, size: int = PART_BYTES) -> list[str]:
    """``data`` cut into pieces of at most ``size`` characters (at least one piece)."""
    return [data[i : i + size] for i in range(0, len(data), size)] or [""]


class TTLController:
    """Archives and deletes the finished trees of one worker group (on its leader)."""

    def __init__(self, engine: ControllerHost) -> None:

        self.engine = engine
        self.archives = Informer(engine.client, ARCHIVES, engine.namespace, self._on_archive)
        self._timers: dict[tuple[str, str], Any] = {}
        self._busy: set[tuple[str, str]] = set()

    def _ttl(self, obj: JSON) -> ExecutionTTL | None:
        """The execution's own TTL, else its function's default (read from the raw object:
        this runs on every event of a finished root)."""
        spec = obj.get("spec") or {}
        if spec.get("ttl") is not None:
            return ExecutionTTL.model_validate(spec["ttl"])
        definition = self.engine.functions.get(str(spec.get("function")))
        if definition is not None and definition.defaults is not None:
            return definition.defaults.ttl
        return None

    # Events -------------------------------------------------------------------------------------

    def execution_changed(self, obj: JSON) -> None:
        """Plan the archive or deletion of a finished root execution of this group."""
        meta = obj.get("metadata") or {}
        obj_labels = meta.get("labels") or {}
        if labels.LABEL_PARENT in obj_labels or meta.get("deletionTimestamp"):
            return
        if obj_labels.get(labels.LABEL_WORKER_GROUP) != self.engine.group:
            return
        status = obj.get("status") or {}
        finished = parse_time(status.get("finishedAt"))
        if status.get("phase") not in _TERMINAL or finished is None:
            return
        ttl = self._ttl(obj)
        if ttl is None:
            return
        name = str(meta["name"])
        if ttl.archive_after is not None:
            self._at("archive", name, finished + ttl.archive_after)
        elif ttl.delete_after is not None:
            self._at("delete", name, finished + ttl.delete_after)

    def _on_archive(self, event: str, obj: JSON) -> None:
        meta = obj.get("metadata") or {}
        if event == "DELETED" or int((obj.get("spec") or {}).get("part") or 0) != 0:
            return
        if (meta.get("labels") or {}).get(labels.LABEL_WORKER_GROUP) != self.engine.group:
            return
        when = parse_time((meta.get("annotations") or {}).get(DELETE_AT))
        if when is not None:
            self._at("forget", str((obj.get("spec") or {}).get("root")), when)

    def leading(self) -> None:
        """This replica became the leader: plan every finished execution's archive and
        deletion."""
        for obj in list(self.engine.executions.cache.values()):
            self.execution_changed(obj)
        for obj in list(self.archives.cache.values()):
            self._on_archive("ADDED", obj)

    def _at(self, action: str, name: str, when: datetime) -> None:
        key = (action, name)
        current = self._timers.get(key)
        if current is not None and not current.cancelled and current.when == when:
            return
        if current is not None:
            current.cancel()
        self._timers[key] = self.engine.timers.at(when, lambda: self._fire(action, name))

    def _fire(self, action: str, name: str) -> None:
        key = (action, name)
        self._timers.pop(key, None)
        if not self.engine.leader.is_leader or key in self._busy:
            return
        self._busy.add(key)
        work = {"archive": self._archive, "delete": self._delete_tree, "forget": self._forget}
        self.engine.spawn(self._guarded(key, work[action](name)), f"kontinue-ttl:{action}:{name}")

    async def _guarded(self, key: tuple[str, str], work: Any) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as error:
            _log.warning("ttl %s of %s failed: %s", key[0], key[1], error)
            retry = self.engine.clock.now() + timedelta(seconds=30)
            self._at(key[0], key[1], retry)
        finally:
            self._busy.discard(key)

    # Actions ------------------------------------------------------------------------------------

    async def _tree(self, root: JSON) -> JSON:
        name = root["metadata"]["name"]
        ns = self.engine.namespace
        selector = f"{labels.LABEL_ROOT}={name}"
        client = self.engine.client
        below = await client.list(EXECUTIONS, namespace=ns, label_selector=selector)
        executions = {str(e["metadata"]["name"]): e for e in [root, *below]}
        return {
            "executions": list(executions.values()),
            "suspensions": await client.list(SUSPENSIONS, namespace=ns, label_selector=selector),
            "jobs": await client.list(JOBS, namespace=ns, label_selector=selector),
        }

    async def _archive(self, name: str) -> None:
        client = self.engine.client
        ns = self.engine.namespace
        try:
            root: JSON = await client.get(EXECUTIONS, name, namespace=ns)
        except NotFound:
            return
        execution = Execution.model_validate(root)
        ttl = self._ttl(root)
        if not execution.is_terminal or ttl is None or execution.metadata.deletion_timestamp:
            return
        tree = await self._tree(root)
        data, size = encode_archive(tree)
        pieces = split_parts(data)
        now = self.engine.clock.now()
        finished = execution.status.finished_at or now
        root_labels = execution.metadata.labels
        archive_labels = {
            key: value
            for key, value in root_labels.items()
            if key
            in (
                labels.LABEL_FUNCTION,
                labels.LABEL_WORKER_GROUP,
                labels.LABEL_SCHEDULED_EXECUTION,
            )
        }
        archive_labels[labels.LABEL_ROOT] = name
        annotations = {}
        if ttl.delete_after is not None:
            annotations[DELETE_AT] = format_time(finished + ttl.delete_after)
        created: list[str] = []
        try:
            for index, piece in enumerate(pieces):
                part_name = name if index == 0 else f"{name[:240]}-part-{index}"
                body: JSON = {
                    "apiVersion": API_VERSION,
                    "kind": "ArchivedExecution",
                    "metadata": {
                        "name": part_name,
                        "namespace": ns,
                        "labels": archive_labels,
                        "annotations": annotations,
                    },
                    "spec": {
                        "function": execution.spec.function,
                        "root": name,
                        "archivedAt": format_time(now),
                        "data": piece,
                        "size": size,
                        "parts": len(pieces),
                        "part": index,
                    },
                }
                try:
                    answer = await client.create(body, namespace=ns)
                except AlreadyExists:
                    answer = await client.get(ARCHIVES, part_name, namespace=ns)
                else:
                    created.append(part_name)
                await self._archive_status(answer, execution)
        except ApiError as error:
            for part_name in created:  # never keep half an archive
                try:
                    await client.delete(ARCHIVES, part_name, namespace=ns)
                except NotFound:
                    pass
            self.engine.record_event(
                root,
                "Warning",
                "ArchiveFailed",
                f"the tree of {name} ({size} bytes as JSON) could not be archived: "
                f"{error.message}; it is kept as it is",
            )
            return
        await client.delete(EXECUTIONS, name, namespace=ns, propagation="Background")
        self.engine.record_event(
            root,
            "Normal",
            "Archived",
            f"archived {len(tree['executions'])} executions, {len(tree['suspensions'])} "
            f"suspensions and {len(tree['jobs'])} Jobs in {len(pieces)} part(s)",
        )

    async def _archive_status(self, archive: JSON, execution: Execution) -> None:
        status: JSON = {"phase": execution.status.phase.value}
        if execution.status.message:
            status["message"] = execution.status.message
        if execution.status.started_at is not None:
            status["startedAt"] = format_time(execution.status.started_at)
        if execution.status.finished_at is not None:
            status["finishedAt"] = format_time(execution.status.finished_at)
        await self.engine.client.patch(
            ARCHIVES,
            {"status": status},
            name=archive["metadata"]["name"],
            namespace=self.engine.namespace,
            status=True,
        )

    async def _delete_tree(self, name: str) -> None:
        try:
            await self.engine.client.delete(
                EXECUTIONS, name, namespace=self.engine.namespace, propagation="Background"
            )
        except NotFound:
            return

    async def _forget(self, root: str) -> None:
        parts = await self.engine.client.list(
            ARCHIVES, namespace=self.engine.namespace, label_selector=f"{labels.LABEL_ROOT}={root}"
        )
        for part in parts:
            try:
                await self.engine.client.delete(
                    ARCHIVES, part["metadata"]["name"], namespace=self.engine.namespace
                )
            except NotFound:
                pass
