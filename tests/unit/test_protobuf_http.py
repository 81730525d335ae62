"""Request bodies over HTTP: protobuf for built-in kinds, 415 for what the server cannot decode."""

from __future__ import annotations

import json
from typing import Any

from kubernetes import client

from kontinue.devserver.descriptors import descriptors
from kontinue.devserver.protobuf import MAGIC

PROTOBUF = "application/vnd.kubernetes.protobuf"


def request(
    api_client: client.ApiClient, method: str, path: str, body: bytes, content_type: str
) -> tuple[int, dict[str, Any]]:
    configuration = api_client.configuration
    headers = {"Accept": "application/json", "Content-Type": content_type}
    for setting in configuration.auth_settings().values():
        headers[setting["key"].title()] = setting["value"]
    response = api_client.rest_client.pool_manager.request(
        method, configuration.host + path, body=body, headers=headers, retries=False
    )
    return response.status, json.loads(response.data)


def configmap_body(name: str) -> bytes:
    typed = descriptors().message_class("k8s.io.api.core.v1.ConfigMap")()
    typed.metadata.name = name
    typed.data["level"] = "3"
    envelope = descriptors().message_class("k8s.io.apimachinery.pkg.runtime.Unknown")()
    envelope.typeMeta.apiVersion, envelope.typeMeta.kind = "v1", "ConfigMap"
    envelope.raw = typed.SerializeToString()
    return MAGIC + envelope.SerializeToString()


def test_protobuf_create_of_a_builtin_kind(api_client: client.ApiClient, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    status, body = request(api_client, "POST", path, configmap_body("pb"), PROTOBUF)
    assert status == 201, body
    assert body["metadata"]["name"] == "pb" and body["data"] == {"level": "3"}
    status, body = request(api_client, "PUT", f"{path}/pb", configmap_body("pb"), PROTOBUF)
    assert status == 200, body


THINGS_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "things.protobuf.kontinue.cloud"},
    "spec": {
        "group": "protobuf.kontinue.cloud",
        "scope": "Namespaced",
        "names": {"plural": "things", "singular": "thing", "kind": "Thing"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}


def test_unsupported_media_types_are_415(api_client: client.ApiClient, namespace: str) -> None:
    try:
        client.ApiextensionsV1Api(api_client).create_custom_resource_definition(THINGS_CRD)
    except client.ApiException as exc:
        if exc.status != 409:
            raise
    configmaps = f"/api/v1/namespaces/{namespace}/configmaps"
    status, body = request(api_client, "POST", configmaps, b"a=b", "text/plain")
    assert status == 415 and body["reason"] == "UnsupportedMediaType"
    assert PROTOBUF in body["message"]
    things = f"/apis/protobuf.kontinue.cloud/v1/namespaces/{namespace}/things"
    status, body = request(api_client, "POST", things, configmap_body("w"), PROTOBUF)
    assert status == 415 and body["reason"] == "UnsupportedMediaType"
    assert PROTOBUF not in body["message"] and "application/json" in body["message"]
    status, body = request(api_client, "PATCH", f"{configmaps}/x", b"{}", "application/json")
    assert status == 415 and body["message"] == "415: Unsupported Media Type"  # as upstream


def test_protobuf_delete_options(api_client: client.ApiClient, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    assert request(api_client, "POST", path, configmap_body("gone"), PROTOBUF)[0] == 201
    options = descriptors().message_class("k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions")()
    options.preconditions.uid = "not-its-uid"
    envelope = descriptors().message_class("k8s.io.apimachinery.pkg.runtime.Unknown")()
    envelope.typeMeta.apiVersion, envelope.typeMeta.kind = "v1", "DeleteOptions"
    envelope.raw = options.SerializeToString()
    data = MAGIC + envelope.SerializeToString()
    status, body = request(api_client, "DELETE", f"{path}/gone", data, PROTOBUF)
    assert status == 409 and body["reason"] == "Conflict", body
