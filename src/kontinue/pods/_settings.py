"""How pods run on this machine: one settings object shared by the runs and their supervisor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ._mounts import MountTools
from ._processes import LOOPBACK

__all__ = ["MIN_GRACE", "RunnerSettings", "pod_directory"]

#: The shortest wait between SIGTERM and SIGKILL, also for a pod deleted with a grace period of
#: 0: the kubelet's minimum, so a process always gets a chance to stop cleanly.
MIN_GRACE = 2.0


@dataclass(frozen=True)
class RunnerSettings:
    """How the pods of one runner (the dev server's, or a node agent's) run.

    Attributes:
        work_dir: Each pod gets ``<work_dir>/pods/<namespace>_<name>_<uid>/``: ``root/`` (its
            working root and ``HOME``), ``logs/``, ``volumes/`` and its process records.
        agent: How messages name the runner, e.g. ``"the dev server"``: users read it in
            container statuses (``executable "x" not found on this machine (the dev server
            runs containers as host processes...)``).
        address: What pods report as ``hostIP`` and ``podIP``: they share this machine's
            network. Loopback by default.
        node_name: ``spec.nodeName`` for field references of pods that have none.
        max_grace: Upper bound, in seconds, of the wait between SIGTERM and SIGKILL when a pod
            is deleted. ``None`` honors the pod's own grace period, as a kubelet does; the dev
            server caps it (a local server should not keep a deleted pod for 30 seconds).
        stop_grace: The same wait when the runner itself stops (quick: it is shutting down).
        service_env: Variables every container gets before its own (a kubelet's
            ``KUBERNETES_SERVICE_HOST``/``_PORT``), so the pod's ``env`` overrides them.
        volumes: Write each pod's volumes (emptyDir, configMap, secret, downwardAPI,
            projected with service-account tokens, hostPath) into its directory before its
            containers start; off, volumes are ignored (the dev server's pods have none).
        mounts: How containers see their volumes at ``mountPath``: a private mount namespace
            per container (needs root and util-linux). ``None`` mounts nothing and gives each
            container the directory of each of its mounts in ``KONTINUE_MOUNT_<PATH>``.
        lost_message: The status message of a pod that a restart of the runner cut short.
        stop_message: The status message of a pod stopped because the runner stopped.
    """

    work_dir: Path
    agent: str = "the dev server"
    address: str = LOOPBACK
    node_name: str = "localhost"
    max_grace: float | None = None
    stop_grace: float = 1.0
    service_env: Mapping[str, str] = field(default_factory=dict)
    volumes: bool = False
    mounts: MountTools | None = None
    lost_message: str = "the runner restarted while the pod ran; its processes were stopped"
    stop_message: str = "the runner stopped while the pod ran"

    def directory(self, namespace: str, name: str, uid: str) -> Path:
        """The private directory of one pod."""
        return pod_directory(self.work_dir, namespace, name, uid)

    def grace(self, pod: Mapping[str, object]) -> float:
        """Seconds between SIGTERM and SIGKILL for a deleted pod, as a kubelet picks them: the
        deletion's grace period, else the pod's ``terminationGracePeriodSeconds`` (30 by
        default), at least :data:`MIN_GRACE` and at most :attr:`max_grace`."""
        meta = pod.get("metadata")
        spec = pod.get("spec")
        chosen = meta.get("deletionGracePeriodSeconds") if isinstance(meta, dict) else None
        if chosen is None and isinstance(spec, dict):
            chosen = spec.get("terminationGracePeriodSeconds")
        seconds = max(MIN_GRACE, float(chosen) if isinstance(chosen, int | float) else 30.0)
        return seconds if self.max_grace is None else min(self.max_grace, seconds)


def pod_directory(work_dir: Path, namespace: str, name: str, uid: str) -> Path:
    """The pod's private directory: its working root, log files, volumes and process records."""
    return work_dir / "pods" / f"{namespace}_{name}_{uid}"
