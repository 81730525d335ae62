"""The node agent: a Node, its heartbeat, the pods bound to it and their logs, together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

from kontinue.clock import Clock, SystemClock
from kontinue.kube import AsyncKubeClient
from kontinue.pods import MountTools, PodSupervisor, RunnerSettings
from kontinue.tasks import restarting

from ._certs import self_signed
from ._host import ApiHost
from ._machine import Machine
from ._registering import NodeRegistration
from ._serving import LogServer, server_context
from ._settings import NodeSettings
from ._watching import PodWatch

__all__ = ["NodeAgent", "runner_settings", "service_env"]

log = logging.getLogger("kontinue.node")
#: Pause before a loop that failed (the pod watch, after a bug) starts again.
RESTART_DELAY = 5.0


def service_env(server: str) -> dict[str, str]:
    """The variables a kubelet gives every container to find the API server, pointing at the
    agent's own API server (the ``kubernetes`` Service's ClusterIP is not routable from host
    processes)."""
    url = urlsplit(server)
    host = url.hostname or "127.0.0.1"
    port = str(url.port or 443)
    address = f"[{host}]" if ":" in host else host
    prefix = f"KUBERNETES_PORT_{port}_TCP"
    return {
        "KUBERNETES_SERVICE_HOST": host,
        "KUBERNETES_SERVICE_PORT": port,
        "KUBERNETES_SERVICE_PORT_HTTPS": port,
        "KUBERNETES_PORT": f"tcp://{address}:{port}",
        prefix: f"tcp://{address}:{port}",
        f"{prefix}_PROTO": "tcp",
        f"{prefix}_PORT": port,
        f"{prefix}_ADDR": host,
    }


def runner_settings(
    settings: NodeSettings, server: str, mounts: MountTools | None
) -> RunnerSettings:
    """How the node's pods run: as a kubelet would (their own grace periods, volumes, the
    API server's address in their environment), with mounts when the agent may make them."""
    return RunnerSettings(
        settings.work_dir,
        agent="the node agent",
        address=settings.address,
        node_name=settings.name,
        max_grace=None,
        stop_grace=2.0,
        service_env=service_env(server),
        volumes=True,
        mounts=mounts,
        lost_message="the node agent restarted while the pod ran; its processes were stopped",
        stop_message="the node agent stopped while the pod ran; its processes were stopped",
    )


class NodeAgent:
    """A small kubelet over any API server: registers the Node, keeps its Lease, runs the pods
    bound to it as host processes (:mod:`kontinue.pods`) and serves their logs over HTTPS.

    ``client`` must act as ``system:node:<name>`` (the Node authorizer's rules apply); the
    agent does not close it. :meth:`start` returns once the node is registered and serving;
    :meth:`stop` stops the pods (their last status says why) and the heartbeat.
    """

    def __init__(
        self, client: AsyncKubeClient, settings: NodeSettings, *, clock: Clock | None = None
    ) -> None:
        self.client = client
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.mounts = MountTools.detect()
        self.host = ApiHost(client, settings.name, self.clock)
        self.supervisor = PodSupervisor(
            self.host, runner_settings(settings, client.connection.server, self.mounts)
        )
        self.watch = PodWatch(client, settings.name, self.supervisor)
        self.server = LogServer(self.supervisor, self.watch.pod)
        self.registration: NodeRegistration | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The port the log server listens on (the one picked, for port 0)."""
        return self.server.port

    async def start(self) -> None:
        """Serve logs, register the Node, then start the heartbeat and the pods."""
        settings = self.settings
        cert, key = settings.tls_cert_file, settings.tls_private_key_file
        if cert is None or key is None:
            made = self_signed(settings.work_dir / "pki", settings.name, settings.address)
            log.warning(
                "no --tls-cert-file/--tls-private-key-file: serving logs with a self-signed "
                "certificate (%s), which API servers that verify kubelets refuse",
                made[0],
            )
            cert, key = made
        context = server_context(settings, str(cert), str(key))
        port = await self.server.start(settings.address, settings.port, context)
        try:
            machine = Machine.probe(settings.work_dir)
            self.registration = NodeRegistration(self.client, settings, machine, port, self.clock)
            await self.registration.register()
        except BaseException:
            await self.server.stop()
            raise
        if self.mounts is None:
            log.warning(
                "not running as root (or without unshare/mount): volumes are written but not "
                "mounted at their mountPath; containers find them in $KONTINUE_MOUNT_<PATH>"
            )
        self._heartbeat = self._spawn(
            self.registration.heartbeat, f"node-heartbeat-{settings.name}"
        )
        self._watcher = self._spawn(self.watch.run, f"node-pods-{settings.name}")

    def _spawn(
        self, loop: Callable[[], Coroutine[Any, Any, None]], name: str
    ) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(
            restarting(loop, name, RESTART_DELAY, log), name=name
        )

    async def stop(self) -> None:
        """Stop the pods (reporting it in their status), the log server and the heartbeat."""
        await _cancel(self._watcher)
        self._watcher = None
        await self.supervisor.stop(report=True)
        await self.server.stop()
        await _cancel(self._heartbeat)
        self._heartbeat = None
        await self.host.drain()

    async def __aenter__(self) -> NodeAgent:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
