"""The newest kubectl on the machine against the server: what platform engineers type."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from kubernetes import client

from kontinue.testing import eventually

pytestmark = pytest.mark.kubectl

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.kubectl.kontinue.cloud
spec:
  group: kubectl.kontinue.cloud
  scope: Namespaced
  names: {{plural: {plural}, singular: {singular}, kind: {kind}, shortNames: [{short}]}}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {{status: {{}}}}
    additionalPrinterColumns:
    - {{name: Replicas, type: integer, jsonPath: .spec.replicas}}
    - {{name: Mode, type: string, jsonPath: .spec.mode}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              replicas: {{type: integer, minimum: 0}}
              mode: {{type: string, default: auto}}
"""

OBJECTS = """\
apiVersion: kubectl.kontinue.cloud/v1
kind: {kind}
metadata:
  name: first
spec:
  replicas: {replicas}
---
apiVersion: kubectl.kontinue.cloud/v1
kind: {kind}
metadata:
  name: second
spec:
  replicas: 2
  mode: manual
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  level: "{replicas}"
"""


class Kubectl:
    def __init__(self, binary: str, kubeconfig: str, namespace: str) -> None:
        self.binary = binary
        self.env = {**os.environ, "KUBECONFIG": kubeconfig, "HOME": str(Path(kubeconfig).parent)}
        self.namespace = namespace

    def __call__(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        result = subprocess.run(
            [self.binary, "-n", self.namespace, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout + result.stderr

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [self.binary, "-n", self.namespace, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
        )


@pytest.fixture
def kubectl(kubectl_binary: str, kubeconfig: str, namespace: str) -> Kubectl:
    return Kubectl(kubectl_binary, kubeconfig, namespace)


@pytest.fixture
def crd_kind(kubectl: Kubectl, tmp_path: Path) -> str:
    suffix = uuid.uuid4().hex[:6]
    plural, kind = f"gizmos{suffix}", f"Gizmo{suffix}"
    path = tmp_path / "crd.yaml"
    path.write_text(
        CRD.format(plural=plural, singular=f"gizmo{suffix}", kind=kind, short=f"gz{suffix}")
    )
    out = kubectl("apply", "-f", str(path))
    assert "created" in out
    yield kind
    kubectl("delete", "-f", str(path), "--wait=false")


def test_apply_get_and_reapply(kubectl: Kubectl, crd_kind: str, tmp_path: Path) -> None:
    manifest = tmp_path / "objects.yaml"
    manifest.write_text(OBJECTS.format(kind=crd_kind, replicas=1))
    out = kubectl("apply", "-f", str(manifest))
    assert "first created" in out and "second created" in out and "settings created" in out
    table = kubectl("get", crd_kind.lower())
    lines = table.strip().splitlines()
    assert lines[0].split() == ["NAME", "REPLICAS", "MODE"]
    assert lines[1].split() == ["first", "1", "auto"]
    assert lines[2].split() == ["second", "2", "manual"]
    manifest.write_text(OBJECTS.format(kind=crd_kind, replicas=3))
    out = kubectl("apply", "-f", str(manifest))
    assert "first configured" in out and "second unchanged" in out
    assert "settings configured" in out
    assert kubectl("get", crd_kind.lower(), "first", "-o", "jsonpath={.spec.replicas}") == "3"
    assert kubectl("get", "cm", "settings", "-o", "jsonpath={.data.level}") == "3"
    yaml_out = kubectl("get", crd_kind.lower(), "second", "-o", "yaml")
    assert "mode: manual" in yaml_out and "resourceVersion:" in yaml_out and "uid:" in yaml_out


def test_apply_server_side(kubectl: Kubectl, crd_kind: str, tmp_path: Path) -> None:
    manifest = tmp_path / "objects.yaml"
    manifest.write_text(OBJECTS.format(kind=crd_kind, replicas=4))
    out = kubectl("apply", "--server-side", "-f", str(manifest))
    assert "serverside-applied" in out
    assert kubectl("get", crd_kind.lower(), "first", "-o", "jsonpath={.spec.replicas}") == "4"


def test_label_patch_and_invalid_input(kubectl: Kubectl, crd_kind: str, tmp_path: Path) -> None:
    manifest = tmp_path / "objects.yaml"
    manifest.write_text(OBJECTS.format(kind=crd_kind, replicas=1))
    kubectl("apply", "-f", str(manifest))
    kind = crd_kind.lower()
    assert "labeled" in kubectl("label", kind, "first", "tier=gold")
    assert kubectl("get", kind, "-l", "tier=gold", "-o", "name").strip().endswith("/first")
    assert "patched" in kubectl(
        "patch", kind, "first", "--type=merge", "-p", '{"spec":{"replicas":9}}'
    )
    assert "patched" in kubectl(
        "patch",
        kind,
        "first",
        "--type=json",
        "-p",
        '[{"op":"replace","path":"/spec/mode","value":"fast"}]',
    )
    assert kubectl("get", kind, "first", "-o", "jsonpath={.spec.replicas}/{.spec.mode}") == "9/fast"
    assert "patched" in kubectl("patch", "cm", "settings", "-p", '{"data":{"extra":"1"}}')
    out = kubectl(
        "patch", kind, "first", "--type=merge", "-p", '{"spec":{"replicas":-1}}', check=False
    )
    assert "is invalid" in out and "spec.replicas" in out


def test_watch_sees_api_changes(
    kubectl: Kubectl, crd_kind: str, custom: client.CustomObjectsApi, namespace: str
) -> None:
    kind = crd_kind.lower()
    plural = "gizmos" + crd_kind[len("Gizmo") :]
    watcher = kubectl.popen("get", kind, "-w")
    try:
        time.sleep(1.0)  # kubectl lists, then watches
        custom.create_namespaced_custom_object(
            "kubectl.kontinue.cloud",
            "v1",
            namespace,
            plural,
            {
                "apiVersion": "kubectl.kontinue.cloud/v1",
                "kind": crd_kind,
                "metadata": {"name": "watched"},
                "spec": {"replicas": 5},
            },
        )
        custom.patch_namespaced_custom_object(
            "kubectl.kontinue.cloud", "v1", namespace, plural, "watched", {"spec": {"replicas": 6}}
        )
        lines: list[str] = []
        assert watcher.stdout is not None
        while len([ln for ln in lines if ln.startswith("watched")]) < 2:
            line = watcher.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
    finally:
        watcher.kill()
        watcher.wait()
    rows = [ln.split() for ln in lines if ln.startswith("watched")]
    assert rows[0][:3] == ["watched", "5", "auto"]
    assert rows[1][:3] == ["watched", "6", "auto"]


def test_delete_with_finalizer_and_wait(kubectl: Kubectl, crd_kind: str, tmp_path: Path) -> None:
    kind = crd_kind.lower()
    manifest = tmp_path / "objects.yaml"
    manifest.write_text(OBJECTS.format(kind=crd_kind, replicas=1))
    kubectl("apply", "-f", str(manifest))
    kubectl(
        "patch",
        kind,
        "first",
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":["kontinue.cloud/hold"]}}',
    )
    out = kubectl("delete", kind, "first", "--wait=false")
    assert "deleted" in out
    assert kubectl("get", kind, "first", "-o", "jsonpath={.metadata.deletionTimestamp}")
    waiter = kubectl.popen("wait", "--for=delete", f"{kind}/first", "--timeout=30s")
    time.sleep(0.5)
    assert waiter.poll() is None  # still waiting on the finalizer
    kubectl("patch", kind, "first", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    assert waiter.wait(timeout=30) == 0
    assert waiter.stdout is not None and "condition met" in waiter.stdout.read()
    out = kubectl("get", kind, "first", check=False)
    assert "NotFound" in out
    assert "deleted" in kubectl("delete", kind, "second")


def test_api_resources_and_builtins(kubectl: Kubectl, crd_kind: str) -> None:
    out = kubectl("api-resources")
    for entry in (
        "configmaps",
        "namespaces",
        "customresourcedefinitions",
        "leases",
        "jobs",
        crd_kind,
    ):
        assert entry in out, entry
    assert "default" in kubectl("get", "serviceaccounts")
    kubectl("create", "configmap", "made-by-kubectl", "--from-literal=a=b")
    assert "made-by-kubectl" in kubectl("get", "cm")
    kubectl("create", "secret", "generic", "pw", "--from-literal=password=s3cret")
    assert "Opaque" in kubectl("get", "secret", "pw")
    assert "configmap" in kubectl("delete", "cm", "made-by-kubectl")
    eventually(lambda: "made-by-kubectl" not in kubectl("get", "cm"))
