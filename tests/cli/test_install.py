"""``kontinue install``, the worker's RBAC (checked against what a worker really requests), and
the hints of ``kontinue dev``."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

import kontinue
from kontinue.api import (
    API_VERSION,
    ExecutionPhase,
    ExecutionTTL,
    crd_manifests,
)
from kontinue.cli._hints import try_this
from kontinue.cli.install import Role, rbac_yaml
from kontinue.client import Client
from kontinue.kube._requests import Request
from kontinue.kube._transport import AsyncHTTPTransport
from kontinue.roles import USER_ROLE, VIEWER_ROLE, WORKER_RULES
from kontinue.testing import WorkflowEnvironment, eventually

from .conftest import KONTINUE, environment, make_worker

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(KONTINUE), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )


def _finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return out


def test_install_prints_the_crds_and_the_worker_rbac(kontinue_env: WorkflowEnvironment) -> None:
    printed, as_json, applied, plugin = (
        _run("install"),
        _run("install", "-n", "team", "-o", "json"),
        _run("install", "--apply", "--kubeconfig", kontinue_env.admin_kubeconfig),
        subprocess.Popen(  # the kubectl plugin is the same command line
            [str(KONTINUE.with_name("kubectl-kontinue")), "version"],
            stdout=subprocess.PIPE,
            text=True,
        ),
    )
    documents = list(yaml.safe_load_all(_finish(printed)))
    kinds = [d["kind"] for d in documents]
    crds = list(crd_manifests().values())
    assert kinds == ["CustomResourceDefinition"] * len(crds) + [
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRole",
    ]
    assert documents[: len(crds)] == crds
    account, role, binding, user, viewer = documents[len(crds) :]
    assert [user["metadata"]["name"], viewer["metadata"]["name"]] == [USER_ROLE, VIEWER_ROLE]
    assert account["metadata"] == role["metadata"] == binding["metadata"]
    assert account["metadata"]["namespace"] == "default"
    assert role["rules"] == WORKER_RULES
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "kontinue-worker", "namespace": "default"}
    ]
    items = json.loads(_finish(as_json))["items"]
    assert items[-3]["subjects"][0]["namespace"] == "team"
    assert {i["metadata"].get("namespace") for i in items[-5:-2]} == {"team"}
    applied_lines = _finish(applied).splitlines()  # the RBAC too (the served kinds of it)
    assert applied_lines[: len(crds) + 1] == [
        *(
            f"customresourcedefinition.apiextensions.k8s.io/{crd['metadata']['name']} configured"
            for crd in crds
        ),
        "serviceaccount/kontinue-worker configured",
    ]
    assert _finish(plugin).startswith("kontinue ")
    for role in Role:
        on_disk = (ROOT / "deploy" / "rbac" / f"{role.value}.yaml").read_text()
        assert on_disk.rstrip("\n") == rbac_yaml(role).rstrip("\n"), (
            f"run: kontinue install --rbac-only --role {role.value} > deploy/rbac/{role.value}.yaml"
        )


def _rbac_request(request: Request) -> tuple[str, str, str] | None:
    """(API group, resource[/subresource], verb) of a resource request; None for discovery."""
    parts = request.path.strip("/").split("/")
    if parts[0] == "api":
        group, rest = "", parts[2:]
    elif parts[0] == "apis" and len(parts) > 3:
        group, rest = parts[1], parts[3:]
    else:
        return None
    if len(rest) >= 3 and rest[0] == "namespaces":
        rest = rest[2:]
    if not rest:
        return None
    resource = rest[0] + (f"/{rest[2]}" if len(rest) > 2 else "")
    named = len(rest) > 1
    query = dict(request.query)
    if request.method == "GET":
        verb = "get" if named else ("watch" if query.get("watch") == "true" else "list")
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[
            request.method
        ]
    return group, resource, verb


def _allowed(group: str, resource: str, verb: str) -> bool:
    return any(
        group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]
        for rule in WORKER_RULES
    )


@pytest.mark.timeout(90)
def test_the_worker_rbac_allows_every_request_a_worker_makes(
    kontinue_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Request] = []
    send, stream = AsyncHTTPTransport.send, AsyncHTTPTransport.stream

    async def recording_send(self: AsyncHTTPTransport, request: Request) -> Any:
        seen.append(request)
        return await send(self, request)

    def recording_stream(self: AsyncHTTPTransport, request: Request) -> AsyncIterator[bytes]:
        seen.append(request)
        return stream(self, request)

    monkeypatch.setattr(AsyncHTTPTransport, "send", recording_send)
    monkeypatch.setattr(AsyncHTTPTransport, "stream", recording_stream)

    worker = make_worker()

    @worker.function("limited", concurrency=1)
    async def limited(ktx: kontinue.ExecutionContext) -> int:
        return 1

    env = kontinue_env
    with (
        env.running(worker),
        Client.from_kubeconfig(env.kubeconfig, namespace=env.namespace) as client,
    ):
        kept = ExecutionTTL(archive_after=timedelta(0), delete_after=timedelta(seconds=1))
        archived = client.spawn("order", {"item": "x"}, mutex="m", ttl=kept)
        names = [client.spawn(f).metadata.name or "" for f in ("limited", "fail", "chain")]
        waiting = client.spawn("approve").metadata.name or ""
        env.kube.create(
            {
                "apiVersion": API_VERSION,
                "kind": "ScheduledExecution",
                "metadata": {"name": "often"},
                "spec": {"schedule": "* * * * *", "function": "limited"},
            }
        )
        env.wait(waiting, phases={ExecutionPhase.SUSPENDED})
        client.cancel(waiting)
        chain = env.wait(names[2], phases={ExecutionPhase.EXECUTING}, until=_two_steps, timeout=30)
        client.resume_execution(chain, recursive=True, data={"approved": True})
        for name in [*names, waiting]:
            env.wait(name, timeout=30)
        env.advance(timedelta(seconds=61))  # the schedule starts a run; the archive expires
        eventually(
            lambda: (
                not env.kube.list("archivedexecutions.kontinue.cloud")
                and client.list(schedule="often")
            ),
            timeout=20,
            what="a scheduled run, and the archive gone",
        )
        assert archived.metadata.name
    used = {r for r in map(_rbac_request, seen) if r is not None}
    assert ("kontinue.cloud", "archivedexecutions", "delete") in used  # (what ran above)
    assert ("coordination.k8s.io", "leases", "update") in used
    assert ("", "pods/log", "get") in used
    assert ("kontinue.cloud", "scheduledexecutions/status", "patch") in used
    missing = sorted(r for r in used if not _allowed(*r))
    assert not missing, f"the worker Role does not allow {missing}"


def _two_steps(execution: Any) -> bool:
    return len(execution.status.steps) == 2


def test_dev_prints_the_next_commands_to_try() -> None:
    text = "\n".join(try_this([make_worker()]))
    assert "  kontinue functions" in text
    assert "  kontinue execute approve --wait" in text
    assert "  kontinue tree $(kontinue execute approve -o name) --watch" in text
    assert "internal" not in text  # hidden functions are never suggested
    from examples.hello import worker as example

    assert "  kontinue execute hello --arg name=you --wait" in "\n".join(try_this([example]))
    assert "kontinue worker examples.hello:worker" in "\n".join(try_this([]))
