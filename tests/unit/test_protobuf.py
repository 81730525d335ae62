"""Protobuf request bodies come out as the JSON a JSON client would have sent."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import message

from kontinue.devserver.descriptors import descriptors
from kontinue.devserver.errors import ApiStatus
from kontinue.devserver.protobuf import MAGIC, decode_object, go_duration

ACCEPTED = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
CORE = "k8s.io.api.core.v1"
META = "k8s.io.apimachinery.pkg.apis.meta.v1"


def new(name: str) -> Any:
    return descriptors().message_class(name)()


def body(api_version: str, kind: str, typed: message.Message) -> bytes:
    """What client-go sends: the magic, then a runtime.Unknown around the typed message."""
    envelope = new("k8s.io.apimachinery.pkg.runtime.Unknown")
    envelope.typeMeta.apiVersion = api_version
    envelope.typeMeta.kind = kind
    envelope.raw = typed.SerializeToString()
    envelope.contentEncoding = ""
    envelope.contentType = ""
    return MAGIC + envelope.SerializeToString()


def meta(obj: Any, name: str) -> None:
    """ObjectMeta as gogo marshals it: every non-pointer field is sent, zero or not."""
    m = obj.metadata
    m.name, m.generateName, m.namespace, m.uid, m.resourceVersion = name, "", "", "", ""
    m.generation = 0
    m.creationTimestamp.SetInParent()  # the zero time: an empty message


def decode(data: bytes) -> dict[str, Any]:
    return decode_object(data, descriptors(), ACCEPTED)


def test_namespace_is_what_kubectl_sends_as_json() -> None:
    ns = new(f"{CORE}.Namespace")
    meta(ns, "x")
    ns.spec.SetInParent()
    ns.status.phase = ""
    assert decode(body("v1", "Namespace", ns)) == {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": "x"},  # zero creationTimestamp: omitzero
        "spec": {},
        "status": {},
    }


def test_secret_bytes_are_base64_and_a_false_pointer_is_kept() -> None:
    secret = new(f"{CORE}.Secret")
    meta(secret, "pw")
    secret.data["password"] = b"s3cret\x00"
    secret.stringData["plain"] = "text"
    secret.type = "Opaque"
    secret.immutable = False
    assert decode(body("v1", "Secret", secret)) == {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"name": "pw"},
        "immutable": False,
        "data": {"password": "czNjcmV0AA=="},
        "stringData": {"plain": "text"},
        "type": "Opaque",
    }


def test_pod_special_types_inline_structs_and_zero_values() -> None:
    pod = new(f"{CORE}.Pod")
    meta(pod, "web")
    pod.metadata.creationTimestamp.seconds = 1_700_000_000
    pod.metadata.creationTimestamp.nanos = 999  # kube-apiserver keeps whole seconds
    pod.spec.hostNetwork = False  # non-pointer, omitempty: left out
    pod.spec.terminationGracePeriodSeconds = 0  # pointer: sent means set
    container = pod.spec.containers.add()
    container.name = ""  # `json:"name"`: no omitempty, so kept
    container.image = "busybox"
    container.resources.limits["memory"].string = "64Mi"
    container.readinessProbe.handler.httpGet.port.type = 0
    container.readinessProbe.handler.httpGet.port.intVal = 8080
    container.livenessProbe.handler.httpGet.port.type = 1
    container.livenessProbe.handler.httpGet.port.strVal = "http"
    volume = pod.spec.volumes.add()
    volume.name = "scratch"
    volume.volumeSource.emptyDir.sizeLimit.string = "1Gi"
    decoded = decode(body("v1", "Pod", pod))
    assert decoded["metadata"] == {"name": "web", "creationTimestamp": "2023-11-14T22:13:20Z"}
    spec = decoded["spec"]
    assert "hostNetwork" not in spec
    assert spec["terminationGracePeriodSeconds"] == 0
    assert spec["volumes"] == [{"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}]
    (c,) = spec["containers"]
    assert c["name"] == "" and c["image"] == "busybox"
    assert c["resources"] == {"limits": {"memory": "64Mi"}}
    assert c["readinessProbe"] == {"httpGet": {"port": 8080}}
    assert c["livenessProbe"] == {"httpGet": {"port": "http"}}


def test_event_micro_time_and_managed_fields() -> None:
    event = new("k8s.io.api.events.v1.Event")
    meta(event, "e")
    event.eventTime.seconds = 1_700_000_000
    event.eventTime.nanos = 123_456_789
    event.reason = "Started"
    entry = event.metadata.managedFields.add()
    entry.manager = "kubectl"
    entry.operation = "Update"
    entry.fieldsType = "FieldsV1"
    entry.fieldsV1.Raw = b'{"f:reason":{}}'
    decoded = decode(body("events.k8s.io/v1", "Event", event))
    assert decoded["eventTime"] == "2023-11-14T22:13:20.123456Z"
    assert decoded["reason"] == "Started"
    assert decoded["metadata"]["managedFields"] == [
        {
            "manager": "kubectl",
            "operation": "Update",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:reason": {}},
        }
    ]


def test_lease_and_delete_options() -> None:
    lease = new("k8s.io.api.coordination.v1.Lease")
    meta(lease, "leader")
    lease.spec.holderIdentity = "me"
    lease.spec.leaseDurationSeconds = 15
    assert decode(body("coordination.k8s.io/v1", "Lease", lease))["spec"] == {
        "holderIdentity": "me",
        "leaseDurationSeconds": 15,
    }
    options = new(f"{META}.DeleteOptions")
    options.propagationPolicy = "Foreground"
    options.preconditions.uid = "u-1"
    assert decode(body("v1", "DeleteOptions", options)) == {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "preconditions": {"uid": "u-1"},
        "propagationPolicy": "Foreground",
    }


def test_job_from_batch_group() -> None:
    job = new("k8s.io.api.batch.v1.Job")
    meta(job, "j")
    job.spec.backoffLimit = 0
    container = job.spec.template.spec.containers.add()
    container.name, container.image = "j", "busybox"
    container.command.extend(["echo", "hi"])
    decoded = decode(body("batch/v1", "Job", job))
    assert decoded["apiVersion"] == "batch/v1" and decoded["kind"] == "Job"
    assert decoded["spec"]["backoffLimit"] == 0
    assert decoded["spec"]["template"]["spec"]["containers"] == [
        {"name": "j", "image": "busybox", "command": ["echo", "hi"], "resources": {}}
    ]


def test_not_protobuf_and_unknown_kinds() -> None:
    with pytest.raises(ApiStatus) as bad:
        decode(b'{"kind": "Namespace"}')
    assert bad.value.code == 400
    with pytest.raises(ApiStatus) as truncated:
        decode(MAGIC + b"\x0a\xff")
    assert truncated.value.code == 400
    deployment = new(f"{CORE}.ConfigMap")
    with pytest.raises(ApiStatus) as unknown:
        decode(body("apps/v1", "Deployment", deployment))
    assert unknown.value.code == 415
    assert unknown.value.reason == "UnsupportedMediaType"
    assert "application/vnd.kubernetes.protobuf" in unknown.value.message


@pytest.mark.parametrize(
    ("nanoseconds", "text"),
    [
        (0, "0s"),
        (1, "1ns"),
        (1_500, "1.5µs"),
        (2_000_000, "2ms"),
        (1_000_000_000, "1s"),
        (90_000_000_000, "1m30s"),
        (3_600_000_000_000, "1h0m0s"),
        (3_723_500_000_000, "1h2m3.5s"),
        (-5_000_000_000, "-5s"),
    ],
)
def test_go_duration(nanoseconds: int, text: str) -> None:
    assert go_duration(nanoseconds) == text
