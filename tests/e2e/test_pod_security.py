"""Pod Security Admission, and what a token holder's pod can reach (issue 15, item 2).

The checks of a labelled namespace answer as kube-apiserver does (they run on a cluster too); the
dev server's own default (``baseline`` where upstream's is ``privileged``), the pod runner's
working directories, the flags and the refusal of a shared address with pods are its own.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from kontinue.devserver import DevServerError, DevServerSettings, DevServerThread
from kontinue.devserver.server import DevServer, is_loopback
from kontinue.testing import eventually

from .conftest import RawHttp

ENFORCE = "pod-security.kubernetes.io/enforce"

#: The pod of the issue: a privileged container, the host's PIDs and the host's root.
HOST_SHELL: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "x"},
    "spec": {
        "hostPID": True,
        "securityContext": {"runAsUser": 65534},
        "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
        "containers": [
            {
                "name": "c",
                "image": "busybox",
                "command": ["cat", "/host/etc/hostname"],
                "securityContext": {"privileged": True},
                "volumeMounts": [{"name": "root", "mountPath": "/host"}],
            }
        ],
    },
}
PLAIN: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "y"},
    "spec": {"containers": [{"name": "c", "image": "busybox"}]},
}


def _label(raw: RawHttp, namespace: str, level: str) -> tuple[int, Any]:
    return raw.json(
        "PATCH",
        f"/api/v1/namespaces/{namespace}",
        {"metadata": {"labels": {ENFORCE: level}}},
        content_type="application/merge-patch+json",
    )


def _create(raw: RawHttp, namespace: str, pod: dict[str, Any]) -> tuple[int, Any]:
    return raw.json("POST", f"/api/v1/namespaces/{namespace}/pods?dryRun=All", pod)


def test_baseline_refuses_the_host_shell_in_upstreams_words(raw: RawHttp, namespace: str) -> None:
    assert _label(raw, namespace, "baseline")[0] == 200
    status, body = _create(raw, namespace, HOST_SHELL)
    assert (status, body["reason"]) == (403, "Forbidden")
    assert body["message"] == (
        'pods "x" is forbidden: violates PodSecurity "baseline:latest": '
        "host namespaces (hostPID=true), "
        'hostPath volumes (volume "root"), '
        'privileged (container "c" must not set securityContext.privileged=true)'
    )
    assert body["details"] == {"name": "x", "kind": "pods"}
    assert _create(raw, namespace, PLAIN)[0] == 201


def test_restricted_lists_every_check_in_upstreams_order(raw: RawHttp, namespace: str) -> None:
    assert _label(raw, namespace, "restricted")[0] == 200
    status, body = _create(raw, namespace, PLAIN)
    assert status == 403
    assert body["message"] == (
        'pods "y" is forbidden: violates PodSecurity "restricted:latest": '
        'allowPrivilegeEscalation != false (container "c" must set '
        "securityContext.allowPrivilegeEscalation=false), "
        'unrestricted capabilities (container "c" must set '
        'securityContext.capabilities.drop=["ALL"]), '
        'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), '
        'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to '
        '"RuntimeDefault" or "Localhost")'
    )
    hardened = {
        **PLAIN,
        "spec": {
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "c",
                    "image": "busybox",
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }
    assert _create(raw, namespace, hardened)[0] == 201


def test_privileged_namespaces_allow_anything(raw: RawHttp, namespace: str) -> None:
    assert _label(raw, namespace, "privileged")[0] == 200
    assert _create(raw, namespace, HOST_SHELL)[0] == 201


def test_an_unknown_level_is_invalid(raw: RawHttp, namespace: str) -> None:
    status, body = _label(raw, namespace, "bogus")
    assert status == 422
    assert body["message"] == (
        f'Namespace "{namespace}" is invalid: metadata.labels[{ENFORCE}]: Invalid value: '
        '"bogus": must be one of privileged, baseline, restricted'
    )


@pytest.mark.devserver
def test_the_dev_server_enforces_baseline_without_a_label(raw: RawHttp, namespace: str) -> None:
    status, body = _create(raw, namespace, HOST_SHELL)
    assert status == 403
    assert 'violates PodSecurity "baseline:latest"' in body["message"]


# -- the pod runner ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runner() -> Iterator[RawHttp]:
    """A private server that runs pods (the session's server does not)."""
    from kubernetes import client, config

    with DevServerThread(DevServerSettings.ephemeral(run_jobs=False)) as thread:
        configuration = client.Configuration()
        config.load_kube_config(
            config_file=str(thread.server.kubeconfig_path), client_configuration=configuration
        )
        yield RawHttp(configuration)


def _pod_output(raw: RawHttp, namespace: str, name: str) -> str:
    def done() -> bool:
        status, pod = raw.json("GET", f"/api/v1/namespaces/{namespace}/pods/{name}")
        return status == 200 and pod.get("status", {}).get("phase") in ("Succeeded", "Failed")

    eventually(done, timeout=20)
    _, _, log = raw.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}/log")
    return log.decode()


@pytest.mark.devserver
def test_working_directories_stay_in_the_pods_folder(runner: RawHttp) -> None:
    namespace = f"wd-{uuid.uuid4().hex[:8]}"
    assert runner.json("POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})[0] == 201
    for name, working_dir in (("up", "../../.."), ("deep", "/a/../../../b")):
        pod = {
            "metadata": {"name": name},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {"name": "c", "image": "x", "command": ["pwd"], "workingDir": working_dir}
                ],
            },
        }
        assert runner.json("POST", f"/api/v1/namespaces/{namespace}/pods", pod)[0] == 201
    up = _pod_output(runner, namespace, "up").strip()
    deep = _pod_output(runner, namespace, "deep").strip()
    assert up.endswith("/root") and f"{namespace}_up_" in up, up
    assert deep.endswith("/root/b") and f"{namespace}_deep_" in deep, deep


@pytest.mark.devserver
def test_pods_are_refused_on_a_shared_address() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    server = DevServer(DevServerSettings.ephemeral(host="0.0.0.0"))
    with pytest.raises(DevServerError, match=r"not a loopback address.*--no-run-pods"):
        asyncio.run(server.start())


@pytest.mark.devserver
def test_dev_help_says_pods_run_as_you_and_has_the_switches() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kontinue.cli", "dev", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "TERM": "dumb"},
    )
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "Pods run as host processes on this machine, as the user running this server" in text
    assert "--no-run-pods" in text and "--no-run-jobs" in text
