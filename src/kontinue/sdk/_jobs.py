"""Jobs, Pods and scripts from workflows: what a workflow asks for and what it gets back.

``ktx.run_job`` runs a Kubernetes Job and returns a :class:`JobResult`; ``ktx.run_pod`` and
``ktx.run_script`` run a Job with exactly one pod (``backoffLimit: 0``, ``restartPolicy:
Never``) and return its :class:`PodResult`. A Job that ran and failed is a *result*
(``succeeded`` is False), not an exception: the workflow decides what a failure means. Only a
Job that could not be created raises (:class:`~kontinue.sdk.InfrastructureError`, or
:class:`~kontinue.sdk.ValidationFailed` for a spec the server or these checks refuse).

The results are recorded in the Execution's steps, so a replay returns them without looking at
the Job again; logs are read from the API on demand (``await result.logs()``), and the last
log line of a failed pod is recorded with the result (``log_error_summary()``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from .errors import ValidationFailed

__all__ = [
    "ContainerResult",
    "JobRequest",
    "JobResult",
    "PodResult",
    "check_pod_spec",
    "script_pod_spec",
]

JSON = dict[str, Any]

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
"""The annotation naming the container ``kubectl logs`` (and :meth:`PodResult.logs`) reads."""


class ContainerResult(BaseModel):
    """How one container of a pod ended."""

    name: str
    """The container's name."""
    init: bool = False
    """True for an init container."""
    exit_code: int | None = None
    """The exit code once terminated; None if it never ran to the end."""
    reason: str | None = None
    """Why it terminated (``Completed``, ``Error``, ``ExecutableNotFound``...)."""
    message: str | None = None
    """The runtime's message, if any."""


class PodResult(BaseModel):
    """The outcome of one pod: phase, per-container exit codes, and access to its logs."""

    name: str
    """The pod's name."""
    namespace: str
    """The pod's namespace."""
    phase: str | None = None
    """``Succeeded``, ``Failed``, or the phase it was in when its Job ended."""
    message: str | None = None
    """The pod's status message, or the first container failure."""
    containers: list[ContainerResult] = Field(default_factory=list)
    """Every container (init containers first) and how it ended."""
    summary: str | None = None
    """The last non-empty log line of the first failed container (or of the main container),
    read when the pod ended."""
    pod: JSON = Field(default_factory=dict)
    """The Pod as it was when its Job ended (metadata and status)."""

    @property
    def succeeded(self) -> bool:
        """True only if every container, init containers included, exited with code 0."""
        return bool(self.containers) and all(c.exit_code == 0 for c in self.containers)

    def log_error_summary(self) -> str:
        """The last non-empty log line (of the failed container, if one failed)."""
        return self.summary or ""

    @property
    def default_container(self) -> str | None:
        """The container whose log :meth:`logs` reads when not told, as ``kubectl logs``
        chooses it: the pod's ``kubectl.kubernetes.io/default-container`` annotation, else
        its first (non-init) container."""
        annotations = (self.pod.get("metadata") or {}).get("annotations") or {}
        chosen = annotations.get(DEFAULT_CONTAINER_ANNOTATION)
        if isinstance(chosen, str) and chosen:
            return chosen
        return next((c.name for c in self.containers if not c.init), None)

    async def logs(self, tail_lines: int = 100, container: str | None = None) -> str:
        """The last ``tail_lines`` lines of a container's log (:attr:`default_container`
        unless ``container`` names another), read now from the API server. Only inside a
        workflow."""
        from ._context import current_context

        return await current_context().logs(self, tail_lines=tail_lines, container=container)


class JobResult(BaseModel):
    """The outcome of a Job: pod counts, the Job's message, and every pod's result."""

    name: str
    """The Job's name."""
    succeeded_pods: int = 0
    """Pods that completed successfully."""
    failed_pods: int = 0
    """Pods that failed."""
    message: str | None = None
    """Why the Job failed (its ``Failed`` condition's message), if it did."""
    pods: list[PodResult] = Field(default_factory=list)
    """The result of every pod the Job created, oldest first."""

    @property
    def succeeded(self) -> bool:
        """True when at least one pod succeeded and none failed."""
        return self.succeeded_pods > 0 and self.failed_pods == 0


@dataclass(frozen=True)
class JobRequest:
    """A Job to run for a step: its spec (JSON) and the extras on its metadata."""

    spec: JSON
    kind: str
    """``job``, ``pod`` or ``script``: what the step records."""
    target: str
    """What the step runs, for non-determinism checks: the first container's image."""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


def _problem(path: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"invalid {path}: {message}", details=[{"field": path, "message": message}]
    )


def check_pod_spec(spec: JSON, path: str = "spec") -> None:
    """Refuse a pod spec that cannot run, naming the field, before anything is created."""
    if not isinstance(spec, dict):
        raise _problem(path, "must be an object (a PodSpec)")
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        raise _problem(f"{path}.containers", "needs at least one container")
    seen: set[str] = set()
    for group in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(group) or []):
            where = f"{path}.{group}[{index}]"
            if not isinstance(container, dict):
                raise _problem(where, "must be an object (a Container)")
            name = container.get("name")
            if not isinstance(name, str) or not name:
                raise _problem(f"{where}.name", "is required")
            if name in seen:
                raise _problem(f"{where}.name", f"{name!r} is used by two containers")
            seen.add(name)
            if not isinstance(container.get("image"), str) or not container["image"]:
                raise _problem(f"{where}.image", "is required")
            for key in ("command", "args"):
                value = container.get(key)
                if value is not None and (
                    not isinstance(value, list) or not all(isinstance(v, str) for v in value)
                ):
                    raise _problem(f"{where}.{key}", "must be a list of strings")


def script_pod_spec(image: str, command: str, shell: list[str], env: dict[str, str] | None) -> JSON:
    """The pod spec of ``run_script``: one container running ``command`` through ``shell``."""
    if not image:
        raise _problem("image", "is required")
    if not command:
        raise _problem("command", "is required")
    if not shell or not all(isinstance(part, str) for part in shell):
        raise _problem("shell", "must be a non-empty list of strings, e.g. ['/bin/sh', '-c']")
    container: JSON = {"name": "script", "image": image, "command": [*shell, command]}
    if env:
        container["env"] = [{"name": k, "value": str(v)} for k, v in env.items()]
    return {"containers": [container], "restartPolicy": "Never"}
