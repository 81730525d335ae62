"""Protobuf request bodies, as Go clients send them: the same bytes to both servers."""

from __future__ import annotations

from typing import Any

from kontinue.devserver.descriptors import descriptors
from kontinue.devserver.protobuf import MAGIC

from .harness import Both, assert_same, cut_messages

PROTOBUF = "application/vnd.kubernetes.protobuf"


def _envelope(api_version: str, kind: str, typed: Any) -> bytes:
    envelope = descriptors().message_class("k8s.io.apimachinery.pkg.runtime.Unknown")()
    envelope.typeMeta.apiVersion, envelope.typeMeta.kind = api_version, kind
    envelope.raw = typed.SerializeToString()
    return MAGIC + envelope.SerializeToString()


def _message(name: str) -> Any:
    return descriptors().message_class(name)()


def test_protobuf_configmap_secret_and_job(both: Both, ns: str) -> None:
    configmap = _message("k8s.io.api.core.v1.ConfigMap")
    configmap.metadata.name = "pb"
    configmap.metadata.labels["app"] = "x"
    configmap.data["level"] = "3"
    configmap.binaryData["raw"] = b"\x00\x01"
    path = f"/api/v1/namespaces/{ns}/configmaps"
    body = _envelope("v1", "ConfigMap", configmap)
    assert_same(both.request("POST", path, body, content_type=PROTOBUF))
    assert_same(both.request("PUT", f"{path}/pb", body, content_type=PROTOBUF))

    secret = _message("k8s.io.api.core.v1.Secret")
    secret.metadata.name = "pb"
    secret.type = "Opaque"
    secret.data["token"] = b"s3cr3t"
    secret.stringData["user"] = "ana"
    path = f"/api/v1/namespaces/{ns}/secrets"
    assert_same(
        both.request("POST", path, _envelope("v1", "Secret", secret), content_type=PROTOBUF)
    )

    job = _message("k8s.io.api.batch.v1.Job")
    job.metadata.name = "pb"
    job.spec.managedBy = "example.com/x"
    job.spec.backoffLimit = 2
    pod = job.spec.template.spec
    pod.restartPolicy = "Never"
    pod.schedulerName = "nobody"
    container = pod.containers.add()
    container.name, container.image = "main", "busybox"
    container.command.extend(["sh", "-c", "true"])
    path = f"/apis/batch/v1/namespaces/{ns}/jobs"
    assert_same(
        both.request("POST", path, _envelope("batch/v1", "Job", job), content_type=PROTOBUF)
    )


def test_protobuf_errors(both: Both, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    # the decoder's own words differ (Python's protobuf runtime is not Go's)
    assert_same(
        both.request("POST", path, b"k8s\x00garbage", content_type=PROTOBUF),
        cut_messages("(must be of type ConfigMap): "),
    )
    assert_same(both.request("POST", path, b"not even magic", content_type=PROTOBUF))
    secret = _message("k8s.io.api.core.v1.Secret")
    secret.metadata.name = "wrong"
    assert_same(
        both.request("POST", path, _envelope("v1", "Secret", secret), content_type=PROTOBUF)
    )
    assert_same(both.request("POST", path, b"a=b", content_type="text/plain"))
    # (protobuf for a custom resource: kube-apiserver 1.37.2 closes the connection without an
    # answer here, so there is nothing to compare; tests/unit/test_protobuf_http.py has the 415)
