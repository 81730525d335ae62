"""Installing kontinue into a cluster (or the dev server): CRDs, RBAC and a worker Deployment.

The CRDs come from :func:`kontinue.api.crd_manifests`, the same source as ``deploy/crds/``.
Installing them is idempotent: existing definitions are replaced with the current ones. It
returns once every definition is ``Established`` (served), as a real API server takes a moment
after the create: custom resources created before that get 404.

:class:`WorkerDeployment` renders the worker's Deployment and PodDisruptionBudget exactly as the
Helm chart ``deploy/helm/kontinue`` does with its default values (``tests/deploy`` renders both
and compares them), and :func:`apply_objects` applies objects the way ``kubectl apply
--server-side`` does: ``kontinue install --apply`` is the chart without Helm.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from kontinue import __version__
from kontinue.api import crd_manifests
from kontinue.kube import AsyncKubeClient, KubeClient

__all__ = [
    "DEFAULT_IMAGE",
    "FIELD_MANAGER",
    "WorkerDeployment",
    "apply_objects",
    "install_crds",
    "install_crds_async",
]

JSON = dict[str, Any]

CRDS = "customresourcedefinitions.apiextensions.k8s.io"
#: How long a definition may take to become Established before installing fails.
ESTABLISH_TIMEOUT = 60.0
_POLL = 0.05


def _established(crd: dict[str, Any]) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def _not_established(names: list[str]) -> TimeoutError:
    return TimeoutError(
        f"CRDs not Established after {ESTABLISH_TIMEOUT:.0f} s: {', '.join(names)} "
        "(kubectl describe crd NAME shows why)"
    )


def _replace(current: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    return {**desired, "metadata": {**desired["metadata"], **_version(current)}}


def _version(obj: dict[str, Any]) -> dict[str, Any]:
    return {"resourceVersion": obj["metadata"]["resourceVersion"]}


def install_crds(client: KubeClient) -> list[str]:
    """Create or update every kontinue CRD; returns their names."""
    return _install_crd_manifests(client, list(crd_manifests().values()))


def _install_crd_manifests(client: KubeClient, manifests: list[JSON]) -> list[str]:
    names = []
    for manifest in manifests:
        client.upsert(manifest, merge=_replace)
        names.append(str(manifest["metadata"]["name"]))
    deadline = time.monotonic() + ESTABLISH_TIMEOUT
    waiting = list(names)
    while waiting:
        waiting = [name for name in waiting if not _established(client.get(CRDS, name))]
        if waiting and time.monotonic() > deadline:
            raise _not_established(waiting)
        if waiting:
            time.sleep(_POLL)
    return names


async def install_crds_async(client: AsyncKubeClient) -> list[str]:
    """The asyncio form of :func:`install_crds`."""
    names = []
    for manifest in crd_manifests().values():
        await client.upsert(manifest, merge=_replace)
        names.append(str(manifest["metadata"]["name"]))
    deadline = time.monotonic() + ESTABLISH_TIMEOUT
    waiting = list(names)
    while waiting:
        waiting = [name for name in waiting if not _established(await client.get(CRDS, name))]
        if waiting and time.monotonic() > deadline:
            raise _not_established(waiting)
        if waiting:
            await asyncio.sleep(_POLL)
    return names


DEFAULT_IMAGE = f"kontinue-worker:{__version__}"
"""The image a worker Deployment runs unless told otherwise (the chart's default too)."""
FIELD_MANAGER = "kontinue-install"
"""The field manager of ``kontinue install --apply``'s server-side apply."""

_LABELS = {"app.kubernetes.io/name": "kontinue"}
_COMPONENT = {"app.kubernetes.io/component": "worker"}
_UID = 10001  # the worker image's user (deploy/image)


def _probe(path: str, period: int) -> JSON:
    return {
        "httpGet": {"path": path, "port": "metrics"},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": 3,
    }


@dataclass(frozen=True)
class WorkerDeployment:
    """A worker group as a Deployment: what ``kontinue install --worker`` and the chart run.

    Attributes:
        target: The Worker object of the code in the image, as ``MODULE:OBJECT``.
        namespace: Where the Deployment runs and the worker watches (its Role is there too).
        image: The image with the workflow code on top of kontinue (:data:`DEFAULT_IMAGE`).
        replicas: Replicas of the group: one leads, the others stand by (1).
        metrics_port: The port of ``/metrics``, ``/healthz`` and ``/readyz`` (9090).
        instance: The chart's release name these objects correspond to (``kontinue``): it is in
            the pods' labels and the Deployment's selector, which cannot change once created.
        log_format: ``json`` (one object per line, for log collectors) or ``text``.
        log_level: The worker's log level (INFO).
        name: The Deployment's name, also its ServiceAccount's (``kontinue-worker``).
        group: The worker group to run as, instead of the Worker's own (``worker.group``).
        sharding: Replicas share the executions instead of one leader running them all
            (``worker.sharding``).
        extra_args: Options added after these (the chart's ``worker.extraArgs``).
    """

    target: str
    namespace: str = "default"
    image: str = DEFAULT_IMAGE
    replicas: int = 1
    metrics_port: int = 9090
    instance: str = "kontinue"
    log_format: str = "json"
    log_level: str = "INFO"
    name: str = "kontinue-worker"  # kontinue.roles.WORKER_ACCOUNT (a sibling layer)
    group: str | None = None
    sharding: bool = False
    extra_args: tuple[str, ...] = field(default=())

    @property
    def selector(self) -> dict[str, str]:
        """The labels that select the worker's pods."""
        return {**_LABELS, "app.kubernetes.io/instance": self.instance, **_COMPONENT}

    def container(self) -> JSON:
        """The worker container: ``kontinue worker TARGET`` with probes on the metrics port."""
        return {
            "name": "worker",
            "image": self.image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["kontinue", "worker"],
            "args": [
                self.target,
                "--namespace",
                self.namespace,
                "--metrics-address",
                f"0.0.0.0:{self.metrics_port}",
                "--log-level",
                self.log_level,
                "--log-format",
                self.log_format,
                *(["--group", self.group] if self.group else []),
                *(["--sharding"] if self.sharding else []),
                *self.extra_args,
            ],
            "ports": [{"name": "metrics", "containerPort": self.metrics_port, "protocol": "TCP"}],
            "livenessProbe": _probe("/healthz", 10),
            "readinessProbe": _probe("/readyz", 5),
            "resources": {
                "requests": {"cpu": "100m", "memory": "128Mi"},
                "limits": {"memory": "512Mi"},
            },
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            },
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }

    def objects(self) -> list[JSON]:
        """The Deployment and its PodDisruptionBudget (the worker's RBAC is
        :func:`kontinue.roles.worker_rbac`)."""
        meta = {"name": self.name, "namespace": self.namespace, "labels": {**_LABELS, **_COMPONENT}}
        deployment = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": dict(meta),
            "spec": {
                "replicas": self.replicas,
                "selector": {"matchLabels": self.selector},
                "template": {
                    "metadata": {"labels": self.selector},
                    "spec": {
                        "serviceAccountName": self.name,
                        "terminationGracePeriodSeconds": 30,
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": _UID,
                            "runAsGroup": _UID,
                            "fsGroup": _UID,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [self.container()],
                        "volumes": [{"name": "tmp", "emptyDir": {}}],
                    },
                },
            },
        }
        budget = {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": dict(meta),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": self.selector}},
        }
        return [deployment, budget]


def apply_objects(client: KubeClient, objects: list[JSON]) -> tuple[list[JSON], list[JSON]]:
    """Install ``objects`` in order: CRDs with :func:`install_crds` (replaced, then waited for
    until Established), the others by server-side apply (:data:`FIELD_MANAGER`, taking over
    fields another manager set). Returns what the server answered, CRDs included, and the
    objects of kinds the server does not serve (the dev server has no RBAC or Deployments)."""
    applied: list[JSON] = []
    skipped: list[JSON] = []
    crds = [o for o in objects if o.get("kind") == "CustomResourceDefinition"]
    if crds:
        _install_crd_manifests(client, crds)
        applied.extend(client.get(CRDS, str(c["metadata"]["name"])) for c in crds)
    served = {
        (f"{info.group}/{info.version}".lstrip("/"), info.kind)
        for info in client.server_resources()
    }
    for obj in objects:
        if obj.get("kind") == "CustomResourceDefinition":
            continue
        if (obj["apiVersion"], obj["kind"]) not in served:
            skipped.append(obj)
            continue
        applied.append(client.apply(obj, field_manager=FIELD_MANAGER, force=True))
    return applied, skipped
