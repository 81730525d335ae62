"""The pod runner's pure parts: environment, ``$(VAR)`` expansion and log queries."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kontinue.pods import BadLogRequest as ApiStatus
from kontinue.pods import ConfigError, LogOptions, choose_container, expand, read_lines, resolve_env

NOW = datetime(2030, 1, 1, 0, 0, 10, tzinfo=UTC)
POD: dict[str, Any] = {
    "metadata": {"name": "p", "namespace": "ns", "uid": "u-1", "labels": {"app": "a"}},
    "spec": {"containers": [{"name": "a"}, {"name": "b"}], "initContainers": [{"name": "i"}]},
}
OBJECTS: dict[tuple[str, str], dict[str, Any]] = {
    ("configmaps", "cm"): {"data": {"k": "v"}},
    ("secrets", "s"): {"data": {"k": base64.b64encode(b"secret").decode()}},
}


def lookup(plural: str, namespace: str, name: str) -> dict[str, Any] | None:
    return OBJECTS.get((plural, name))


def test_expansion_follows_kubernetes_rules() -> None:
    env = {"A": "1"}
    assert expand("$(A)-$(B)-$$(A)-$$", env) == "1-$(B)-$(A)-$"


def test_environment_sources() -> None:
    container = {
        "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "CM_"}],
        "env": [
            {"name": "S", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            {"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "GONE", "valueFrom": {"configMapKeyRef": {"name": "x", "optional": True}}},
            {"name": "BOTH", "value": "$(CM_k)/$(S)"},
        ],
    }
    env = resolve_env(POD, container, Path("/home/pod"), lookup)
    assert env["CM_k"] == "v" and env["S"] == "secret" and env["BOTH"] == "v/secret"
    assert (env["UID"], env["APP"], env["HOME"]) == ("u-1", "a", "/home/pod")
    assert "GONE" not in env and env["PATH"].endswith("/bin")


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ({"configMapKeyRef": {"name": "missing", "key": "k"}}, 'configmap "missing" not found'),
        ({"configMapKeyRef": {"name": "cm", "key": "nope"}}, "couldn't find key nope"),
    ],
)
def test_missing_references_keep_the_container_waiting(ref: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_env(POD, {"env": [{"name": "X", "valueFrom": ref}]}, Path("/"), lookup)


def test_container_choice() -> None:
    assert choose_container(POD, "p", "i") == "i"
    with pytest.raises(ApiStatus, match=r"choose one of: \[a b\] or one of the init"):
        choose_container(POD, "p", "")
    with pytest.raises(ApiStatus, match="container z is not valid for pod p"):
        choose_container(POD, "p", "z")


def test_log_queries(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(
        b"2030-01-01T00:00:00.000000000Z old\n"
        b"2030-01-01T00:00:09.000000000Z new\n"
        b"2030-01-01T00:00:09.500000000Z newer\n"
        b"2030-01-01T00:00:09.600000000Z partial"
    )
    lines, offset = read_lines(path)
    assert len(lines) == 3 and offset == path.stat().st_size - len(
        b"2030-01-01T00:00:09.600000000Z partial"
    )

    def render(query: dict[str, str]) -> bytes:
        options = LogOptions.parse(query, NOW)
        return options.render(options.select(lines))

    assert render({}) == b"old\nnew\nnewer\n"
    assert render({"tailLines": "1"}) == b"newer\n"
    assert render({"tailLines": "0"}) == b""
    assert render({"sinceSeconds": "5"}) == b"new\nnewer\n"
    assert render({"sinceTime": "2030-01-01T00:00:09.2Z", "timestamps": "true"}) == (
        b"2030-01-01T00:00:09.500000000Z newer\n"
    )
    with pytest.raises(ApiStatus, match="tailLines"):
        render({"tailLines": "x"})
