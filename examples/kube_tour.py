"""A tour of kontinue.kube: CRUD, typed objects, an accumulator, and status.

.venv/bin/python examples/kube_tour.py [KUBECONFIG]     # e.g. against `kontinue dev`
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import V1ConfigMap, V1ObjectMeta

from kontinue.kube import KubeClient, KubeSettings, NotFound, Query
from kontinue.kube.status import compute_status


@dataclass
class Snapshot:
    settings: list[V1ConfigMap] = field(default_factory=list)  # typed items
    accounts: list[dict[str, Any]] = field(default_factory=list)  # plain dicts


def tour(kubeconfig: str | None, namespace: str = "default") -> Snapshot:
    kube = KubeClient.from_kubeconfig(
        kubeconfig, namespace=namespace, settings=KubeSettings(qps=50)
    )
    with kube.watch(Query("settings", "configmaps"), Query("accounts", "serviceaccounts")) as acc:
        acc.changed(timeout=10)  # returns once both queries have their complete initial list
        created = kube.create(
            V1ConfigMap(
                api_version="v1",
                kind="ConfigMap",
                metadata=V1ObjectMeta(name="tour", labels={"app": "tour"}),
                data={"step": "1"},
            )
        )
        version = created.metadata.resource_version
        print(f"created {created.metadata.name} at resourceVersion {version}")
        kube.patch("configmaps", {"data": {"step": "2"}}, name="tour")
        snapshot = Snapshot()
        acc.update(snapshot)  # our own writes are there, even before their watch events arrive
        tour_cm = next(cm for cm in snapshot.settings if cm.metadata.name == "tour")
        print(f"the snapshot has step {tour_cm.data['step']} and {len(snapshot.accounts)} accounts")
        print(f"status of the config map: {compute_status(kube.get(created)).status}")
        kube.delete("configmaps", "tour")
        try:
            kube.get("configmaps", "tour")
        except NotFound as gone:
            print(f"deleted: {gone.message}")
        return snapshot


if __name__ == "__main__":
    tour(sys.argv[1] if len(sys.argv) > 1 else None)
