"""kontinue's roles proven by a real authorizer: a viewer may look but not act, and a worker
missing a permission neither fails its executions nor stays silent.

These need a server that authorizes requests (the upstream control plane); the dev server
gives every token holder everything, so they are skipped there.
"""

from __future__ import annotations

import logging
import subprocess

import pytest

import kontinue
from kontinue.api import TERMINAL_PHASES, ExecutionPhase
from kontinue.client import Client
from kontinue.kube import KubeClient
from kontinue.roles import WORKER_ACCOUNT
from kontinue.testing import WorkflowEnvironment, eventually

from .conftest import KONTINUE, environment, make_worker


@pytest.fixture
def rbac_env(kontinue_env: WorkflowEnvironment) -> WorkflowEnvironment:
    if kontinue_env.viewer_kubeconfig == kontinue_env.kubeconfig:
        pytest.skip("the server does not authorize requests (no RBAC)")
    return kontinue_env


def _kontinue(env: WorkflowEnvironment, kubeconfig: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(KONTINUE), *args, "--kubeconfig", kubeconfig, "-n", env.namespace],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(),
    )


def test_a_viewer_sees_everything_and_may_change_nothing(rbac_env: WorkflowEnvironment) -> None:
    env = rbac_env
    with (
        env.running(make_worker()),
        Client.from_kubeconfig(env.kubeconfig, namespace=env.namespace) as user,
    ):
        done = user.spawn_and_wait("order", {"item": "tea"}, wait_timeout=30)
        waiting = user.spawn("approve").metadata.name or ""
        env.wait(waiting, phases={ExecutionPhase.SUSPENDED}, timeout=30)
        name = done.metadata.name or ""
        for args in (["list"], ["get", name], ["tree", name], ["functions"], ["suspensions"]):
            looked = _kontinue(env, env.viewer_kubeconfig, *args)
            assert looked.returncode == 0, (args, looked.stderr)
        for args in (
            ["execute", "order", "--arg", "item=x"],
            ["cancel", waiting],
            ["resume", waiting, "--data", '{"approved": true}'],
        ):
            refused = _kontinue(env, env.viewer_kubeconfig, *args)
            assert refused.returncode == 6, (args, refused.stdout, refused.stderr)
            assert "forbidden" in refused.stderr and "kontinue-user" in refused.stderr
        assert user.get(waiting).status.phase == ExecutionPhase.SUSPENDED  # nothing changed


def test_a_worker_missing_a_permission_waits_says_why_and_goes_on_once_granted(
    rbac_env: WorkflowEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    env = rbac_env
    worker = kontinue.Worker(group="rbac")

    @worker.function("scripted")
    async def scripted(ktx: kontinue.ExecutionContext) -> bool:
        result = await ktx.run_script("busybox", "echo hi")
        return result.succeeded

    role = "roles.rbac.authorization.k8s.io"
    with KubeClient.from_kubeconfig(env.admin_kubeconfig, namespace=env.namespace) as admin:
        granted = admin.get(role, WORKER_ACCOUNT)
        rules = granted["rules"]
        jobs = next(r for r in rules if r["resources"] == ["jobs"])
        jobs["verbs"] = [v for v in jobs["verbs"] if v != "create"]
        admin.update(granted)
        caplog.set_level(logging.ERROR, logger="kontinue.worker")
        with env.running(worker):
            name = env.execute(scripted, {})
            eventually(
                lambda: 'cannot create resource "jobs"' in caplog.text,
                timeout=30,
                what="an ERROR naming the missing permission",
            )
            assert "kontinue install --rbac-only --role worker" in caplog.text
            assert env.get(name).status.phase not in TERMINAL_PHASES  # not failed
            current = admin.get(role, WORKER_ACCOUNT)
            next(r for r in current["rules"] if r["resources"] == ["jobs"])["verbs"].append(
                "create"
            )
            admin.update(current)
            done = env.wait(name, timeout=60)
    assert done.status.phase == ExecutionPhase.COMPLETED, done.status
    assert done.status.result is True
