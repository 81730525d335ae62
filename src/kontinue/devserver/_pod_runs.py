"""One pod being run: its containers, processes, restarts and the status it reports.

The lifecycle a kubelet drives for a pod, on host processes (see :mod:`.pods` for what is and is
not supported): init containers one by one, then all containers together, each restarted as the
pod's ``restartPolicy`` says, and the whole status written in one patch after every change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kontinue.clock import Clock, format_time

from ._pod_logs import LogWriter
from ._processes import (
    POD_IP,
    ConfigError,
    SpawnError,
    exit_code,
    expand,
    kill_group,
    process_start,
    resolve_env,
    spawn,
)
from .errors import ApiStatus

__all__ = ["FINISHED", "Container", "Kubelet", "PodRun"]

log = logging.getLogger("kontinue.devserver.pods")
JSON = dict[str, Any]
FINISHED = ("Succeeded", "Failed")
NO_COMMAND = (
    'container "{name}" has no command: the dev server runs containers as host processes and '
    "cannot use the image's entrypoint; set command (and args) in the pod spec"
)


class Kubelet(Protocol):
    """What a pod run needs from the runner: time, status writes and object lookups."""

    @property
    def clock(self) -> Clock: ...

    def write_status(self, namespace: str, name: str, uid: str, status: JSON) -> None: ...

    def lookup(self, plural: str, namespace: str, name: str) -> JSON | None: ...


@dataclass
class Container:
    """One container's state as ``containerStatuses`` reports it."""

    spec: JSON
    init: bool
    restart_count: int = 0
    waiting: tuple[str, str] = ("ContainerCreating", "")
    started_at: str | None = None
    terminated: JSON | None = None
    last_terminated: JSON | None = None
    writer: LogWriter | None = None
    process: asyncio.subprocess.Process | None = None

    @property
    def name(self) -> str:
        return str(self.spec.get("name", ""))

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.terminated is None

    def status(self) -> JSON:
        state: JSON
        if self.terminated is not None:
            state = {"terminated": self.terminated}
        elif self.started_at is not None:
            state = {"running": {"startedAt": self.started_at}}
        else:
            reason, message = self.waiting
            state = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
        out: JSON = {
            "name": self.name,
            "image": self.spec.get("image", ""),
            "imageID": "",
            "ready": self.running or (self.init and self.succeeded),
            "restartCount": self.restart_count,
            "started": self.running,
            "state": state,
            "lastState": {"terminated": self.last_terminated} if self.last_terminated else {},
        }
        return out

    @property
    def succeeded(self) -> bool:
        """Whether the container's last run exited 0."""
        return self.terminated is not None and self.terminated.get("exitCode") == 0


@dataclass
class PodRun:
    """One pod being run: its containers, its processes and the status it last wrote."""

    runner: Kubelet
    namespace: str
    name: str
    uid: str
    pod: JSON
    directory: Path
    init: list[Container] = field(default_factory=list)
    main: list[Container] = field(default_factory=list)
    phase: str = "Pending"
    initialized: bool = False
    start_time: str = ""
    stopping: bool = False
    deleting: bool = False
    gone: bool = False
    task: asyncio.Task[None] | None = None
    _conditions: dict[str, JSON] = field(default_factory=dict)

    def __post_init__(self) -> None:
        spec = self.pod.get("spec", {})
        self.init = [Container(c, True) for c in spec.get("initContainers") or ()]
        self.main = [Container(c, False) for c in spec.get("containers") or ()]
        if self.init:
            for container in self.main:
                container.waiting = ("PodInitializing", "")

    def halted(self) -> bool:
        """Whether the pod is being stopped (a method: the flag changes across awaits)."""
        return self.stopping

    @property
    def restart_policy(self) -> str:
        return str(self.pod.get("spec", {}).get("restartPolicy") or "Always")

    # Status -------------------------------------------------------------------------------

    def _condition(self, kind: str, ok: bool, reason: str = "") -> JSON:
        status = "True" if ok else "False"
        old = self._conditions.get(kind)
        if old is None or old["status"] != status or old.get("reason", "") != reason:
            old = {
                "type": kind,
                "status": status,
                "lastProbeTime": None,
                "lastTransitionTime": format_time(self.runner.clock.now()),
                **({"reason": reason} if reason else {}),
            }
            self._conditions[kind] = old
        return old

    def status(self) -> JSON:
        finished = self.phase in FINISHED
        ready = not finished and bool(self.main) and all(c.running for c in self.main)
        not_ready = "PodCompleted" if finished else ("" if ready else "ContainersNotReady")
        conditions = [
            self._condition(
                "Initialized",
                self.initialized,
                "" if self.initialized else "ContainersNotInitialized",
            ),
            self._condition("Ready", ready, not_ready),
            self._condition("ContainersReady", ready, not_ready),
            self._condition("PodScheduled", True),
        ]
        status: JSON = {
            "phase": self.phase,
            "conditions": conditions,
            "hostIP": POD_IP,
            "hostIPs": [{"ip": POD_IP}],
            "podIP": POD_IP,
            "podIPs": [{"ip": POD_IP}],
            "startTime": self.start_time,
            "qosClass": "BestEffort",
            "containerStatuses": [c.status() for c in self.main],
        }
        if self.init:
            status["initContainerStatuses"] = [c.status() for c in self.init]
        return status

    def publish(self) -> None:
        """Write the whole status in one patch, guarded by the pod's uid."""
        if self.gone:
            return
        try:
            self.runner.write_status(self.namespace, self.name, self.uid, self.status())
        except ApiStatus as exc:
            # 404: deleted; 409: deleted and created again under the same name.
            log.debug("pod %s/%s is gone (%s); stopping it", self.namespace, self.name, exc)
            self.gone = True
            self.stopping = True
            self.signal_all(signal.SIGKILL)

    # Running ------------------------------------------------------------------------------

    async def run(self) -> None:
        self.start_time = format_time(self.runner.clock.now())
        self.directory.mkdir(parents=True, exist_ok=True)
        self.publish()
        for container in self.init:
            code = await self._run_container(container)
            if self.halted():
                break
            if code != 0:
                self.phase = "Failed"
                self.publish()
                return
        else:
            self.initialized = True
            self.publish()
            await asyncio.gather(*(self._run_container(c) for c in self.main))
        self.phase = self._final_phase()
        self.publish()

    def _final_phase(self) -> str:
        containers = self.main if self.initialized else self.init
        finished = all(c.terminated is not None for c in containers)
        if not finished or not self.initialized:
            return "Failed"
        return "Succeeded" if all(c.succeeded for c in self.main) else "Failed"

    async def _run_container(self, container: Container) -> int:
        """Run one container, restarting it as the restart policy says; its last exit code."""
        while True:
            code = await self._attempt(container)
            if self.halted():
                return code
            policy = self.restart_policy
            again = policy != "Never" and (code != 0 or (policy == "Always" and not container.init))
            if not again:
                return code
            delay = min(10.0, 0.5 * 2**container.restart_count)
            container.last_terminated = container.terminated
            container.terminated, container.started_at = None, None
            container.restart_count += 1
            container.waiting = (
                "CrashLoopBackOff",
                f"back-off {delay:g}s restarting failed container={container.name} "
                f"pod={self.name}_{self.namespace}({self.uid})",
            )
            self.publish()
            await asyncio.sleep(delay)
            if self.halted():
                return code

    def _terminate(self, container: Container, code: int, reason: str, message: str) -> int:
        now = format_time(self.runner.clock.now())
        container.terminated = {
            "exitCode": code,
            "reason": reason,
            "startedAt": container.started_at or now,
            "finishedAt": now,
            **({"message": message} if message else {}),
        }
        self.publish()
        return code

    async def _attempt(self, container: Container) -> int:
        spec = container.spec
        if self.halted():
            return self._terminate(container, 137, "Error", "the pod was stopped before it started")
        root = self.directory / "root"
        while True:
            try:
                env = resolve_env(self.pod, spec, root, self.runner.lookup)
                break
            except ConfigError as exc:
                if container.waiting != ("CreateContainerConfigError", str(exc)):
                    container.waiting = ("CreateContainerConfigError", str(exc))
                    self.publish()
                await asyncio.sleep(1.0)
                if self.halted():
                    return self._terminate(container, 137, "Error", "stopped before it started")
        argv = [
            expand(str(a), env) for a in [*(spec.get("command") or ()), *(spec.get("args") or ())]
        ]
        logs = self.directory / "logs" / container.name / f"{container.restart_count}.log"
        writer = container.writer = LogWriter(logs, self.runner.clock.now)
        try:
            if not spec.get("command"):
                raise SpawnError(127, NO_COMMAND.format(name=container.name))
            cwd = root / str(spec.get("workingDir") or "").lstrip("/")
            process = await spawn(argv, cwd, env)
        except SpawnError as exc:
            writer.close()
            return self._terminate(container, exc.exit_code, "ContainerCannotRun", exc.message)
        if self.halted():  # deleted while it was being started
            kill_group(process.pid, signal.SIGKILL)
        container.process = process
        self._record(container.name, process.pid)
        container.started_at = format_time(self.runner.clock.now())
        if not container.init and self.phase == "Pending":
            self.phase = "Running"
        self.publish()
        assert process.stdout is not None
        pump = asyncio.create_task(
            writer.pump(process.stdout), name=f"devserver-pod-log-{self.name}-{container.name}"
        )
        returncode = await process.wait()
        kill_group(process.pid, signal.SIGKILL)  # PID 1 ended: so does the rest of the container
        with contextlib.suppress(Exception):
            await asyncio.wait_for(pump, 5.0)
        writer.close()
        container.process = None
        code = exit_code(returncode)
        return self._terminate(container, code, "Completed" if code == 0 else "Error", "")

    def _record(self, container: str, pid: int) -> None:
        start = process_start(pid)
        with (self.directory / "processes").open("a") as handle:
            handle.write(f"{container} {pid} {start if start is not None else -1}\n")

    # Stopping -----------------------------------------------------------------------------

    def signal_all(self, sig: int) -> bool:
        """Signal every live container's process group; whether any was still there."""
        alive = False
        for container in [*self.init, *self.main]:
            if container.process is not None and container.process.returncode is None:
                alive = kill_group(container.process.pid, sig) or alive
        return alive

    async def kill(self, grace: float) -> None:
        """SIGTERM every process group, SIGKILL after ``grace`` seconds, then wait for the run."""
        self.stopping = True
        if self.signal_all(signal.SIGTERM):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exited(), grace)
            self.signal_all(signal.SIGKILL)
        if self.task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self.task), 5.0)
            self.task.cancel()

    async def _exited(self) -> None:
        for container in [*self.init, *self.main]:
            if container.process is not None:
                await container.process.wait()
