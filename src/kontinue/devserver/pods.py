"""The local pod runner: the dev server's kubelet.

:class:`PodRunner` runs every Pod stored in the dev server that has not finished, in any
namespace, and reports on it through the ``status`` subresource exactly as a kubelet would, so
Jobs, ``kubectl get pods``, ``kubectl logs`` and kontinue's own status resolution work without a
cluster. The pod lifecycle itself is :mod:`kontinue.pods`, shared with the node agent
(``kontinue node``); this module is its host over the server's registry, in process.

**Containers run as host processes on this machine, as the server's user; the image is
ignored.** Nothing is pulled, there is no isolation and no resource limit (Pod Security
Admission, :mod:`.podsecurity`, keeps privileged and host-sharing pods out by default; a
working directory never leads out of the pod's folder): a container's ``command`` + ``args``
are started with the pod's environment, in a private directory for the pod (``workingDir`` is
taken relative to it, with the directory as ``/``), in its own session so its whole process
tree can be stopped. A container without a ``command`` cannot run (the image's entrypoint is
unknown here) and ends with exit code 127 and reason ``ContainerCannotRun``, as does one whose
executable is missing.

What a kubelet does that this does not (yet): probes (a running container is ready),
``activeDeadlineSeconds``, volumes (the node agent has them), ports, sidecars (restartable init
containers), and image pulls. Restarts (``OnFailure``/``Always``) use a short doubling backoff
capped at 10 seconds; ``previous`` logs are the run before the latest.

Deleting a pod (or setting its deletionTimestamp, when finalizers hold it) sends SIGTERM to each
container's process group and SIGKILL after the grace period, at least 2 seconds and capped at
:data:`MAX_GRACE`; stopping the server does the same with :data:`STOP_GRACE`.

After the server is killed the runner cannot adopt the processes it started: every pod that was
started but had not finished is marked ``Failed`` with reason ``Lost``, and what is left of its
recorded processes (a ``processes`` file in the pod's directory) is killed (on Linux, where
``/proc`` tells a recorded process from a stranger that reused its id; elsewhere they are left).

Each pod gets ``<work_dir>/pods/<namespace>_<name>_<uid>/`` (``root/`` as its working root and
``HOME``, ``logs/`` and the process records), removed when the pod is deleted.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from kontinue.clock import Clock, SystemClock
from kontinue.pods import (
    FINISHED,
    BadLogRequest,
    ConfigError,
    PodGone,
    PodSupervisor,
    RunnerSettings,
    Token,
    TokenSource,
)

from ._work import WorkQueue
from .errors import ApiStatus
from .registry import MERGE_PATCH, Registry
from .storage import Change

__all__ = ["PodRunner"]

log = logging.getLogger("kontinue.devserver.pods")
JSON = dict[str, Any]
PODS_KEY = "/pods"
#: Longest wait between SIGTERM and SIGKILL when a pod is deleted (the grace period is capped:
#: a dev server should not keep a deleted pod's processes for 30 seconds).
MAX_GRACE = 3.0
#: The same when the server stops: stopping should be quick.
STOP_GRACE = 1.0
LOST_MESSAGE = "the dev server restarted while the pod ran; its processes were stopped"


class PodRunner:
    """Runs the dev server's pods as host processes and serves their logs.

    A :class:`~kontinue.devserver.server.Controller`; its :meth:`logs` is the server's
    ``LogSource``, and it is the :class:`~kontinue.pods.PodHost` of its pods. Like the
    collector, it only notes changes in the store listener and acts in a background task, as a
    kubelet reacting to a watch would.
    """

    def __init__(self, work_dir: Path, *, clock: Clock | None = None) -> None:
        self.work_dir = work_dir
        self.clock: Clock = clock or SystemClock()
        self._registry: Registry | None = None
        self.pods = PodSupervisor(
            self,
            RunnerSettings(
                work_dir,
                agent="the dev server",
                max_grace=MAX_GRACE,
                stop_grace=STOP_GRACE,
                lost_message=LOST_MESSAGE,
            ),
        )
        # (namespace, name, uid) -> (deleted, latest pod); a deletion noted once stays noted
        self._queue: WorkQueue[tuple[str, str, str], tuple[bool, JSON]] = WorkQueue(
            "devserver-pod-runner",
            lambda key, value: self._handle(*key, deleted=value[0], pod=value[1]),
            merge=lambda old, new: (old[0] or new[0], new[1]),
            retry_after=None,
        )
        self._unsubscribe: Any = None

    @property
    def registry(self) -> Registry:
        """The server's registry (while started)."""
        if self._registry is None:
            raise RuntimeError("the pod runner is not started")
        return self._registry

    # Controller protocol ------------------------------------------------------------------

    async def start(self, registry: Registry) -> None:
        """Take over the stored pods (after a restart) and run new ones as they come."""
        self._registry = registry
        self._unsubscribe = registry.store.subscribe(self._note)
        await self.pods.recover(entry.load() for _, entry in registry.store.items(PODS_KEY))
        self._queue.start()

    async def stop(self) -> None:
        """Kill every pod's processes; nothing more is written (the store is closing)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self._queue.stop()
        await self.pods.stop(report=False)
        self._registry = None

    # Noting work --------------------------------------------------------------------------

    def _note(self, change: Change) -> None:
        if change.resource != PODS_KEY:
            return
        meta = change.obj.get("metadata", {})
        uid = str(meta.get("uid", ""))
        if change.type == "DELETED" or meta.get("deletionTimestamp"):
            self._queue.add((change.namespace, change.name, uid), (True, change.obj))
        elif (
            uid not in self.pods.runs and change.obj.get("status", {}).get("phase") not in FINISHED
        ):
            self._queue.add((change.namespace, change.name, uid), (False, change.obj))

    def _handle(self, namespace: str, name: str, uid: str, *, deleted: bool, pod: JSON) -> None:
        entry = self.registry.store.get(PODS_KEY, namespace, name)
        current = entry is not None and entry.uid == uid
        if deleted:
            self.pods.delete(pod, gone=not current)
        elif current and entry is not None:
            self.pods.start(entry.load())

    # PodHost ------------------------------------------------------------------------------

    async def write_status(self, namespace: str, name: str, uid: str, status: JSON) -> None:
        """Patch the pod's status in the registry (404/409: :class:`~kontinue.pods.PodGone`)."""
        rt = self.registry.catalog.by_key(PODS_KEY)
        assert rt is not None
        try:
            self.registry.patch(
                rt,
                "v1",
                namespace,
                name,
                MERGE_PATCH,
                {"metadata": {"uid": uid}, "status": status},
                subresource="status",
            )
        except ApiStatus as exc:
            raise PodGone(str(exc)) from exc

    async def lookup(self, plural: str, namespace: str, name: str) -> JSON | None:
        """A ConfigMap or Secret a container's environment refers to."""
        entry = self.registry.store.get(f"/{plural}", namespace, name)
        return None if entry is None else entry.load()

    async def request_token(self, pod: JSON, source: TokenSource) -> Token:
        """The dev server issues no service-account tokens (its pods get no volumes)."""
        raise ConfigError("the dev server does not issue service-account tokens")

    async def finish_deletion(self, namespace: str, name: str, uid: str) -> bool:
        """Nothing to do (the registry deletes pods itself); whether it is gone."""
        entry = self._registry.store.get(PODS_KEY, namespace, name) if self._registry else None
        return entry is None or entry.uid != uid

    def record_event(
        self, pod: JSON, kind: str, reason: str, message: str, container: str = ""
    ) -> None:
        """Pods' events are only logged (at debug level) on the dev server."""
        meta = pod.get("metadata", {})
        log.debug("pod %s/%s: %s %s", meta.get("namespace"), meta.get("name"), reason, message)

    # Logs ---------------------------------------------------------------------------------

    async def logs(
        self, namespace: str, name: str, query: dict[str, str]
    ) -> bytes | AsyncIterator[bytes]:
        """``pods/log``: a container's output, with the query options of the real kubelet."""
        entry = self.registry.store.get(PODS_KEY, namespace, name)
        if entry is None:
            raise ApiStatus.not_found("pods", name)
        try:
            return await self.pods.logs(entry.load(), query)
        except BadLogRequest as exc:
            raise ApiStatus.bad_request(str(exc)) from None
