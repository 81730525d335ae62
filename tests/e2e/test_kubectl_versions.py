"""What platform engineers type, with kubectl 1.33, 1.29 and 1.20 against the same server.

They differ on the wire: 1.32+ send built-in kinds as protobuf and read aggregated discovery and
OpenAPI v3; 1.29 sends JSON; 1.20 reads the plain discovery and OpenAPI v2 in protobuf (and
validates manifests against it on the client).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from kontinue.devserver import DevServerSettings, DevServerThread
from kontinue.testing import eventually

from ..conftest import kubectl_of_version
from .test_kubectl import CRD, OBJECTS, Kubectl

pytestmark = pytest.mark.kubectl

VERSIONS = (33, 29, 20)
GROUP = "kubectl.kontinue.cloud"
# The CRD of test_kubectl.py, with a status kubectl wait can read conditions from.
CRD_WITH_STATUS = (
    CRD + "          status: {{type: object, x-kubernetes-preserve-unknown-fields: true}}\n"
)


@pytest.fixture(scope="module", params=VERSIONS, ids=[f"kubectl-1.{v}" for v in VERSIONS])
def binary(request: pytest.FixtureRequest) -> str:
    found = kubectl_of_version(request.param)
    if found is None:
        if request.param == 20 and os.environ.get("CI"):
            pytest.fail("kubectl 1.20 is missing from .tools/bin: run scripts/install-kubectl.sh")
        pytest.skip(f"kubectl 1.{request.param} is not on this machine")
    return found


@pytest.fixture(scope="module")
def home(binary: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A HOME per version: kubectl versions do not share a discovery cache."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture
def kubectl(binary: str, home: Path, kubeconfig: str, namespace: str) -> Kubectl:
    tool = Kubectl(binary, kubeconfig, namespace)
    tool.env["HOME"] = str(home)
    return tool


@pytest.fixture
def gizmo(kubectl: Kubectl, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A fresh CRD: its (kind, plural)."""
    suffix = uuid.uuid4().hex[:6]
    plural, kind = f"gizmos{suffix}", f"Gizmo{suffix}"
    path = tmp_path / "crd.yaml"
    path.write_text(
        CRD_WITH_STATUS.format(
            plural=plural, singular=f"gizmo{suffix}", kind=kind, short=f"gz{suffix}"
        )
    )
    assert "created" in kubectl("apply", "-f", str(path))
    yield kind, plural
    kubectl("delete", "-f", str(path), "--wait=false")


def _stored(kubectl: Kubectl, *what: str) -> Any:
    obj = json.loads(kubectl("get", *what, "-o", "json"))
    for key in ("uid", "resourceVersion", "creationTimestamp", "name", "managedFields"):
        obj["metadata"].pop(key, None)
    obj["metadata"].get("labels", {}).pop("kubernetes.io/metadata.name", None)
    return obj


def test_create_builtin_kinds_and_a_custom_resource(
    kubectl: Kubectl, gizmo: tuple[str, str], tmp_path: Path
) -> None:
    ns = f"k-{uuid.uuid4().hex[:8]}"
    assert f"namespace/{ns} created" in kubectl("create", "namespace", ns)
    assert "configmap/settings created" in kubectl(
        "create", "configmap", "settings", "--from-literal=level=3", "--from-file=bin=/bin/true"
    )
    assert "secret/pw created" in kubectl(
        "create", "secret", "generic", "pw", "--from-literal=password=s3cret"
    )
    assert "serviceaccount/robot created" in kubectl("create", "serviceaccount", "robot")
    assert "job.batch/hello created" in kubectl(
        "create", "job", "hello", "--image=busybox", "--", "echo", "hi"
    )
    kind, _ = gizmo
    manifest = tmp_path / "objects.yaml"
    manifest.write_text(OBJECTS.format(kind=kind, replicas=1).split("---")[0])
    assert "first created" in kubectl("create", "-f", str(manifest))
    assert kubectl("get", "namespace", ns, "-o", "jsonpath={.status.phase}") == "Active"
    assert kubectl("get", "secret", "pw", "-o", "jsonpath={.data.password}") == "czNjcmV0"
    assert kubectl("get", "secret", "pw", "-o", "jsonpath={.type}") == "Opaque"
    binary_data = kubectl("get", "cm", "settings", "-o", "jsonpath={.binaryData.bin}")
    assert binary_data == __import__("base64").b64encode(Path("/bin/true").read_bytes()).decode()
    command = kubectl("get", "job", "hello", "-o", "jsonpath={.spec.template.spec.containers[0]}")
    container = json.loads(command)
    assert container["command"] == ["echo", "hi"] and container["image"] == "busybox"
    assert container["resources"] == {}
    kubectl("delete", "namespace", ns, "--wait=false")


def test_protobuf_and_json_bodies_store_the_same_object(kubectl: Kubectl) -> None:
    """``kubectl create X`` (protobuf from 1.32) and the same object as JSON are stored alike."""
    for args in (
        ("configmap", "a", "--from-literal=k=v"),
        ("secret", "generic", "a", "--from-literal=k=v"),
        ("serviceaccount", "a"),
        ("job", "a", "--image=busybox", "--", "echo", "hi"),
    ):
        kubectl("create", *args)
        as_json = kubectl("create", "--dry-run=client", "-o", "json", *args)
        twin = json.loads(as_json)
        twin["metadata"]["name"] = "b"
        kubectl("create", "-f", "-", stdin=json.dumps(twin))
        resource = "job" if args[0] == "job" else args[0]
        first, second = _stored(kubectl, resource, "a"), _stored(kubectl, resource, "b")
        if resource == "job":  # its selector and pod labels name the Job and its uid
            first, second = (o["spec"]["template"]["spec"] for o in (first, second))
        assert first == second, resource


def test_apply_client_side_and_server_side(
    kubectl: Kubectl, gizmo: tuple[str, str], tmp_path: Path
) -> None:
    kind, _ = gizmo
    manifest = tmp_path / "objects.yaml"
    manifest.write_text(OBJECTS.format(kind=kind, replicas=1))
    out = kubectl("apply", "-f", str(manifest))
    assert "first created" in out and "second created" in out and "settings created" in out
    manifest.write_text(OBJECTS.format(kind=kind, replicas=3))
    out = kubectl("apply", "-f", str(manifest))
    assert "first configured" in out and "second unchanged" in out and "settings configured" in out
    manifest.write_text(OBJECTS.format(kind=kind, replicas=5))
    out = kubectl("apply", "--server-side", "--force-conflicts", "-f", str(manifest))
    assert out.count("serverside-applied") == 3
    assert kubectl("get", kind.lower(), "first", "-o", "jsonpath={.spec.replicas}") == "5"
    assert kubectl("get", "cm", "settings", "-o", "jsonpath={.data.level}") == "5"
    job = tmp_path / "job.yaml"
    job.write_text(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: applied}\nspec:\n  template:\n"
        "    spec:\n      restartPolicy: Never\n"
        "      containers: [{name: main, image: busybox, command: [echo, hi]}]\n"
    )
    assert "job.batch/applied created" in kubectl("apply", "-f", str(job))
    assert "job.batch/applied unchanged" in kubectl("apply", "-f", str(job))


def test_apply_refuses_unknown_fields_of_custom_kinds(
    kubectl: Kubectl, gizmo: tuple[str, str]
) -> None:
    kind, _ = gizmo
    bad = f"apiVersion: {GROUP}/v1\nkind: {kind}\nmetadata: {{name: bad}}\nspec: {{bogus: 1}}\n"
    out = kubectl("apply", "-f", "-", stdin=bad, check=False)
    assert 'unknown field "bogus"' in out or 'unknown field "spec.bogus"' in out, out


def test_get_describe_label_patch_delete(
    kubectl: Kubectl, gizmo: tuple[str, str], tmp_path: Path
) -> None:
    kind, _ = gizmo
    resource = kind.lower()
    manifest = tmp_path / "objects.yaml"
    manifest.write_text(OBJECTS.format(kind=kind, replicas=1))
    kubectl("apply", "-f", str(manifest))
    lines = kubectl("get", resource).strip().splitlines()
    assert lines[0].split() == ["NAME", "REPLICAS", "MODE"]
    assert lines[1].split() == ["first", "1", "auto"]
    assert kubectl("get", "cm").splitlines()[0].split() == ["NAME", "DATA", "AGE"]
    assert "mode: manual" in kubectl("get", resource, "second", "-o", "yaml")
    described = kubectl("describe", resource, "first")
    assert "Name:" in described and "Replicas:" in described and "first" in described
    assert "level" in kubectl("describe", "configmap", "settings")
    assert "labeled" in kubectl("label", resource, "first", "tier=gold")
    assert "labeled" in kubectl("label", "cm", "settings", "tier=gold")
    assert kubectl("get", resource, "-l", "tier=gold", "-o", "name").strip().endswith("/first")
    assert "patched" in kubectl(
        "patch", resource, "first", "--type=merge", "-p", '{"spec":{"replicas":7}}'
    )
    assert "patched" in kubectl(
        "patch",
        resource,
        "first",
        "--type=json",
        "-p",
        '[{"op":"replace","path":"/spec/mode","value":"fast"}]',
    )
    assert kubectl("get", resource, "first", "-o", "jsonpath={.spec.replicas}/{.spec.mode}") == (
        "7/fast"
    )
    assert "patched" in kubectl("patch", "cm", "settings", "-p", '{"data":{"extra":"1"}}')
    assert "patched" in kubectl(
        "patch", "cm", "settings", "--type=strategic", "-p", '{"data":{"level":"9"}}'
    )
    assert kubectl("get", "cm", "settings", "-o", "jsonpath={.data.level}/{.data.extra}") == "9/1"
    assert "deleted" in kubectl("delete", resource, "second")
    assert "deleted" in kubectl("delete", "cm", "settings")
    assert "NotFound" in kubectl("get", "cm", "settings", check=False)


def test_get_watch(kubectl: Kubectl, custom: client.CustomObjectsApi, namespace: str) -> None:
    watcher = kubectl.popen("get", "configmaps", "-w")
    try:
        time.sleep(1.0)  # kubectl lists, then watches
        kubectl("create", "configmap", "watched", "--from-literal=a=b")
        seen = ""
        assert watcher.stdout is not None
        while "watched" not in seen:
            line = watcher.stdout.readline()
            assert line, seen
            seen += line
    finally:
        watcher.kill()
        watcher.wait()


def test_wait_for_condition_and_delete(
    kubectl: Kubectl,
    gizmo: tuple[str, str],
    custom: client.CustomObjectsApi,
    namespace: str,
    tmp_path: Path,
) -> None:
    kind, plural = gizmo
    resource = kind.lower()
    manifest = tmp_path / "objects.yaml"
    manifest.write_text(OBJECTS.format(kind=kind, replicas=1))
    kubectl("apply", "-f", str(manifest))
    waiter = kubectl.popen("wait", "--for=condition=Ready", f"{resource}/first", "--timeout=30s")
    time.sleep(0.5)
    assert waiter.poll() is None
    custom.patch_namespaced_custom_object_status(
        GROUP,
        "v1",
        namespace,
        plural,
        "first",
        {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
    )
    assert waiter.wait(timeout=30) == 0
    assert waiter.stdout is not None and "condition met" in waiter.stdout.read()
    kubectl(
        "patch",
        resource,
        "first",
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":["kontinue.cloud/hold"]}}',
    )
    assert "deleted" in kubectl("delete", resource, "first", "--wait=false")
    waiter = kubectl.popen("wait", "--for=delete", f"{resource}/first", "--timeout=30s")
    time.sleep(0.5)
    assert waiter.poll() is None  # held by the finalizer
    kubectl("patch", resource, "first", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    assert waiter.wait(timeout=30) == 0


def test_events(kubectl: Kubectl, binary: str) -> None:
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "settings.1"},
        "involvedObject": {
            "kind": "ConfigMap",
            "name": "settings",
            "apiVersion": "v1",
            "namespace": kubectl.namespace,
        },
        "reason": "Tested",
        "message": "kubectl sees this event",
        "type": "Normal",
        "firstTimestamp": "2026-01-01T00:00:00Z",
        "lastTimestamp": "2026-01-01T00:00:00Z",
        "count": 1,
        "source": {"component": "tests"},
    }
    kubectl("create", "-f", "-", stdin=json.dumps(event))
    assert "kubectl sees this event" in kubectl("get", "events")
    if binary != kubectl_of_version(20):  # `kubectl events` came with 1.26
        out = kubectl("events")
        assert "Tested" in out and "kubectl sees this event" in out


def test_explain_builtin_and_custom_kinds(kubectl: Kubectl, gizmo: tuple[str, str]) -> None:
    out = kubectl("explain", "pod.spec.containers")
    assert "image" in out and "livenessProbe" in out and "Container image name" in out
    out = kubectl("explain", "configmap")
    assert "ConfigMap holds configuration data" in out and "binaryData" in out
    out = kubectl("explain", "job.spec.backoffLimit")
    assert "integer" in out and "retries before marking this job failed" in out
    kind, _ = gizmo

    # kube-apiserver publishes a new CRD's schema a moment after it is Established
    def explained() -> str | None:
        out = kubectl("explain", f"{kind.lower()}.spec", check=False)
        return out if "replicas" in out else None

    out = eventually(explained, timeout=30, what=f"kubectl explain {kind}")
    assert "replicas" in out and "mode" in out


def test_api_resources(kubectl: Kubectl, gizmo: tuple[str, str], tmp_path: Path) -> None:
    out = kubectl("api-resources", "-v=6", "--cache-dir", str(tmp_path / "cache"))
    for entry in ("configmaps", "namespaces", "leases", "jobs", "events", gizmo[0]):
        assert entry in out, entry
    assert "/apis?timeout" in out
    if kubectl.binary == kubectl_of_version(33):
        # Aggregated discovery (v2, since 1.30): /api and /apis answer everything, no request
        # per group; older clients ask for v2beta1, which 1.37 no longer serves
        assert "/apis/batch/v1" not in out and "/apis/coordination.k8s.io/v1" not in out
    assert "default" in kubectl("get", "serviceaccounts")


# Jobs that run: a server of their own with the Job controller and the pod runner -------------


@pytest.fixture(scope="module")
def running_server() -> Iterator[DevServerThread]:
    with DevServerThread(DevServerSettings.ephemeral()) as thread:
        yield thread


@pytest.mark.devserver  # the dev server's own pod runner (the node agent has tests/node)
def test_job_runs_and_kubectl_reads_its_logs(
    binary: str, home: Path, running_server: DevServerThread
) -> None:
    kubeconfig = str(running_server.server.kubeconfig_path)
    kubectl = Kubectl(binary, kubeconfig, "default")
    kubectl.env["HOME"] = str(home / "running")
    name = f"hello-{uuid.uuid4().hex[:6]}"
    kubectl("create", "job", name, "--image=busybox", "--", "/bin/sh", "-c", "echo hello from $0")
    out = kubectl("wait", "--for=condition=complete", f"job/{name}", "--timeout=30s")
    assert "condition met" in out
    assert "hello from /bin/sh" in kubectl("logs", f"job/{name}")
    configuration = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    with client.ApiClient(configuration) as api:
        core = client.CoreV1Api(api)
        (pod,) = core.list_namespaced_pod("default", label_selector=f"job-name={name}").items
    assert "Completed" in kubectl("get", "pod", pod.metadata.name)
    assert "deleted" in kubectl("delete", "job", name)  # kubectl deletes in the background
    eventually(lambda: "NotFound" in kubectl("get", "pod", pod.metadata.name, check=False))
