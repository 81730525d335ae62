"""The node agent's and the shared pod lifecycle's parts without a cluster: objects, volumes,
mounts, grace periods, lost pods, and the public names of both packages."""

from __future__ import annotations

import base64
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import kontinue.node
import kontinue.pods
from kontinue.node._agent import service_env
from kontinue.node._machine import Machine
from kontinue.node._objects import node_status, status_patch
from kontinue.pods import ConfigError, MountTools, RunnerSettings, Token, TokenSource, lost_status
from kontinue.pods._logs import BadLogRequest, log_file
from kontinue.pods._mounts import (
    Mount,
    check_executable,
    container_mounts,
    host_path,
    mount_env,
    namespace_command,
)
from kontinue.pods._volumes import (
    Volume,
    VolumeFile,
    refresh_delay,
    render_volumes,
    token_sources,
    volume_references,
    write_volume,
)

NOW = datetime(2030, 1, 1, tzinfo=UTC)
MACHINE = Machine(2, 1024, 2048, "m", "b", "6.1", "Debian", "linux", "amd64")
KUBE_API_ACCESS = {
    "name": "kube-api-access-x1y2z",
    "projected": {
        "defaultMode": 420,
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {
                "configMap": {
                    "name": "kube-root-ca.crt",
                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                }
            },
            {
                "downwardAPI": {
                    "items": [
                        {"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}
                    ]
                }
            },
        ],
    },
}
POD: dict[str, Any] = {
    "metadata": {"name": "p", "namespace": "ns", "uid": "u-1", "labels": {"app": "a"}},
    "spec": {
        "containers": [
            {
                "name": "main",
                "volumeMounts": [
                    {
                        "name": "kube-api-access-x1y2z",
                        "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                        "readOnly": True,
                    },
                    {"name": "settings", "mountPath": "/etc/app/app.conf", "subPath": "app.conf"},
                    {"name": "scratch", "mountPath": "/scratch"},
                ],
            }
        ],
        "volumes": [
            KUBE_API_ACCESS,
            {"name": "settings", "configMap": {"name": "conf", "defaultMode": 0o600}},
            {
                "name": "keys",
                "secret": {"secretName": "keys", "items": [{"key": "k", "path": "k"}]},
            },
            {"name": "scratch", "emptyDir": {}},
        ],
    },
}
OBJECTS: dict[tuple[str, str], dict[str, Any]] = {
    ("configmaps", "kube-root-ca.crt"): {"data": {"ca.crt": "PEM"}},
    ("configmaps", "conf"): {"data": {"app.conf": "x=1"}, "binaryData": {"b": "AAE="}},
    ("secrets", "keys"): {"data": {"k": base64.b64encode(b"secret").decode(), "other": ""}},
}
TOKENS = {TokenSource("", 3607): Token("t0k3n", NOW + timedelta(hours=1))}


def lookup(plural: str, namespace: str, name: str) -> dict[str, Any] | None:
    return OBJECTS.get((plural, name))


def test_public_names() -> None:
    assert sorted(kontinue.pods.__all__) == sorted(
        [
            "FINISHED",
            "BadLogRequest",
            "ConfigError",
            "LogOptions",
            "Mount",
            "MountTools",
            "PodGone",
            "PodHost",
            "PodRun",
            "PodSupervisor",
            "RunnerSettings",
            "SpawnError",
            "Token",
            "TokenSource",
            "choose_container",
            "expand",
            "lost_status",
            "mount_variable",
            "pod_directory",
            "read_lines",
            "resolve_env",
        ]
    )
    assert sorted(kontinue.node.__all__) == [
        "DEFAULT_NAME",
        "DEFAULT_PORT",
        "NodeAgent",
        "NodeSettings",
        "NodeSetupError",
    ]


def test_volumes_are_laid_out_as_a_kubelet_does(tmp_path: Path) -> None:
    assert volume_references(POD) == [
        ("configmaps", "kube-root-ca.crt"),
        ("configmaps", "conf"),
        ("secrets", "keys"),
    ]
    assert token_sources(POD) == [TokenSource("", 3607)]
    volumes = {
        v.name: v
        for v in render_volumes(POD, lookup, TOKENS, address="10.0.0.9", agent="the node agent")
    }
    access = volumes["kube-api-access-x1y2z"].files
    assert access == (
        VolumeFile("token", b"t0k3n", 0o644),
        VolumeFile("ca.crt", b"PEM", 0o644),
        VolumeFile("namespace", b"ns", 0o644),
    )
    assert volumes["settings"].files == (
        VolumeFile("app.conf", b"x=1", 0o600),
        VolumeFile("b", b"\x00\x01", 0o600),
    )
    assert volumes["keys"].files == (VolumeFile("k", b"secret", 0o644),)
    assert volumes["scratch"] == Volume("scratch")
    folder = write_volume(tmp_path / "keys", volumes["keys"])
    assert (folder / "k").read_bytes() == b"secret"
    assert oct((folder / "k").stat().st_mode & 0o777) == oct(0o644)
    (folder / "stale").write_text("old")
    write_volume(folder, volumes["keys"])
    assert sorted(p.name for p in folder.rglob("*")) == ["k"]


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        ({"name": "v", "configMap": {"name": "nope"}}, 'configmap "nope" not found'),
        (
            {"name": "v", "secret": {"secretName": "keys", "items": [{"key": "x", "path": "x"}]}},
            "references non-existent key: x",
        ),
        ({"name": "v", "persistentVolumeClaim": {"claimName": "c"}}, "persistentVolumeClaim"),
    ],
)
def test_volumes_that_cannot_be_made_keep_the_pod_waiting(
    volume: dict[str, Any], message: str
) -> None:
    pod = {"metadata": {"namespace": "ns"}, "spec": {"volumes": [volume]}}
    with pytest.raises(ConfigError, match=message):
        render_volumes(pod, lookup, {}, address="127.0.0.1", agent="the node agent")


def test_optional_sources_may_be_missing() -> None:
    volume = {"name": "v", "configMap": {"name": "nope", "optional": True}}
    pod = {"metadata": {"namespace": "ns"}, "spec": {"volumes": [volume]}}
    assert render_volumes(pod, lookup, {}, address="a", agent="b") == [Volume("v", ())]


def test_tokens_are_renewed_at_80_percent_of_their_life() -> None:
    assert refresh_delay(Token("t", NOW + timedelta(hours=1)), NOW) == 2880
    assert refresh_delay(Token("t", NOW + timedelta(days=365)), NOW) == 24 * 3600
    assert refresh_delay(Token("t", NOW - timedelta(hours=1)), NOW) == 1


def test_mounts_map_container_paths_to_volume_folders(tmp_path: Path) -> None:
    folders = {"kube-api-access-x1y2z": tmp_path / "sa", "settings": tmp_path / "conf"}
    mounts = container_mounts(POD["spec"]["containers"][0], folders)
    assert mounts == [
        Mount(tmp_path / "conf" / "app.conf", "/etc/app/app.conf", False),
        Mount(tmp_path / "sa", "/var/run/secrets/kubernetes.io/serviceaccount", True),
    ]
    sa = "/var/run/secrets/kubernetes.io/serviceaccount"
    assert host_path(f"{sa}/token", mounts) == tmp_path / "sa" / "token"
    assert host_path("/usr/bin/env", mounts) == Path("/usr/bin/env")
    assert mount_env(mounts) == {
        "KONTINUE_MOUNT_ETC_APP_APP_CONF": str(tmp_path / "conf" / "app.conf"),
        "KONTINUE_MOUNT_VAR_RUN_SECRETS_KUBERNETES_IO_SERVICEACCOUNT": str(tmp_path / "sa"),
    }
    tools = MountTools("/usr/bin/unshare", "/usr/bin/mount", "/bin/sh")
    argv = namespace_command(tools, mounts, ["cat", f"{sa}/token"])
    assert argv[:5] == ["/usr/bin/unshare", "--mount", "--propagation", "private", "--"]
    assert argv[-6:] == [str(tmp_path / "sa"), sa, "ro", "--", "cat", f"{sa}/token"]
    assert argv[argv.index("--", 5) :] == ["--", "cat", f"{sa}/token"]


def test_a_mount_over_the_folder_of_other_volumes_comes_after_them(tmp_path: Path) -> None:
    """An emptyDir at /tmp mounted first hid the pod's other volumes when the node agent
    keeps them under /tmp: the service-account token then failed to mount."""
    pods = tmp_path / "pods"
    container = {
        "volumeMounts": [
            {"name": "tmp", "mountPath": str(tmp_path)},
            {"name": "token", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"},
            {"name": "cache", "mountPath": f"{tmp_path}/cache"},
        ]
    }
    folders = {"tmp": Path("/var/lib/x/tmp"), "token": pods / "sa", "cache": pods / "cache"}
    order = [m.target for m in container_mounts(container, folders)]
    # the token's source is under the emptyDir's target: it is bound first; the cache is
    # inside the emptyDir: it comes after its parent
    assert order == [
        "/var/run/secrets/kubernetes.io/serviceaccount",
        str(tmp_path),
        f"{tmp_path}/cache",
    ]


def test_the_mount_script_runs_the_command_with_its_arguments(tmp_path: Path) -> None:
    # without mounts the script only execs: it must pass arguments through untouched
    tools = MountTools("/usr/bin/env", "/bin/false", "/bin/sh")
    argv = namespace_command(tools, [], ["printf", "%s|", "a b", "$HOME"])
    done = subprocess.run(argv[5:], capture_output=True, text=True, check=True)
    assert done.stdout == "a b|$HOME|"


def test_executables_are_found_through_the_mounts(tmp_path: Path) -> None:
    tool = tmp_path / "vol" / "run.sh"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\n")
    mounts = [Mount(tmp_path / "vol", "/scripts", True)]
    assert check_executable("/scripts/run.sh", tmp_path, "", mounts) == "permission denied"
    tool.chmod(0o755)
    assert check_executable("/scripts/run.sh", tmp_path, "", mounts) is None
    assert check_executable("run.sh", tmp_path, "/usr/bin:/scripts", mounts) is None
    assert check_executable("sh", tmp_path, os.defpath, mounts) is None
    assert check_executable("no-such-tool-kontinue", tmp_path, os.defpath, []) == "not found"


def test_grace_periods_follow_the_kubelet() -> None:
    settings = RunnerSettings(Path("/tmp"))
    assert settings.grace({"spec": {}}) == 30
    assert settings.grace({"spec": {"terminationGracePeriodSeconds": 5}}) == 5
    deleting = {"metadata": {"deletionGracePeriodSeconds": 0}, "spec": {}}
    assert settings.grace(deleting) == 2  # the kubelet's minimum
    assert RunnerSettings(Path("/tmp"), max_grace=3).grace({"spec": {}}) == 3


def test_a_lost_pod_fails_with_its_containers() -> None:
    status = {
        "containerStatuses": [
            {"name": "a", "state": {"running": {"startedAt": "2030-01-01T00:00:00Z"}}},
            {"name": "b", "state": {"terminated": {"exitCode": 0}}},
        ],
        "conditions": [
            {"type": "Ready", "status": "True"},
            {"type": "PodScheduled", "status": "True"},
        ],
    }
    patch = lost_status(status, "2030-01-01T00:01:00Z", "gone")
    assert (patch["phase"], patch["reason"]) == ("Failed", "Lost")
    first, second = patch["containerStatuses"]
    assert first["state"]["terminated"]["exitCode"] == 137
    assert second == status["containerStatuses"][1]
    assert [c["status"] for c in patch["conditions"]] == ["False", "True"]


def test_status_patches_name_the_states_a_container_left() -> None:
    status = {
        "phase": "Succeeded",
        "containerStatuses": [
            {"name": "a", "state": {"terminated": {"exitCode": 0}}, "lastState": {}}
        ],
    }
    patch = status_patch("u-1", status)
    assert patch["metadata"] == {"uid": "u-1"}
    (entry,) = patch["status"]["containerStatuses"]
    assert entry["state"] == {"waiting": None, "running": None, "terminated": {"exitCode": 0}}
    assert entry["lastState"] == {"waiting": None, "running": None, "terminated": None}


def test_node_objects() -> None:
    status = node_status(
        address="127.0.0.1",
        hostname="n",
        port=10250,
        machine=MACHINE,
        max_pods=250,
        kubelet_version="v1.37.2+kontinue",
        since=NOW,
        now=NOW + timedelta(minutes=1),
    )
    assert status["allocatable"] == {
        "cpu": "2",
        "memory": "1024Ki",
        "ephemeral-storage": "2048Ki",
        "pods": "250",
    }
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["lastTransitionTime"]) == ("True", "2030-01-01T00:00:00Z")
    assert ready["lastHeartbeatTime"] == "2030-01-01T00:01:00Z"
    assert status["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}
    assert service_env("https://127.0.0.1:6443")["KUBERNETES_SERVICE_PORT"] == "6443"
    assert service_env("https://[::1]:6443")["KUBERNETES_PORT"] == "tcp://[::1]:6443"


def test_previous_logs_are_the_run_before_the_latest(tmp_path: Path) -> None:
    pod = {"status": {}}
    with pytest.raises(BadLogRequest, match="is waiting to start: ContainerCreating"):
        log_file(tmp_path, pod, "p", "c", previous=False)
    (tmp_path / "0.log").write_text("")
    with pytest.raises(BadLogRequest, match='previous terminated container "c" in pod "p"'):
        log_file(tmp_path, pod, "p", "c", previous=True)
    (tmp_path / "1.log").write_text("")
    assert log_file(tmp_path, pod, "p", "c", previous=True).name == "0.log"
    assert log_file(tmp_path, pod, "p", "c", previous=False).name == "1.log"
