"""The pods of one runner: starting, deleting, recovering after a restart, serving logs.

A :class:`PodSupervisor` is told what happens to pods (one to run, one being deleted, one gone)
by whoever watches them: the dev server's store listener, or the node agent's watch on the API.
It owns the :class:`~._runs.PodRun` of each pod it runs and everything on disk under
``<work_dir>/pods``.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
from collections.abc import AsyncGenerator, Coroutine, Iterable
from pathlib import Path
from typing import Any

from kontinue.clock import format_time
from kontinue.tasks import TaskSet

from ._logs import LogOptions, choose_container, follow, log_file, read_lines
from ._processes import kill_recorded
from ._runs import FINISHED, PodGone, PodHost, PodRun
from ._settings import RunnerSettings

__all__ = ["PodSupervisor", "lost_status"]

log = logging.getLogger("kontinue.pods")
JSON = dict[str, Any]


def _identity(pod: JSON) -> tuple[str, str, str]:
    meta = pod.get("metadata") or {}
    return str(meta.get("namespace", "")), str(meta.get("name", "")), str(meta.get("uid", ""))


def lost_status(status: JSON, now: str, message: str) -> JSON:
    """The status patch of a pod whose processes a restart of the runner lost: Failed, reason
    ``Lost``, every container that had not ended terminated with exit code 137."""

    def lost(container: JSON) -> JSON:
        state = container.get("state", {})
        if "terminated" in state:
            return container
        started = (state.get("running") or {}).get("startedAt") or now
        terminated = {
            "exitCode": 137,
            "reason": "Lost",
            "message": message,
            "startedAt": started,
            "finishedAt": now,
        }
        return {**container, "ready": False, "started": False, "state": {"terminated": terminated}}

    patch: JSON = {"phase": "Failed", "reason": "Lost", "message": message}
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
    return patch


class PodSupervisor:
    """Runs pods as host processes on this machine, for one runner.

    Call :meth:`recover` once with the pods found at start, then :meth:`start` for each pod to
    run, :meth:`delete` for each pod given a deletionTimestamp, :meth:`forget` for each pod
    removed from the API, and :meth:`stop` at the end. All of them return at once; the work is
    done in named tasks.
    """

    def __init__(self, host: PodHost, settings: RunnerSettings) -> None:
        self.host = host
        self.settings = settings
        self.runs: dict[str, PodRun] = {}
        self._deletions: dict[str, asyncio.Task[None]] = {}
        self._gone: set[str] = set()
        self._tasks = TaskSet(log)
        self._closed = False

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        return self._tasks.spawn(coro, name)

    def directory(self, namespace: str, name: str, uid: str) -> Path:
        """The pod's private directory."""
        return self.settings.directory(namespace, name, uid)

    # Starting -----------------------------------------------------------------------------

    def start(self, pod: JSON) -> None:
        """Run ``pod``, unless it runs already, has finished or is being deleted."""
        namespace, name, uid = _identity(pod)
        if self._closed or uid in self.runs or uid in self._deletions:
            return
        if pod.get("status", {}).get("phase") in FINISHED or pod["metadata"].get(
            "deletionTimestamp"
        ):
            return
        run = PodRun(self.host, self.settings, pod, self.directory(namespace, name, uid))
        self.runs[uid] = run
        run.task = self._spawn(self._guarded(run), f"pod-{namespace}-{name}")

    async def _guarded(self, run: PodRun) -> None:
        try:
            await run.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("running pod %s/%s failed", run.namespace, run.name)
            run.stopping = True
            run.signal_all(signal.SIGKILL)

    async def recover(self, pods: Iterable[JSON]) -> None:
        """Take over after a restart: pods an earlier run of the runner started and did not
        finish are marked lost (what is left of their processes is killed), pods being deleted
        are let go, the others start; folders of pods that no longer exist are removed."""
        existing: set[Path] = set()
        for pod in pods:
            namespace, name, uid = _identity(pod)
            existing.add(self.directory(namespace, name, uid))
            status = pod.get("status", {})
            if pod["metadata"].get("deletionTimestamp"):
                self.delete(pod)
            elif status.get("phase") in FINISHED:
                continue
            elif status.get("startTime"):
                await self._mark_lost(pod)
            else:
                self.start(pod)
        root = self.settings.work_dir / "pods"
        if root.is_dir():
            for leftover in root.iterdir():
                if leftover not in existing:
                    kill_recorded(leftover)
                    shutil.rmtree(leftover, ignore_errors=True)

    async def _mark_lost(self, pod: JSON) -> None:
        namespace, name, uid = _identity(pod)
        kill_recorded(self.directory(namespace, name, uid))
        now = format_time(self.host.clock.now())
        patch = lost_status(pod.get("status", {}), now, self.settings.lost_message)
        try:
            await self.host.write_status(namespace, name, uid, patch)
        except PodGone:
            log.debug("pod %s/%s vanished before it could be marked lost", namespace, name)
        except Exception:
            log.exception("pod %s/%s could not be marked lost", namespace, name)

    # Deleting -----------------------------------------------------------------------------

    def delete(self, pod: JSON, *, gone: bool = False) -> None:
        """``pod`` is being deleted (``gone``: it is already out of the API): stop its
        processes within its grace period, then let the host finish the deletion."""
        namespace, name, uid = _identity(pod)
        if gone:
            self._gone.add(uid)
        task = self._deletions.get(uid)
        if task is None:
            self._deletions[uid] = self._spawn(self._delete(pod), f"pod-delete-{namespace}-{name}")
        elif task.done() and gone:  # finished earlier, held by finalizers until now
            self._cleanup(namespace, name, uid)

    def forget(self, pod: JSON) -> None:
        """``pod`` was removed from the API: stop it if it still runs, remove its folder."""
        self.delete(pod, gone=True)

    async def _delete(self, pod: JSON) -> None:
        namespace, name, uid = _identity(pod)
        run = self.runs.get(uid)
        if run is not None:
            run.deleting = True
            if run.task is not None and not run.task.done():
                self.host.record_event(
                    run.pod, "Normal", "Killing", "Stopping the pod's containers", ""
                )
            # Kept in runs until now so that stop() also waits for (and kills) pods being
            # deleted.
            await run.kill(self.settings.grace(pod))
            self.runs.pop(uid, None)
        else:
            kill_recorded(self.directory(namespace, name, uid))
        if self._closed:
            return
        gone = uid in self._gone
        if not gone:
            try:
                gone = await self.host.finish_deletion(namespace, name, uid)
            except Exception:
                log.exception("pod %s/%s: finishing its deletion failed", namespace, name)
        if gone or uid in self._gone:
            self._cleanup(namespace, name, uid)

    def _cleanup(self, namespace: str, name: str, uid: str) -> None:
        self._deletions.pop(uid, None)
        self._gone.discard(uid)
        shutil.rmtree(self.directory(namespace, name, uid), ignore_errors=True)

    # Stopping -----------------------------------------------------------------------------

    async def stop(self, *, report: bool) -> None:
        """Stop every pod (SIGTERM, SIGKILL after ``stop_grace``).

        With ``report`` each pod's last status is written (phase Failed, reason
        ``Terminated``); without, nothing more is written (the dev server's store is closing).
        """
        self._closed = True
        runs, self.runs = list(self.runs.values()), {}
        for run in runs:
            if report:
                run.reason = ("Terminated", self.settings.stop_message)
            else:
                run.gone = True
        await asyncio.gather(*(run.kill(self.settings.stop_grace) for run in runs))
        await self._tasks.close()

    # Logs ---------------------------------------------------------------------------------

    async def logs(self, pod: JSON, query: dict[str, str]) -> bytes | AsyncGenerator[bytes, None]:
        """A container's log as the kubelet answers ``containerLogs`` (and ``pods/log``).

        ``query`` has the API's options (``container``, ``follow``, ``previous``,
        ``timestamps``, ``tailLines``, ``sinceSeconds``, ``sinceTime``, ``limitBytes``).
        Raises :class:`~._logs.BadLogRequest` with the kubelet's message when it cannot be
        answered.
        """
        namespace, name, uid = _identity(pod)
        options = LogOptions.parse(query, self.host.clock.now())
        container = choose_container(pod, name, query.get("container", ""))
        folder = self.directory(namespace, name, uid) / "logs" / container
        path = log_file(folder, pod, name, container, options.previous)
        lines, offset = read_lines(path)
        chunk = options.render(options.select(lines))
        if options.limit is not None:
            chunk = chunk[: options.limit]
        if not options.follow or options.previous:
            return chunk
        run = self.runs.get(uid)
        state = None
        if run is not None:
            state = next((c for c in [*run.init, *run.main] if c.name == container), None)
        return follow(chunk, path, offset, state.writer if state else None, options)
