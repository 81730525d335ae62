"""The local pod runner: the dev server's kubelet.

:class:`PodRunner` runs every Pod stored in the dev server that has not finished, in any
namespace, and reports on it through the ``status`` subresource exactly as a kubelet would, so
Jobs, ``kubectl get pods``, ``kubectl logs`` and kontinue's own status resolution work without a
cluster.

**Containers run as host processes on this machine; the image is ignored.** Nothing is pulled,
there is no isolation and no resource limit: a container's ``command`` + ``args`` are started
with the pod's environment, in a private directory for the pod (``workingDir`` is taken relative
to it), in its own session so its whole process tree can be stopped. A container without a
``command`` cannot run (the image's entrypoint is unknown here) and ends with exit code 127 and
reason ``ContainerCannotRun``, as does one whose executable is missing.

What a kubelet does that this does not (yet): probes (a running container is ready),
``activeDeadlineSeconds``, volumes, ports, sidecars (restartable init containers), ``previous``
logs, and image pulls. Restarts (``OnFailure``/``Always``) use a short doubling backoff capped at
10 seconds.

Deleting a pod (or setting its deletionTimestamp, when finalizers hold it) sends SIGTERM to each
container's process group and SIGKILL after ``terminationGracePeriodSeconds``, capped at
:data:`MAX_GRACE`; stopping the server does the same with :data:`STOP_GRACE`.

After the server is killed the runner cannot adopt the processes it started: every pod that was
started but had not finished is marked ``Failed`` with reason ``Lost``, and what is left of its
recorded processes (a ``processes`` file in the pod's directory) is killed (on Linux, where
``/proc`` tells a recorded process from a stranger that reused its id; elsewhere they are left).

Each pod gets ``<work_dir>/pods/<namespace>_<name>_<uid>/`` (``root/`` as its working root and
``HOME``, ``logs/`` and the process records), removed when the pod is deleted. The lifecycle of one
pod is in :mod:`._pod_runs`, processes and environments in :mod:`._processes`, logs in
:mod:`._pod_logs`.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from kontinue.clock import Clock, SystemClock, format_time

from ._pod_logs import (
    LogOptions,
    choose_container,
    follow,
    latest_log,
    read_lines,
    waiting_reason,
)
from ._pod_runs import FINISHED, PodRun
from ._processes import LostProcess, kill_lost
from ._work import WorkQueue
from .errors import ApiStatus
from .registry import MERGE_PATCH, Registry
from .storage import Change

__all__ = ["PodRunner"]

log = logging.getLogger("kontinue.devserver.pods")
JSON = dict[str, Any]
PODS_KEY = "/pods"
#: Longest wait between SIGTERM and SIGKILL when a pod is deleted (terminationGracePeriodSeconds
#: is capped: a dev server should not keep a deleted pod's processes for 30 seconds).
MAX_GRACE = 3.0
#: The same when the server stops: stopping should be quick.
STOP_GRACE = 1.0
LOST_MESSAGE = "the dev server restarted while the pod ran; its processes were stopped"


def pod_directory(work_dir: Path, namespace: str, name: str, uid: str) -> Path:
    """The pod's private directory: its working root, log files and process records."""
    return work_dir / "pods" / f"{namespace}_{name}_{uid}"


class PodRunner:
    """Runs the dev server's pods as host processes and serves their logs.

    A :class:`~kontinue.devserver.server.Controller`; its :meth:`logs` is the server's
    ``LogSource``. Like the collector, it only notes changes in the store listener and acts in
    a background task, as a kubelet reacting to a watch would.
    """

    def __init__(self, work_dir: Path, *, clock: Clock | None = None) -> None:
        self.work_dir = work_dir
        self.clock: Clock = clock or SystemClock()
        self._registry: Registry | None = None
        self._runs: dict[str, PodRun] = {}
        # (namespace, name, uid) -> deleted; a deletion noted once stays noted
        self._queue: WorkQueue[tuple[str, str, str], bool] = WorkQueue(
            "devserver-pod-runner",
            lambda key, deleted: self._handle(*key, deleted=deleted),
            merge=lambda old, new: old or new,
            retry_after=None,
        )
        self._unsubscribe: Any = None

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            raise RuntimeError("the pod runner is not started")
        return self._registry

    # Controller protocol ------------------------------------------------------------------

    async def start(self, registry: Registry) -> None:
        self._registry = registry
        self._unsubscribe = registry.store.subscribe(self._note)
        self._recover()
        self._queue.start()

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self._queue.stop()
        runs, self._runs = list(self._runs.values()), {}
        for run in runs:
            run.gone = True  # the store is about to close: no more status writes
        await asyncio.gather(*(run.kill(STOP_GRACE) for run in runs))
        self._registry = None

    # Noting work --------------------------------------------------------------------------

    def _note(self, change: Change) -> None:
        if change.resource != PODS_KEY:
            return
        meta = change.obj.get("metadata", {})
        uid = str(meta.get("uid", ""))
        if change.type == "DELETED" or meta.get("deletionTimestamp"):
            self._queue.add((change.namespace, change.name, uid), True)
        elif uid not in self._runs and change.obj.get("status", {}).get("phase") not in FINISHED:
            self._queue.add((change.namespace, change.name, uid), False)

    def _recover(self) -> None:
        """Fail the pods an earlier server started and queue the others (after a restart)."""
        existing: set[Path] = set()
        for (namespace, name), entry in self.registry.store.items(PODS_KEY):
            pod = entry.load()
            meta = pod.get("metadata", {})
            uid = str(meta.get("uid", ""))
            existing.add(pod_directory(self.work_dir, namespace, name, uid))
            status = pod.get("status", {})
            if status.get("phase") in FINISHED or meta.get("deletionTimestamp"):
                continue
            if status.get("startTime"):
                self._mark_lost(namespace, name, uid, pod)
            else:
                self._queue.add((namespace, name, uid), False)
        root = self.work_dir / "pods"
        if root.is_dir():
            for leftover in root.iterdir():
                if leftover not in existing:
                    shutil.rmtree(leftover, ignore_errors=True)

    def _mark_lost(self, namespace: str, name: str, uid: str, pod: JSON) -> None:
        directory = pod_directory(self.work_dir, namespace, name, uid)
        records = directory / "processes"
        if records.exists():
            for line in records.read_text().splitlines():
                parts = line.split()
                if len(parts) == 3 and int(parts[2]) >= 0:
                    kill_lost(LostProcess(int(parts[1]), int(parts[2])))
        now = format_time(self.clock.now())
        status = pod.get("status", {})

        def lost(container: JSON) -> JSON:
            state = container.get("state", {})
            if "terminated" in state:
                return container
            started = (state.get("running") or {}).get("startedAt") or now
            terminated = {
                "exitCode": 137,
                "reason": "Lost",
                "message": LOST_MESSAGE,
                "startedAt": started,
                "finishedAt": now,
            }
            return {
                **container,
                "ready": False,
                "started": False,
                "state": {"terminated": terminated},
            }

        patch: JSON = {"phase": "Failed", "reason": "Lost", "message": LOST_MESSAGE}
        for key in ("containerStatuses", "initContainerStatuses"):
            if status.get(key):
                patch[key] = [lost(c) for c in status[key]]
        conditions = []
        for condition in status.get("conditions") or ():
            if (
                condition.get("type") in ("Ready", "ContainersReady")
                and condition.get("status") != "False"
            ):
                condition = {
                    **condition,
                    "status": "False",
                    "reason": "PodFailed",
                    "lastTransitionTime": now,
                }
            conditions.append(condition)
        if conditions:
            patch["conditions"] = conditions
        try:
            self.write_status(namespace, name, uid, patch)
        except ApiStatus:
            log.debug("pod %s/%s vanished before it could be marked lost", namespace, name)

    # Running ------------------------------------------------------------------------------

    def _handle(self, namespace: str, name: str, uid: str, *, deleted: bool) -> None:
        run = self._runs.get(uid)
        if deleted:
            if run is not None:
                if not run.deleting:
                    run.deleting = True
                    self._spawn(self._delete(run), f"devserver-pod-delete-{name}")
            elif self.registry.store.get(PODS_KEY, namespace, name) is None:
                shutil.rmtree(
                    pod_directory(self.work_dir, namespace, name, uid), ignore_errors=True
                )
            return
        if run is not None:
            return
        entry = self.registry.store.get(PODS_KEY, namespace, name)
        if entry is None or entry.uid != uid:
            return
        pod = entry.load()
        if pod.get("status", {}).get("phase") in FINISHED or pod["metadata"].get(
            "deletionTimestamp"
        ):
            return
        directory = pod_directory(self.work_dir, namespace, name, uid)
        run = PodRun(self, namespace, name, uid, pod, directory)
        self._runs[uid] = run
        run.task = self._spawn(self._guarded(run), f"devserver-pod-{namespace}-{name}")

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro, name=name)
        return task

    async def _guarded(self, run: PodRun) -> None:
        try:
            await run.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("running pod %s/%s failed", run.namespace, run.name)
            run.stopping = True
            run.signal_all(signal.SIGKILL)

    async def _delete(self, run: PodRun) -> None:
        grace = run.pod.get("spec", {}).get("terminationGracePeriodSeconds")
        await run.kill(min(MAX_GRACE, float(grace if grace is not None else 30)))
        # Kept in _runs until now so that stop() also waits for (and kills) pods being deleted.
        self._runs.pop(run.uid, None)
        if (
            self._registry is not None
            and self.registry.store.get(PODS_KEY, run.namespace, run.name) is None
        ):
            shutil.rmtree(run.directory, ignore_errors=True)

    # Registry access ----------------------------------------------------------------------

    def write_status(self, namespace: str, name: str, uid: str, status: JSON) -> None:
        rt = self.registry.catalog.by_key(PODS_KEY)
        assert rt is not None
        self.registry.patch(
            rt,
            "v1",
            namespace,
            name,
            MERGE_PATCH,
            {"metadata": {"uid": uid}, "status": status},
            subresource="status",
        )

    def lookup(self, plural: str, namespace: str, name: str) -> JSON | None:
        """A ConfigMap or Secret a container's environment refers to."""
        entry = self.registry.store.get(f"/{plural}", namespace, name)
        return None if entry is None else entry.load()

    # Logs ---------------------------------------------------------------------------------

    async def logs(
        self, namespace: str, name: str, query: dict[str, str]
    ) -> bytes | AsyncIterator[bytes]:
        """``pods/log``: a container's output, with the query options of the real kubelet."""
        entry = self.registry.store.get(PODS_KEY, namespace, name)
        if entry is None:
            raise ApiStatus.not_found("pods", name)
        pod = entry.load()
        container = choose_container(pod, name, query.get("container", ""))
        if query.get("previous") == "true":
            raise ApiStatus.bad_request(
                f'previous terminated container "{container}" in pod "{name}" not found: the '
                "dev server keeps only the logs of each container's latest run"
            )
        meta = pod["metadata"]
        directory = pod_directory(self.work_dir, namespace, name, str(meta.get("uid", "")))
        path = latest_log(directory / "logs" / container)
        if path is None:
            raise ApiStatus.bad_request(
                f'container "{container}" in pod "{name}" is waiting to start: '
                + waiting_reason(pod, container)
            )
        options = LogOptions.parse(query, self.clock.now())
        lines, offset = read_lines(path)
        chunk = options.render(options.select(lines))
        if not options.follow:
            return chunk[: options.limit] if options.limit is not None else chunk
        run = self._runs.get(entry.uid)
        state = None
        if run is not None:
            state = next((c for c in [*run.init, *run.main] if c.name == container), None)
        return follow(chunk, path, offset, state.writer if state else None, options)
