"""The dev server answers only the holder of its token, on loopback, with a private kubeconfig."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import RawHttp

pytestmark = pytest.mark.devserver  # tests the dev server itself


def test_requests_without_the_token_are_401(raw: RawHttp) -> None:
    for path in ("/api/v1/namespaces", "/version", "/apis", "/openapi/v2"):
        status, _, body = raw.request("GET", path, auth=False)
        assert status == 401, path
        assert b'"reason":"Unauthorized"' in body
    status, _, _ = raw.request(
        "GET", "/api/v1/namespaces", auth=False, headers={"Authorization": "Bearer wrong"}
    )
    assert status == 401


def test_kubeconfig_is_private_and_points_at_loopback(kubeconfig: str, devserver: Any) -> None:
    if devserver is None:
        pytest.skip("about the embedded server")
    mode = stat.S_IMODE(os.stat(kubeconfig).st_mode)
    assert mode == 0o600
    document = yaml.safe_load(Path(kubeconfig).read_text())
    server = document["clusters"][0]["cluster"]["server"]
    assert server.startswith("https://127.0.0.1:")
    assert document["clusters"][0]["cluster"]["certificate-authority-data"]
    assert devserver.server.settings.host == "127.0.0.1"
