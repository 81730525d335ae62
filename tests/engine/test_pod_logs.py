"""``PodResult.logs()`` on a pod of several containers reads its first one, as kubectl does."""

from __future__ import annotations

import kontinue
from kontinue.api import ExecutionPhase
from kontinue.testing import WorkflowEnvironment


def _container(name: str, text: str) -> dict[str, object]:
    return {"name": name, "image": "busybox", "command": ["/bin/sh", "-c", f"echo {text}"]}


def test_logs_of_a_multi_container_pod_default_to_the_first_container(
    kontinue_env: WorkflowEnvironment,
) -> None:
    worker = kontinue.Worker(group="pod-logs")

    @worker.function("sidecar")
    async def sidecar(ktx: kontinue.ExecutionContext) -> dict[str, str]:
        pod = await ktx.run_pod(
            {"containers": [_container("main", "from main"), _container("side", "from side")]}
        )
        return {
            "default": (await pod.logs()).strip(),
            "side": (await pod.logs(container="side")).strip(),
            "chosen": pod.default_container or "",
        }

    with kontinue_env.running(worker):
        done = kontinue_env.wait(kontinue_env.execute(sidecar), timeout=30)
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status
    assert done.status.result == {"default": "from main", "side": "from side", "chosen": "main"}
