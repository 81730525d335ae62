"""Reading what a Job did: its pods' exit codes, messages and last log lines.

When a Job a workflow runs has ended (its ``Complete`` or ``Failed`` condition), the run
collects a :class:`~kontinue.sdk.JobResult` from the Job and its pods (found by the
``job-name`` label Kubernetes puts on them) and records it in the step, so a replay needs
neither the Job nor its pods any more.
"""

from __future__ import annotations

from typing import Any

from kontinue.kube import AsyncKubeClient, NotFound
from kontinue.sdk._jobs import ContainerResult, JobResult, PodResult

__all__ = ["job_ended", "job_result", "read_logs"]

JSON = dict[str, Any]
_SUMMARY_LINES = 20


def job_ended(job: JSON) -> bool:
    """True once the Job's ``Complete`` or ``Failed`` condition is True."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return True
    return False


def _containers(pod: JSON) -> list[ContainerResult]:
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    results = []
    for init, key, status_key in (
        (True, "initContainers", "initContainerStatuses"),
        (False, "containers", "containerStatuses"),
    ):
        states = {s.get("name"): s for s in status.get(status_key) or []}
        for container in spec.get(key) or []:
            name = str(container.get("name"))
            state = (states.get(name) or {}).get("state") or {}
            ended = state.get("terminated") or {}
            waiting = state.get("waiting") or {}
            results.append(
                ContainerResult(
                    name=name,
                    init=init,
                    exit_code=ended.get("exitCode"),
                    reason=ended.get("reason") or waiting.get("reason"),
                    message=ended.get("message") or waiting.get("message"),
                )
            )
    return results


async def read_logs(
    client: AsyncKubeClient, namespace: str, pod: str, tail_lines: int, container: str | None
) -> str:
    """The last ``tail_lines`` lines of a container's log."""
    query = {"tailLines": str(tail_lines)}
    if container:
        query["container"] = container
    path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log"
    lines = [line.rstrip(b"\r\n") async for line in client.stream_lines(path, query)]
    return "".join(line.decode("utf-8", errors="replace") + "\n" for line in lines)


async def _summary(client: AsyncKubeClient, pod: JSON, containers: list[ContainerResult]) -> str:
    failed = [c for c in containers if c.exit_code not in (0, None)]
    chosen = failed[0] if failed else next((c for c in containers if not c.init), None)
    if chosen is None:
        return ""
    meta = pod["metadata"]
    try:
        text = await read_logs(client, meta["namespace"], meta["name"], _SUMMARY_LINES, chosen.name)
    except NotFound:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else (chosen.message or "")


async def pod_result(client: AsyncKubeClient, pod: JSON) -> PodResult:
    """What one pod did (with the last log line of its failed container)."""
    containers = _containers(pod)
    status = pod.get("status") or {}
    failure = next((c for c in containers if c.exit_code not in (0, None)), None)
    message = status.get("message")
    if failure is not None and not message:
        why = failure.message or failure.reason or "failed"
        message = f"container {failure.name} exited with code {failure.exit_code}: {why}"
    meta = pod.get("metadata") or {}
    kept = {
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "labels") if k in meta},
        "status": status,
    }
    return PodResult(
        name=str(meta.get("name")),
        namespace=str(meta.get("namespace")),
        phase=status.get("phase"),
        message=message,
        containers=containers,
        summary=await _summary(client, pod, containers),
        pod=kept,
    )


async def job_result(client: AsyncKubeClient, job: JSON) -> JobResult:
    """What a finished Job did, pod by pod."""
    meta = job["metadata"]
    status = job.get("status") or {}
    pods = await client.list(
        "pods", namespace=meta["namespace"], label_selector=f"job-name={meta['name']}"
    )
    pods.sort(key=lambda p: (p["metadata"].get("creationTimestamp") or "", p["metadata"]["name"]))
    message = None
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Failed" and condition.get("status") == "True":
            message = condition.get("message") or condition.get("reason")
    return JobResult(
        name=str(meta["name"]),
        succeeded_pods=int(status.get("succeeded") or 0),
        failed_pods=int(status.get("failed") or 0),
        message=message,
        pods=[await pod_result(client, pod) for pod in pods],
    )
