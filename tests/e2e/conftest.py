"""Fixtures for the end-to-end suite: typed API objects and the Widget CRD."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from kontinue.testing import eventually

from .crd_fixtures import GROUP, PLURAL, WIDGET_CRD

#: Every namespace holds this ConfigMap (the cluster's CA, published by the controller manager
#: on a real cluster and by the dev server alike); tests about their own ConfigMaps leave it out.
ROOT_CA = "kube-root-ca.crt"
#: A field selector for "every ConfigMap but the root CA".
OWN = f"metadata.name!={ROOT_CA}"


def own(names: list[str]) -> list[str]:
    """``names`` without the namespace's root CA ConfigMap."""
    return [name for name in names if name != ROOT_CA]


@pytest.fixture(scope="session")
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="session")
def custom(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture(scope="session")
def extensions(api_client: client.ApiClient) -> client.ApiextensionsV1Api:
    return client.ApiextensionsV1Api(api_client)


@pytest.fixture(scope="session")
def widget_crd(extensions: client.ApiextensionsV1Api) -> Iterator[str]:
    """The Widget CRD, installed once per session."""
    name = f"{PLURAL}.{GROUP}"
    try:
        extensions.create_custom_resource_definition(WIDGET_CRD)
    except client.ApiException as exc:
        if exc.status != 409:
            raise
    eventually(lambda: _established(extensions, name))
    yield name


def _established(extensions: client.ApiextensionsV1Api, name: str) -> bool:
    crd = extensions.read_custom_resource_definition(name)
    return any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or [])


class RawHttp:
    """Plain HTTP against the API server, for status codes and bodies the client hides."""

    def __init__(self, configuration: client.Configuration) -> None:
        self.configuration = configuration
        self.pool = client.ApiClient(configuration).rest_client.pool_manager

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | dict[str, Any] | list[Any] | None = None,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        auth: bool = True,
        timeout: float = 10.0,
    ) -> tuple[int, dict[str, str], bytes]:
        import json

        all_headers = {"Accept": "application/json"}
        if body is not None:
            all_headers["Content-Type"] = content_type
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
        if auth:
            for setting in self.configuration.auth_settings().values():
                all_headers[setting["key"].title()] = setting["value"]
        all_headers.update(headers or {})
        response = self.pool.request(
            method,
            self.configuration.host + path,
            body=body,
            headers=all_headers,
            timeout=timeout,
            preload_content=True,
            retries=False,
        )
        return response.status, dict(response.headers), response.data

    def json(self, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        import json

        status, _, data = self.request(method, path, body, **kw)
        return status, json.loads(data) if data else None


@pytest.fixture(scope="session")
def raw(api_client: client.ApiClient) -> RawHttp:
    return RawHttp(api_client.configuration)
