"""One pod being run: its volumes, containers, processes, restarts and the status it reports.

The lifecycle a kubelet drives for a pod, on host processes (see :mod:`kontinue.pods` for what
is and is not supported): volumes first (when the runner provides them), then init containers
one by one, then all containers together, each restarted as the pod's ``restartPolicy`` says.
After every change the whole status is published; a writer task sends the latest one, so a
slow host (an API server far away) coalesces states instead of falling behind.

Where the pod comes from and where its status goes is the :class:`PodHost`'s business: the dev
server's registry in the same process, or an API server for the node agent.
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

from ._logs import LogWriter
from ._mounts import (
    Mount,
    check_executable,
    container_mounts,
    mount_env,
    namespace_command,
    prepare_targets,
)
from ._processes import (
    ConfigError,
    SpawnError,
    exit_code,
    expand,
    kill_group,
    not_found_message,
    record_process,
    resolve_env,
    spawn,
    working_directory,
)
from ._settings import RunnerSettings
from ._volumes import (
    Token,
    TokenSource,
    container_references,
    refresh_delay,
    render_volumes,
    token_sources,
    volume_references,
    write_volume,
)

__all__ = ["FINISHED", "Container", "PodGone", "PodHost", "PodRun"]

log = logging.getLogger("kontinue.pods")
JSON = dict[str, Any]
FINISHED = ("Succeeded", "Failed")
NO_COMMAND = (
    'container "{name}" has no command: {agent} runs containers as host processes and '
    "cannot use the image's entrypoint; set command (and args) in the pod spec"
)
NOT_MOUNTED = (
    "{agent} cannot make mount namespaces (that needs root, unshare and mount): volumes are "
    "not mounted at their mountPath; each container finds the folder of each mount in "
    "$KONTINUE_MOUNT_<PATH> (e.g. KONTINUE_MOUNT_VAR_RUN_SECRETS_KUBERNETES_IO_SERVICEACCOUNT)"
)
#: Seconds between attempts to set up volumes or an environment that cannot be built yet.
CONFIG_RETRY = 1.0
#: Longest pause between attempts to write a status the host failed to take.
MAX_WRITE_BACKOFF = 10.0


class PodGone(Exception):
    """The pod no longer exists as it was run: deleted, or replaced under the same name."""


class PodHost(Protocol):
    """What a pod run needs from where its pod lives: time, status, objects, tokens, events.

    The dev server implements it over its registry, in process; the node agent over the
    Kubernetes API, with the node's credentials.
    """

    @property
    def clock(self) -> Clock:
        """The time pods' statuses and logs are stamped with."""
        ...

    async def write_status(self, namespace: str, name: str, uid: str, status: JSON) -> None:
        """Record ``status`` as the pod's status, only if the pod still has ``uid``.

        Raises :class:`PodGone` when it does not; other failures are retried by the caller.
        """
        ...

    async def lookup(self, plural: str, namespace: str, name: str) -> JSON | None:
        """A ConfigMap or Secret a pod refers to, or None when it does not exist.

        Raises :class:`~kontinue.pods.ConfigError` when it cannot be read for now: the
        container waits and the run asks again.
        """
        ...

    async def request_token(self, pod: JSON, source: TokenSource) -> Token:
        """A token of the pod's service account, bound to the pod (the TokenRequest API).

        Raises :class:`~kontinue.pods.ConfigError` when none can be had for now.
        """
        ...

    async def finish_deletion(self, namespace: str, name: str, uid: str) -> bool:
        """The processes of a deleted pod have stopped: let the pod go (a kubelet's final
        DELETE). Returns whether it is gone now (finalizers may still hold it)."""
        ...

    def record_event(
        self, pod: JSON, kind: str, reason: str, message: str, container: str = ""
    ) -> None:
        """Report something that happened to the pod (``kind`` Normal or Warning), as Events
        where the host keeps them; never blocks and never fails."""
        ...


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
        """The container's name in the pod spec."""
        return str(self.spec.get("name", ""))

    @property
    def running(self) -> bool:
        """Whether its process runs now."""
        return self.started_at is not None and self.terminated is None

    def status(self) -> JSON:
        """Its entry of ``containerStatuses`` (or ``initContainerStatuses``)."""
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

    host: PodHost
    settings: RunnerSettings
    pod: JSON
    directory: Path
    init: list[Container] = field(default_factory=list)
    main: list[Container] = field(default_factory=list)
    phase: str = "Pending"
    initialized: bool = False
    start_time: str = ""
    #: The pod-level reason and message, once the runner stopped the pod itself.
    reason: tuple[str, str] | None = None
    stopping: bool = False
    deleting: bool = False
    gone: bool = False
    task: asyncio.Task[None] | None = None
    volume_dirs: dict[str, Path] = field(default_factory=dict)
    _conditions: dict[str, JSON] = field(default_factory=dict)
    _dirty: bool = False
    _writer: asyncio.Task[None] | None = None
    _refresher: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        spec = self.pod.get("spec", {})
        self.init = [Container(c, True) for c in spec.get("initContainers") or ()]
        self.main = [Container(c, False) for c in spec.get("containers") or ()]
        if self.init:
            for container in self.main:
                container.waiting = ("PodInitializing", "")

    @property
    def namespace(self) -> str:
        """The pod's namespace."""
        return str(self.pod.get("metadata", {}).get("namespace", ""))

    @property
    def name(self) -> str:
        """The pod's name."""
        return str(self.pod.get("metadata", {}).get("name", ""))

    @property
    def uid(self) -> str:
        """The pod's uid: a pod deleted and created again under its name is another run."""
        return str(self.pod.get("metadata", {}).get("uid", ""))

    def halted(self) -> bool:
        """Whether the pod is being stopped (a method: the flag changes across awaits)."""
        return self.stopping

    @property
    def restart_policy(self) -> str:
        """``spec.restartPolicy`` (``Always`` by default)."""
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
                "lastTransitionTime": format_time(self.host.clock.now()),
                **({"reason": reason} if reason else {}),
            }
            self._conditions[kind] = old
        return old

    def status(self) -> JSON:
        """The pod's whole status as it stands."""
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
        address = self.settings.address
        status: JSON = {
            "phase": self.phase,
            "conditions": conditions,
            "hostIP": address,
            "hostIPs": [{"ip": address}],
            "podIP": address,
            "podIPs": [{"ip": address}],
            "startTime": self.start_time,
            # set by the API server from the pod's resources; a kubelet keeps it
            "qosClass": self.pod.get("status", {}).get("qosClass") or "BestEffort",
            "containerStatuses": [c.status() for c in self.main],
        }
        if self.init:
            status["initContainerStatuses"] = [c.status() for c in self.init]
        if self.reason is not None:
            status["reason"], status["message"] = self.reason
        return status

    def publish(self) -> None:
        """Have the whole status written (by the writer task, which sends the latest one)."""
        if self.gone:
            return
        self._dirty = True
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(
                self._write(), name=f"pod-status-{self.namespace}-{self.name}"
            )

    async def _write(self) -> None:
        backoff = 0.5
        while self._dirty and not self.gone:
            self._dirty = False
            try:
                await self.host.write_status(self.namespace, self.name, self.uid, self.status())
                backoff = 0.5
            except PodGone as exc:
                log.debug("pod %s/%s is gone (%s); stopping it", self.namespace, self.name, exc)
                self.gone = True
                self.stopping = True
                self.signal_all(signal.SIGKILL)
            except Exception:
                log.warning(
                    "writing the status of pod %s/%s failed; trying again in %g s",
                    self.namespace,
                    self.name,
                    backoff,
                    exc_info=True,
                )
                self._dirty = True
                await asyncio.sleep(backoff)
                backoff = min(MAX_WRITE_BACKOFF, backoff * 2)

    async def flush(self) -> None:
        """Wait until the latest status is written (or the pod turned out to be gone)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    def event(self, kind: str, reason: str, message: str, container: str = "") -> None:
        """Report something about this pod through the host."""
        self.host.record_event(self.pod, kind, reason, message, container)

    # Running ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Run the pod to its end (or until it is stopped), publishing its status."""
        self.start_time = format_time(self.host.clock.now())
        self.directory.mkdir(parents=True, exist_ok=True)
        self.publish()
        try:
            if not self.settings.volumes or await self._prepare_volumes():
                await self._run_containers()
        finally:
            if self._refresher is not None:
                self._refresher.cancel()
        self.phase = self._final_phase()
        self.publish()
        await self.flush()

    async def _run_containers(self) -> None:
        for container in self.init:
            code = await self._run_container(container)
            if self.halted():
                return
            if code != 0:
                return
        self.initialized = True
        self.publish()
        await asyncio.gather(*(self._run_container(c) for c in self.main))

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
            self.event(
                "Warning",
                "BackOff",
                f"Back-off restarting failed container {container.name} in pod {self.name}",
                container.name,
            )
            await asyncio.sleep(delay)
            if self.halted():
                return code

    def _terminate(self, container: Container, code: int, reason: str, message: str) -> int:
        now = format_time(self.host.clock.now())
        container.terminated = {
            "exitCode": code,
            "reason": reason,
            "startedAt": container.started_at or now,
            "finishedAt": now,
            **({"message": message} if message else {}),
        }
        self.publish()
        return code

    async def _fetch(self, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], JSON | None]:
        """The ConfigMaps and Secrets ``wanted`` (``(plural, name)``), fetched once each."""
        return {ref: await self.host.lookup(ref[0], self.namespace, ref[1]) for ref in wanted}

    async def _environment(self, spec: JSON, root: Path) -> dict[str, str]:
        objects = await self._fetch(container_references(spec))
        return resolve_env(
            self.pod,
            spec,
            root,
            lambda plural, _namespace, name: objects.get((plural, name)),
            address=self.settings.address,
            base=self.settings.service_env,
        )

    async def _attempt(self, container: Container) -> int:
        spec = container.spec
        if self.halted():
            return self._terminate(container, 137, "Error", "the pod was stopped before it started")
        root = self.directory / "root"
        while True:
            try:
                env = await self._environment(spec, root)
                break
            except ConfigError as exc:
                if container.waiting != ("CreateContainerConfigError", str(exc)):
                    container.waiting = ("CreateContainerConfigError", str(exc))
                    self.publish()
                    self.event("Warning", "Failed", f"Error: {exc}", container.name)
                await asyncio.sleep(CONFIG_RETRY)
                if self.halted():
                    return self._terminate(container, 137, "Error", "stopped before it started")
        mounts = container_mounts(spec, self.volume_dirs) if self.settings.volumes else []
        tools = self.settings.mounts
        if mounts and tools is None:
            env.update(mount_env(mounts))
        argv = [
            expand(str(a), env) for a in [*(spec.get("command") or ()), *(spec.get("args") or ())]
        ]
        logs = self.directory / "logs" / container.name / f"{container.restart_count}.log"
        writer = container.writer = LogWriter(logs, self.host.clock.now)
        agent = self.settings.agent
        try:
            if not spec.get("command"):
                raise SpawnError(127, NO_COMMAND.format(name=container.name, agent=agent))
            cwd = working_directory(root, str(spec.get("workingDir") or ""))
            if mounts and tools is not None:
                cwd.mkdir(parents=True, exist_ok=True)
                self._check(argv[0], cwd, env.get("PATH", ""), mounts)
                prepare_targets(mounts)
                argv = namespace_command(tools, mounts, argv)
            process = await spawn(argv, cwd, env, agent)
        except SpawnError as exc:
            writer.close()
            self.event("Warning", "Failed", f"Error: {exc.message}", container.name)
            return self._terminate(container, exc.exit_code, "ContainerCannotRun", exc.message)
        except OSError as exc:  # a mount point that cannot be made
            writer.close()
            message = f"cannot prepare the container's mounts: {exc}"
            self.event("Warning", "Failed", f"Error: {message}", container.name)
            return self._terminate(container, 128, "ContainerCannotRun", message)
        if self.halted():  # deleted while it was being started
            kill_group(process.pid, signal.SIGKILL)
        container.process = process
        record_process(self.directory, container.name, process.pid)
        container.started_at = format_time(self.host.clock.now())
        if not container.init and self.phase == "Pending":
            self.phase = "Running"
        self.publish()
        self.event("Normal", "Started", f"Started container {container.name}", container.name)
        assert process.stdout is not None
        pump = asyncio.create_task(
            writer.pump(process.stdout), name=f"pod-log-{self.name}-{container.name}"
        )
        returncode = await process.wait()
        kill_group(process.pid, signal.SIGKILL)  # PID 1 ended: so does the rest of the container
        with contextlib.suppress(Exception):
            await asyncio.wait_for(pump, 5.0)
        writer.close()
        container.process = None
        code = exit_code(returncode)
        return self._terminate(container, code, "Completed" if code == 0 else "Error", "")

    def _check(self, command: str, cwd: Path, search: str, mounts: list[Mount]) -> None:
        """Raise the :class:`SpawnError` ``exec`` would give, before the namespace hides it."""
        problem = check_executable(command, cwd, search, mounts)
        agent = self.settings.agent
        if problem == "not found":
            raise SpawnError(127, not_found_message(command, agent))
        if problem is not None:
            raise SpawnError(
                126, f'executable "{command}" cannot be run on this machine: {problem}'
            )

    # Volumes ------------------------------------------------------------------------------

    async def _prepare_volumes(self) -> bool:
        """Write the pod's volumes, waiting (and telling why) while they cannot be; False when
        the pod was stopped first."""
        reported = ""
        while not self.halted():
            try:
                delay = await self._write_volumes()
            except ConfigError as exc:
                message = f"MountVolume.SetUp failed: {exc}"
                if message != reported:
                    reported = message
                    log.info("pod %s/%s: %s", self.namespace, self.name, message)
                    self.event("Warning", "FailedMount", message)
                await asyncio.sleep(CONFIG_RETRY)
                continue
            if delay is not None:
                self._refresher = asyncio.get_running_loop().create_task(
                    self._refresh_volumes(delay), name=f"pod-volumes-{self.namespace}-{self.name}"
                )
            mounted = any(c.spec.get("volumeMounts") for c in [*self.init, *self.main])
            if mounted and self.settings.mounts is None:
                message = NOT_MOUNTED.format(agent=self.settings.agent)
                log.warning("pod %s/%s: %s", self.namespace, self.name, message)
                self.event("Warning", "VolumesNotMounted", message)
            return True
        return False

    async def _write_volumes(self) -> float | None:
        """Fetch what the volumes need and lay them out; seconds until a token needs renewing
        (None when there is no token)."""
        objects = await self._fetch(volume_references(self.pod))
        tokens: dict[TokenSource, Token] = {}
        for source in token_sources(self.pod):
            tokens[source] = await self.host.request_token(self.pod, source)
        volumes = render_volumes(
            self.pod,
            lambda plural, _namespace, name: objects.get((plural, name)),
            tokens,
            address=self.settings.address,
            agent=self.settings.agent,
        )
        for volume in volumes:
            folder = self.directory / "volumes" / volume.name
            self.volume_dirs[volume.name] = write_volume(folder, volume)
        now = self.host.clock.now()
        delays = [refresh_delay(token, now) for token in tokens.values()]
        return min(delays) if delays else None

    async def _refresh_volumes(self, delay: float) -> None:
        """Renew the tokens (and with them the other files) of the volumes before they expire."""
        while True:
            await asyncio.sleep(delay)
            try:
                next_delay = await self._write_volumes()
            except ConfigError as exc:
                log.warning("pod %s/%s: renewing volumes: %s", self.namespace, self.name, exc)
                next_delay = 10.0
            if next_delay is None:
                return
            delay = next_delay

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
