"""Deletion: preconditions, finalizers, propagation policies, collections and namespaces."""

from __future__ import annotations

import pytest
from kubernetes import client

from kontinue.testing import eventually

from .conftest import own


def _cm(name: str, owner: client.V1ConfigMap | None = None, **kw: object) -> client.V1ConfigMap:
    refs = None
    if owner is not None:
        refs = [
            client.V1OwnerReference(
                api_version="v1",
                kind="ConfigMap",
                name=owner.metadata.name,
                uid=owner.metadata.uid,
                **kw,
            )
        ]
    return client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, owner_references=refs, labels={"set": "x"}),
        data={},
    )


def _exists(core: client.CoreV1Api, namespace: str, name: str) -> bool:
    try:
        core.read_namespaced_config_map(name, namespace)
    except client.ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def test_preconditions(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_config_map(namespace, _cm("pre"))
    for pre in (
        client.V1Preconditions(uid="00000000-0000-0000-0000-000000000000"),
        client.V1Preconditions(resource_version="1"),
    ):
        with pytest.raises(client.ApiException) as err:
            core.delete_namespaced_config_map(
                "pre", namespace, body=client.V1DeleteOptions(preconditions=pre)
            )
        assert err.value.status == 409 and "in the precondition" in err.value.body
    core.delete_namespaced_config_map(
        "pre",
        namespace,
        body=client.V1DeleteOptions(
            preconditions=client.V1Preconditions(
                uid=created.metadata.uid,
                resource_version=created.metadata.resource_version,
            )
        ),
    )
    assert not _exists(core, namespace, "pre")


def test_finalizers_hold_deletion(core: client.CoreV1Api, namespace: str) -> None:
    body = _cm("fin")
    body.metadata.finalizers = ["example.com/hold"]
    core.create_namespaced_config_map(namespace, body)
    core.delete_namespaced_config_map("fin", namespace)
    held = core.read_namespaced_config_map("fin", namespace)
    assert held.metadata.deletion_timestamp is not None
    with pytest.raises(client.ApiException) as err:
        core.patch_namespaced_config_map(
            "fin", namespace, {"metadata": {"finalizers": ["example.com/hold", "example.com/new"]}}
        )
    assert err.value.status == 422
    core.patch_namespaced_config_map("fin", namespace, {"metadata": {"finalizers": None}})
    assert not _exists(core, namespace, "fin")


def test_background_propagation(core: client.CoreV1Api, namespace: str, devserver: object) -> None:
    owner = core.create_namespaced_config_map(namespace, _cm("owner"))
    core.create_namespaced_config_map(namespace, _cm("child", owner))
    other = core.create_namespaced_config_map(namespace, _cm("other-owner"))
    shared = _cm("shared", owner)
    shared.metadata.owner_references.append(
        client.V1OwnerReference(
            api_version="v1",
            kind="ConfigMap",
            name="other-owner",
            uid=other.metadata.uid,
        )
    )
    core.create_namespaced_config_map(namespace, shared)
    core.delete_namespaced_config_map("owner", namespace)
    assert not _exists(core, namespace, "owner")
    eventually(lambda: not _exists(core, namespace, "child"))
    # A dependent with another live owner is kept, without the reference to the deleted one.
    eventually(
        lambda: (
            len(core.read_namespaced_config_map("shared", namespace).metadata.owner_references) == 1
        )
    )


def test_foreground_propagation(core: client.CoreV1Api, namespace: str) -> None:
    owner = core.create_namespaced_config_map(namespace, _cm("fg"))
    child = _cm("fg-child", owner, block_owner_deletion=True)
    child.metadata.finalizers = ["example.com/slow"]
    core.create_namespaced_config_map(namespace, child)
    core.delete_namespaced_config_map(
        "fg", namespace, body=client.V1DeleteOptions(propagation_policy="Foreground")
    )
    eventually(
        lambda: (
            core.read_namespaced_config_map("fg-child", namespace).metadata.deletion_timestamp
            is not None
        )
    )
    owner_now = core.read_namespaced_config_map("fg", namespace)
    assert "foregroundDeletion" in owner_now.metadata.finalizers  # waits for the child
    core.patch_namespaced_config_map("fg-child", namespace, {"metadata": {"finalizers": None}})
    eventually(lambda: not _exists(core, namespace, "fg"))


def test_orphan_propagation(core: client.CoreV1Api, namespace: str) -> None:
    owner = core.create_namespaced_config_map(namespace, _cm("orph"))
    core.create_namespaced_config_map(namespace, _cm("orph-child", owner))
    core.delete_namespaced_config_map(
        "orph", namespace, body=client.V1DeleteOptions(propagation_policy="Orphan")
    )
    eventually(lambda: not _exists(core, namespace, "orph"))
    assert (
        core.read_namespaced_config_map("orph-child", namespace).metadata.owner_references is None
    )


def test_delete_collection(core: client.CoreV1Api, namespace: str) -> None:
    for i in range(5):
        body = _cm(f"col{i}")
        body.metadata.labels = {"batch": "a" if i < 3 else "b"}
        core.create_namespaced_config_map(namespace, body)
    core.delete_collection_namespaced_config_map(namespace, label_selector="batch=a")
    names = [c.metadata.name for c in core.list_namespaced_config_map(namespace).items]
    assert own(names) == ["col3", "col4"]


def test_namespace_deletion_removes_contents(core: client.CoreV1Api) -> None:
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="doomed-ns")))
    eventually(lambda: core.list_namespaced_service_account("doomed-ns").items)
    core.create_namespaced_config_map("doomed-ns", _cm("inside"))
    core.delete_namespace("doomed-ns")
    with pytest.raises(client.ApiException) as err:
        core.create_namespaced_config_map("doomed-ns", _cm("late"))
    assert err.value.status in (403, 404)
    eventually(
        lambda: not [n for n in core.list_namespace().items if n.metadata.name == "doomed-ns"]
    )
    assert core.list_namespaced_config_map("doomed-ns").items == []
