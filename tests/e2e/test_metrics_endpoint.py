"""``GET /metrics``: kube-apiserver's ``apiserver_request_total`` counters, behind the token."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from .conftest import RawHttp

_SAMPLE = re.compile(
    r'^apiserver_request_total\{verb="([^"]*)",resource="([^"]*)",code="(\d+)"\} (\d+)$'
)


def _counters(raw: RawHttp) -> dict[tuple[str, str, str], int]:
    status, headers, body = raw.request("GET", "/metrics", headers={"Accept": "text/plain"})
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    assert "# TYPE apiserver_request_total counter" in text
    counters: dict[tuple[str, str, str], int] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a counter sample: {line!r}"
        verb, resource, code, value = match.groups()
        counters[(verb, resource, code)] = int(value)
    return counters


def test_creates_are_counted_by_verb_resource_and_code(
    raw: RawHttp, namespace: str, devserver: Any
) -> None:
    if devserver is None:
        pytest.skip("the counters are the embedded server's")
    before = _counters(raw)
    name = f"cm-{uuid.uuid4().hex[:8]}"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    status, _ = raw.json("POST", path, body)
    assert status == 201
    status, _ = raw.json("POST", path, body)
    assert status == 409
    status, _ = raw.json("GET", f"{path}/{name}")
    assert status == 200
    status, _ = raw.json("GET", path)
    assert status == 200

    after = _counters(raw)

    def delta(verb: str, resource: str, code: str) -> int:
        return after.get((verb, resource, code), 0) - before.get((verb, resource, code), 0)

    assert delta("create", "configmaps", "201") == 1
    assert delta("create", "configmaps", "409") == 1
    assert delta("get", "configmaps", "200") == 1
    assert delta("list", "configmaps", "200") == 1
    # The first scrape is itself a non-resource request, counted under the HTTP method.
    assert delta("get", "", "200") >= 1


def test_metrics_need_the_token(raw: RawHttp, devserver: Any) -> None:
    if devserver is None:
        pytest.skip("the counters are the embedded server's")
    status, _, _ = raw.request("GET", "/metrics", auth=False)
    assert status == 401
    status, _, _ = raw.request(
        "GET", "/metrics", auth=False, headers={"Authorization": "Bearer wrong"}
    )
    assert status == 401
