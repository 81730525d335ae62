"""The Helm chart deploy/helm/kontinue, offline: it lints, its values are checked by its schema,
and with its defaults it renders exactly the objects ``kontinue install --worker`` prints, so the
two ways to install stay equal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kontinue.api import crd_manifests
from kontinue.roles import WORKER_ACCOUNT, WORKER_RULES, cluster_roles

from .conftest import CHART, ROOT, Helm, set_values

JSON = dict[str, Any]
TARGET = {"worker.target": "examples.hello:worker"}
#: What only Helm adds: the release's labels and the CRDs' keep policy.
HELM_LABELS = (
    "app.kubernetes.io/instance",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/version",
    "helm.sh/chart",
)


def without_helm(obj: JSON) -> JSON:
    """``obj`` without the metadata only Helm adds (labels of the release, keep policy)."""
    meta = dict(obj["metadata"])
    meta["labels"] = {k: v for k, v in meta.get("labels", {}).items() if k not in HELM_LABELS}
    annotations = {
        k: v for k, v in meta.pop("annotations", {}).items() if k != "helm.sh/resource-policy"
    }
    if annotations:
        meta["annotations"] = annotations
    return {**obj, "metadata": meta}


def key(obj: JSON) -> tuple[str, str, str]:
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace", ""), meta["name"]


def kontinue_install(*args: str) -> list[JSON]:
    done = subprocess.run(
        [sys.executable, "-m", "kontinue.cli", "install", "-o", "json", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    items: list[JSON] = json.loads(done.stdout)["items"]
    return items


def test_the_chart_lints_and_its_schema_refuses_bad_values(helm: Helm) -> None:
    helm.run("lint", "--strict", str(CHART), *set_values(TARGET))
    # lint only warns about a missing required value; rendering fails
    missing = helm.run("template", "kontinue", str(CHART), check=False)
    assert missing.returncode != 0
    assert "worker.target is required: your Worker object as MODULE:OBJECT" in missing.stderr
    for values, error in [
        ({"worker.target": "no-colon"}, "at '/worker/target'"),
        ({**TARGET, "replicas": "-1"}, "at '/replicas'"),
        ({**TARGET, "worker.logFormat": "xml"}, "at '/worker/logFormat'"),
        ({**TARGET, "metrics.port": "70000"}, "at '/metrics/port'"),
        ({**TARGET, "worker.namespcae": "typo"}, "namespcae"),
    ]:
        done = helm.run("lint", "--strict", str(CHART), *set_values(values), check=False)
        assert done.returncode != 0, f"{values} passed the lint"
        assert error in done.stdout + done.stderr, done.stdout + done.stderr


def test_the_chart_renders_what_kontinue_install_prints(helm: Helm) -> None:
    values = {**TARGET, "image.repository": "registry.example/shop", "image.tag": "7"}
    chart = helm.template(*set_values(values), namespace="team")
    printed = kontinue_install(
        "-n", "team", "--worker", "examples.hello:worker", "--image", "registry.example/shop:7"
    )
    assert sorted(map(key, chart)) == sorted(map(key, printed))
    by_key = {key(obj): obj for obj in printed}
    for obj in chart:
        assert without_helm(obj) == by_key[key(obj)], f"{key(obj)} differs"
    # ... and both are kontinue's own definitions
    kinds = {key(obj): obj for obj in printed}
    for crd in crd_manifests().values():
        assert kinds["CustomResourceDefinition", "", crd["metadata"]["name"]] == crd
    user, viewer = cluster_roles()
    assert kinds["ClusterRole", "", user["metadata"]["name"]] == user
    assert kinds["ClusterRole", "", viewer["metadata"]["name"]] == viewer
    assert kinds["Role", "team", WORKER_ACCOUNT]["rules"] == WORKER_RULES
    crds = [obj for obj in chart if obj["kind"] == "CustomResourceDefinition"]
    assert {c["metadata"]["annotations"]["helm.sh/resource-policy"] for c in crds} == {"keep"}


def test_a_worker_group_and_sharding_reach_the_worker_alike(helm: Helm) -> None:
    """worker.group and worker.sharding become kontinue worker's --group and --sharding, as
    kontinue install --worker-group and --sharding print them."""
    values = {**TARGET, "worker.group": "payments", "worker.sharding": "true"}
    chart = helm.template(*set_values(values), namespace="team")
    printed = kontinue_install(
        "-n", "team", "--worker", "examples.hello:worker",
        "--worker-group", "payments", "--sharding",
    )  # fmt: skip
    [rendered] = [o for o in chart if o["kind"] == "Deployment"]
    [expected] = [o for o in printed if o["kind"] == "Deployment"]
    args = rendered["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--group") + 1] == "payments" and "--sharding" in args
    assert without_helm(rendered)["spec"] == expected["spec"]


def test_the_deployment_runs_the_worker_under_its_account_with_probes(helm: Helm) -> None:
    (deployment,) = [o for o in helm.template(*set_values(TARGET)) if o["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["serviceAccountName"] == WORKER_ACCOUNT
    assert container["image"] == "kontinue-worker:0.1.0"  # the chart's appVersion
    assert container["command"] + container["args"][:3] == [
        "kontinue",
        "worker",
        "examples.hello:worker",
        "--namespace",
        "default",
    ]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert container["ports"] == [{"name": "metrics", "containerPort": 9090, "protocol": "TCP"}]
    assert "0.0.0.0:9090" in container["args"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    labels = deployment["spec"]["selector"]["matchLabels"]
    assert deployment["spec"]["template"]["metadata"]["labels"] == labels


@pytest.mark.parametrize("release", ["kontinue", "shop"])
def test_values_switch_objects_on_and_off(helm: Helm, release: str) -> None:
    values = {
        **TARGET,
        "worker.namespace": "work",
        "crds.install": "false",
        "rbac.clusterRoles": "false",
        "podDisruptionBudget.enabled": "false",
        "metrics.serviceMonitor.enabled": "true",
        "replicas": "3",
    }
    objects = helm.template(*set_values(values), release=release, namespace="ops")
    name = "kontinue-worker" if release == "kontinue" else "shop-kontinue-worker"
    assert sorted(map(key, objects)) == sorted(
        [
            ("ServiceAccount", "ops", name),
            ("Role", "work", name),  # where the worker watches
            ("RoleBinding", "work", name),
            ("Deployment", "ops", name),
            ("Service", "ops", f"{name}-metrics"),
            ("ServiceMonitor", "ops", name),
        ]
    )
    by_kind = {obj["kind"]: obj for obj in objects}
    assert by_kind["RoleBinding"]["subjects"] == [
        {"kind": "ServiceAccount", "name": name, "namespace": "ops"}
    ]
    assert by_kind["Deployment"]["spec"]["replicas"] == 3
    args = by_kind["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[1:3] == ["--namespace", "work"]
    assert by_kind["ServiceMonitor"]["spec"]["endpoints"][0]["port"] == "metrics"
    service_selector = by_kind["Service"]["spec"]["selector"]
    assert service_selector == by_kind["Deployment"]["spec"]["selector"]["matchLabels"]


def test_the_worker_may_run_under_an_account_of_yours(helm: Helm) -> None:
    values = {**TARGET, "rbac.create": "false", "serviceAccount.name": "shop-robot"}
    objects = helm.template(*set_values(values))
    assert "ServiceAccount" not in {o["kind"] for o in objects}
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "shop-robot"
    named = helm.template(*set_values({**TARGET, "serviceAccount.name": "shop-robot"}))
    (binding,) = [o for o in named if o["kind"] == "RoleBinding"]
    assert binding["subjects"][0]["name"] == "shop-robot"


def test_the_packaged_chart_carries_the_crds_and_roles_it_links(helm: Helm, tmp_path: Path) -> None:
    """files/crds and files/rbac link to deploy/crds and deploy/rbac: a package holds copies."""
    helm.run("package", str(CHART), "--destination", str(tmp_path))
    (package,) = tmp_path.glob("kontinue-*.tgz")
    from_package = helm.run("template", "kontinue", str(package), *set_values(TARGET)).stdout
    from_folder = helm.run("template", "kontinue", str(CHART), *set_values(TARGET)).stdout
    assert from_package == from_folder
    assert from_package.count("kind: CustomResourceDefinition") == len(crd_manifests())
