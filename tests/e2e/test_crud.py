"""Create, read, update and patch with kube-apiserver's metadata and concurrency rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from kubernetes import client

from .conftest import RawHttp
from .crd_fixtures import GROUP, PLURAL, VERSION, widget


def _cm(name: str, **data: str) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data=data or {"k": "v"})


def test_create_stamps_metadata(core: client.CoreV1Api, namespace: str, raw: RawHttp) -> None:
    status, body = raw.json(
        "POST",
        f"/api/v1/namespaces/{namespace}/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"x": "1"}},
    )
    assert status == 201
    meta = body["metadata"]
    assert meta["uid"] and meta["resourceVersion"] and meta["creationTimestamp"].endswith("Z")
    assert meta["namespace"] == namespace
    second = core.create_namespaced_config_map(namespace, _cm("b"))
    assert int(second.metadata.resource_version) > int(meta["resourceVersion"])
    assert second.metadata.uid != meta["uid"]


def test_generate_name(core: client.CoreV1Api, namespace: str) -> None:
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(generate_name="gen-"), data={})
    first = core.create_namespaced_config_map(namespace, body)
    second = core.create_namespaced_config_map(namespace, body)
    assert first.metadata.name.startswith("gen-") and len(first.metadata.name) == 9
    assert first.metadata.name != second.metadata.name


def test_already_exists(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, _cm("dup"))
    with pytest.raises(client.ApiException) as err:
        core.create_namespaced_config_map(namespace, _cm("dup"))
    assert err.value.status == 409
    assert '"reason":"AlreadyExists"' in err.value.body.replace(" ", "")


def test_create_in_missing_namespace(core: client.CoreV1Api) -> None:
    with pytest.raises(client.ApiException) as err:
        core.create_namespaced_config_map("no-such-namespace", _cm("x"))
    assert err.value.status == 404
    assert 'namespaces \\"no-such-namespace\\" not found' in err.value.body


def test_update_with_optimistic_concurrency(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_config_map(namespace, _cm("occ"))
    created.data = {"k": "first"}
    updated = core.replace_namespaced_config_map("occ", namespace, created)
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)
    created.data = {"k": "stale"}  # still carries the old resourceVersion
    with pytest.raises(client.ApiException) as err:
        core.replace_namespaced_config_map("occ", namespace, created)
    assert err.value.status == 409
    assert "Conflict" in err.value.body and "the object has been modified" in err.value.body
    assert core.read_namespaced_config_map("occ", namespace).data == {"k": "first"}


def test_noop_write_keeps_version(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_config_map(namespace, _cm("noop"))
    again = core.replace_namespaced_config_map("noop", namespace, created)
    assert again.metadata.resource_version == created.metadata.resource_version
    patched = core.patch_namespaced_config_map("noop", namespace, {"data": {"k": "v"}})
    assert patched.metadata.resource_version == created.metadata.resource_version


def test_server_fields_cannot_be_overwritten(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_config_map(namespace, _cm("meta"))
    created.metadata.creation_timestamp = None
    created.data = {"k": "changed"}
    updated = core.replace_namespaced_config_map("meta", namespace, created)
    assert updated.metadata.uid == created.metadata.uid
    assert updated.metadata.creation_timestamp is not None


def test_generation_and_status_subresource(
    custom: client.CustomObjectsApi, widget_crd: str, namespace: str
) -> None:
    args = (GROUP, VERSION, namespace, PLURAL)
    body = widget("gen", size=1)
    body["status"] = {"phase": "ignored-on-create"}
    created = custom.create_namespaced_custom_object(*args, body)
    assert created["metadata"]["generation"] == 1
    assert "status" not in created
    labeled = custom.patch_namespaced_custom_object(
        *args, "gen", {"metadata": {"labels": {"a": "b"}}}
    )
    assert labeled["metadata"]["generation"] == 1  # metadata changes do not bump it
    resized = custom.patch_namespaced_custom_object(*args, "gen", {"spec": {"size": 5}})
    assert resized["metadata"]["generation"] == 2
    # the main resource ignores status; the status subresource ignores everything else
    ignored = custom.patch_namespaced_custom_object(*args, "gen", {"status": {"phase": "X"}})
    assert "status" not in ignored
    with_status = custom.patch_namespaced_custom_object_status(
        *args, "gen", {"status": {"phase": "Ready"}, "spec": {"size": 99}}
    )
    assert with_status["status"] == {"phase": "Ready"}
    assert with_status["spec"]["size"] == 5
    assert with_status["metadata"]["generation"] == 2
    replaced = dict(with_status, status={"phase": "Done", "observedGeneration": 2})
    done = custom.replace_namespaced_custom_object_status(*args, "gen", replaced)
    assert done["status"]["phase"] == "Done"


def test_merge_and_json_patch(
    custom: client.CustomObjectsApi, raw: RawHttp, widget_crd: str, namespace: str
) -> None:
    args = (GROUP, VERSION, namespace, PLURAL)
    custom.create_namespaced_custom_object(*args, widget("p", size=1, tags=["a", "b"]))
    merged = custom.patch_namespaced_custom_object(*args, "p", {"spec": {"tags": ["c"]}})
    assert merged["spec"]["tags"] == ["c"]
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}/p"
    status, patched = raw.json(
        "PATCH",
        path,
        [
            {"op": "add", "path": "/spec/tags/-", "value": "d"},
            {"op": "replace", "path": "/spec/size", "value": 3},
        ],
        content_type="application/json-patch+json",
    )
    assert status == 200
    assert patched["spec"]["tags"] == ["c", "d"] and patched["spec"]["size"] == 3
    status, body = raw.json(
        "PATCH",
        path,
        [{"op": "test", "path": "/spec/size", "value": 42}],
        content_type="application/json-patch+json",
    )
    assert status == 422, body
    assert custom.get_namespaced_custom_object(*args, "p")["spec"]["size"] == 3


def test_strategic_merge_patch(core: client.CoreV1Api, raw: RawHttp, namespace: str) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "smp", "labels": {"a": "1"}},
        "spec": {
            "containers": [
                {"name": "main", "image": "busybox:1", "env": [{"name": "A", "value": "1"}]},
                {"name": "side", "image": "busybox:1"},
            ]
        },
    }
    core.create_namespaced_pod(namespace, pod)
    patched = core.patch_namespaced_pod(
        "smp",
        namespace,
        {
            "metadata": {"labels": {"b": "2"}},
            "spec": {"containers": [{"name": "main", "image": "busybox:2"}]},
        },
    )
    images = {c.name: c.image for c in patched.spec.containers}
    assert images == {"main": "busybox:2", "side": "busybox:1"}  # merged by name, not replaced
    assert patched.metadata.labels == {"a": "1", "b": "2"}
    assert patched.spec.containers[0].env[0].name == "A"


def test_strategic_merge_on_custom_resource_is_415(
    raw: RawHttp, widget_crd: str, custom: client.CustomObjectsApi, namespace: str
) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, widget("smp"))
    status, body = raw.json(
        "PATCH",
        f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}/smp",
        {"spec": {"size": 2}},
        content_type="application/strategic-merge-patch+json",
    )
    assert status == 415
    assert body["reason"] == "UnsupportedMediaType"


def test_server_side_apply(raw: RawHttp, widget_crd: str, namespace: str) -> None:
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}/ssa"
    manifest = (
        f"apiVersion: {GROUP}/{VERSION}\nkind: Widget\nmetadata:\n  name: ssa\nspec:\n  size: 4\n"
    )
    status, body = raw.json("PATCH", path, manifest, content_type="application/apply-patch+yaml")
    assert status == 422 and "fieldManager" in body["message"]
    status, created = raw.json(
        "PATCH",
        path + "?fieldManager=tester",
        manifest,
        content_type="application/apply-patch+yaml",
    )
    assert status == 201, created
    assert created["spec"] == {"size": 4, "color": "red"}
    managers = [m["manager"] for m in created["metadata"]["managedFields"]]
    assert managers == ["tester"]
    status, updated = raw.json(
        "PATCH",
        path + "?fieldManager=tester",
        manifest.replace("size: 4", "size: 6"),
        content_type="application/apply-patch+yaml",
    )
    assert status == 200 and updated["spec"]["size"] == 6
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]


def test_dry_run_does_not_persist(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, _cm("dry"), dry_run="All")
    with pytest.raises(client.ApiException) as err:
        core.read_namespaced_config_map("dry", namespace)
    assert err.value.status == 404


def test_secrets_encode_string_data(core: client.CoreV1Api, namespace: str) -> None:
    secret = client.V1Secret(
        metadata=client.V1ObjectMeta(name="s"), string_data={"password": "hunter2"}
    )
    created = core.create_namespaced_secret(namespace, secret)
    assert created.data == {"password": "aHVudGVyMg=="}
    assert created.string_data is None
    assert created.type == "Opaque"


def test_leases_and_events(api_client: client.ApiClient, namespace: str) -> None:
    leases = client.CoordinationV1Api(api_client)
    lease = leases.create_namespaced_lease(
        namespace,
        client.V1Lease(
            metadata=client.V1ObjectMeta(name="leader"),
            spec=client.V1LeaseSpec(holder_identity="a", lease_duration_seconds=15),
        ),
    )
    lease.spec.holder_identity = "b"
    assert leases.replace_namespaced_lease("leader", namespace, lease).spec.holder_identity == "b"
    core = client.CoreV1Api(api_client)
    core.create_namespaced_event(
        namespace,
        client.CoreV1Event(
            metadata=client.V1ObjectMeta(name="ev1"),
            involved_object=client.V1ObjectReference(
                kind="Lease", name="leader", namespace=namespace
            ),
            reason="Elected",
            message="b is the leader",
            type="Normal",
            event_time=datetime.now(UTC),
            reporting_component="tests",
            reporting_instance="t1",
            action="Elect",
        ),
    )
    events = client.EventsV1Api(api_client).list_namespaced_event(namespace)
    assert [(e.regarding.name, e.note, e.reason) for e in events.items] == [
        ("leader", "b is the leader", "Elected")
    ]
    selected = core.list_namespaced_event(
        namespace, field_selector="involvedObject.name=leader,reason=Elected"
    )
    assert len(selected.items) == 1


def test_jobs_are_defaulted_like_a_cluster(api_client: client.ApiClient, namespace: str) -> None:
    batch = client.BatchV1Api(api_client)
    job = batch.create_namespaced_job(
        namespace,
        {
            "metadata": {"name": "nightly"},
            "spec": {
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "main", "image": "busybox:1.36"}],
                    }
                }
            },
        },
    )
    assert (job.spec.backoff_limit, job.spec.completions, job.spec.parallelism) == (6, 1, 1)
    uid = job.metadata.uid
    assert job.spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": uid}
    labels = job.spec.template.metadata.labels
    assert labels["job-name"] == "nightly" and labels["controller-uid"] == uid
    assert job.metadata.generation == 1
    with pytest.raises(client.ApiException) as err:
        batch.create_namespaced_job(
            namespace,
            {
                "metadata": {"name": "bad-restart"},
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Always",
                            "containers": [{"name": "main", "image": "busybox"}],
                        }
                    }
                },
            },
        )
    assert err.value.status == 422 and "restartPolicy" in err.value.body
    # Deleting a Job through the API orphans its pods unless told otherwise, as batch/v1 does.
    core = client.CoreV1Api(api_client)
    core.create_namespaced_pod(
        namespace,
        {
            "metadata": {
                "name": "nightly-abcde",
                "ownerReferences": [
                    {"apiVersion": "batch/v1", "kind": "Job", "name": "nightly", "uid": uid}
                ],
            },
            "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]},
        },
    )
    batch.delete_namespaced_job("nightly", namespace)
    pod = core.read_namespaced_pod("nightly-abcde", namespace)
    assert pod.metadata.deletion_timestamp is None


def test_pod_spec_is_immutable_but_images(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(
        namespace,
        {"metadata": {"name": "fixed"}, "spec": {"containers": [{"name": "c", "image": "a:1"}]}},
    )
    core.patch_namespaced_pod(
        "fixed", namespace, {"spec": {"containers": [{"name": "c", "image": "a:2"}]}}
    )
    with pytest.raises(client.ApiException) as err:
        core.patch_namespaced_pod("fixed", namespace, {"spec": {"restartPolicy": "Never"}})
    assert err.value.status == 422 and "pod updates may not change fields" in err.value.body
    labeled = core.patch_namespaced_pod("fixed", namespace, {"metadata": {"labels": {"x": "y"}}})
    assert labeled.metadata.labels == {"x": "y"} and labeled.spec.containers[0].image == "a:2"
