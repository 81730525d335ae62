"""No request makes the dev server do work out of proportion to its size (issue 15, item 1).

YAML alias bombs, JSON patches that copy a document into itself and bodies nested too deep are
refused with a 4xx in kube-apiserver's words, and the server goes on answering. The limits are
generous; nothing here measures time.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import RawHttp

pytestmark = pytest.mark.devserver  # tests the dev server itself

JSON_PATCH = "application/json-patch+json"


def _configmaps(namespace: str) -> str:
    return f"/api/v1/namespaces/{namespace}/configmaps"


def _alias_bomb(levels: int) -> str:
    """Each level lists the one before nine times: 9**levels leaves from a few hundred bytes."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _post_yaml(raw: RawHttp, namespace: str, text: str) -> tuple[int, Any]:
    status, _, body = raw.request(
        "POST", _configmaps(namespace), text.encode(), content_type="application/yaml"
    )
    return status, json.loads(body)


def _still_serving(raw: RawHttp) -> None:
    status, _, _ = raw.request("GET", "/api/v1/namespaces/default", timeout=10)
    assert status == 200


def test_a_yaml_alias_bomb_is_refused_before_it_expands(raw: RawHttp, namespace: str) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n" + "".join(
        f"  {line}\n" for line in _alias_bomb(8).splitlines()
    )
    assert len(text) < 1000
    status, body = _post_yaml(raw, namespace, text)
    assert status == 400
    assert body["message"].startswith(
        "the object provided is unrecognized (must be of type ConfigMap): "
        "yaml: document contains excessive aliasing ("
    )
    _still_serving(raw)


def test_a_yaml_anchor_that_contains_itself_is_refused(raw: RawHttp, namespace: str) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cycle}\ndata: &a {x: *a}\n"
    status, body = _post_yaml(raw, namespace, text)
    assert status == 400
    assert "yaml: anchor 'a' value contains itself" in body["message"]


def test_yaml_aliases_within_bounds_and_number_keys_decode_as_upstream(
    raw: RawHttp, namespace: str
) -> None:
    text = (
        "apiVersion: v1\nkind: ConfigMap\n"
        "metadata: {name: shared, labels: &l {a: b}, annotations: *l}\n"
        "data: {1: one, 2.5: two}\n"
    )
    status, body = _post_yaml(raw, namespace, text)
    assert status == 201, body
    assert body["metadata"]["annotations"] == {"a": "b"}
    assert body["data"] == {"1": "one", "2.5": "two"}
    status, body = _post_yaml(
        raw, namespace, text.replace("shared", "nokey").replace("1:", "null:")
    )
    assert status == 400
    assert 'unsupported map key of type: %!s(<nil>), key: <nil>, value: "one"' in body["message"]


@pytest.mark.parametrize("depth", [300, 900])
def test_deep_json_is_a_400(raw: RawHttp, namespace: str, depth: int) -> None:
    deep = "[" * depth + "]" * depth
    text = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"data":{"a":%s}}'
    status, _, body = raw.request("POST", _configmaps(namespace), text % deep)
    assert status == 400, body[:300]
    assert b"exceeded max depth" in body


def test_deep_block_yaml_is_a_400(raw: RawHttp, namespace: str) -> None:
    nested = "".join(f"{'  ' * level}a{level}:\n" for level in range(1, 400)) + "  " * 400 + "x: 1"
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\n  labels:\n" + "".join(
        f"    {line}\n" for line in nested.splitlines()
    )
    status, body = _post_yaml(raw, namespace, text)
    assert status == 400, body
    assert "exceeded max depth" in body["message"]
    _still_serving(raw)


def test_a_deep_merge_patch_is_a_400(raw: RawHttp, namespace: str) -> None:
    status, _ = raw.json(
        "POST",
        _configmaps(namespace),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "target"}},
    )
    assert status == 201
    patch = '{"metadata":{"annotations":' + '{"a":' * 500 + "1" + "}" * 500 + "}}"
    status, _, body = raw.request(
        "PATCH",
        f"{_configmaps(namespace)}/target",
        patch,
        content_type="application/merge-patch+json",
    )
    assert status == 400, body[:300]


def test_a_json_patch_of_more_than_10000_operations_is_a_413(raw: RawHttp, namespace: str) -> None:
    status, _ = raw.json(
        "POST",
        _configmaps(namespace),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "target"}},
    )
    assert status == 201
    operations = [{"op": "test", "path": "/metadata/name", "value": "target"}] * 10_001
    status, body = raw.json(
        "PATCH", f"{_configmaps(namespace)}/target", operations, content_type=JSON_PATCH
    )
    assert (status, body["reason"]) == (413, "RequestEntityTooLarge")
    assert body["message"] == (
        "Request entity too large: The allowed maximum operations in a JSON patch is 10000, "
        "got 10001"
    )
    status, _ = raw.json(
        "PATCH", f"{_configmaps(namespace)}/target", operations[:10_000], content_type=JSON_PATCH
    )
    assert status == 200


def test_json_patch_copies_are_bounded_as_the_patch_applies(raw: RawHttp, namespace: str) -> None:
    big = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "big"},
        "data": {"a": "x" * 360_000},
    }
    assert raw.json("POST", _configmaps(namespace), big)[0] == 201
    path = f"{_configmaps(namespace)}/big"
    # Each copy puts the whole of /data into itself: the document doubles with each operation
    # (17 operations made 16 GB before the bound).
    doubling = [{"op": "copy", "from": "/data", "path": "/metadata/x"}] + [
        {"op": "copy", "from": "/metadata/x", "path": f"/metadata/x/c{n}"} for n in range(20)
    ]
    status, body = raw.json("PATCH", path, doubling, content_type=JSON_PATCH, timeout=60)
    assert (status, body["reason"], body["details"]) == (422, "Invalid", {})
    assert body["message"] == "the server rejected our request due to an error in our request"
    # Copies that stay within 3 MiB in all are applied (this one fails the ConfigMap size limit)
    few = [{"op": "copy", "from": "/data/a", "path": f"/data/b{n}"} for n in range(3)]
    status, body = raw.json("PATCH", path, few, content_type=JSON_PATCH)
    assert status == 422
    assert "may not be more than 1048576 bytes" in body["message"]
    _still_serving(raw)


def test_a_json_patch_cannot_nest_a_document_too_deep(raw: RawHttp, namespace: str) -> None:
    status, _ = raw.json(
        "POST",
        _configmaps(namespace),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "target"}},
    )
    assert status == 201
    operations: list[dict[str, Any]] = [{"op": "add", "path": "/metadata/labels", "value": {}}]
    operations += [{"op": "copy", "from": "/metadata/labels", "path": "/metadata/labels/a"}] * 300
    status, body = raw.json(
        "PATCH", f"{_configmaps(namespace)}/target", operations, content_type=JSON_PATCH
    )
    assert status == 422, body
