"""Durability: acknowledged writes survive ``kill -9``; versions and watches carry on."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client, watch

from .conftest import OWN
from .servers import ServerProcess

pytestmark = pytest.mark.devserver  # tests the dev server itself


def test_kill_9_loses_no_acknowledged_write(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    core = client.CoreV1Api(server.api())
    acknowledged: dict[str, str] = {}
    for i in range(200):
        created = core.create_namespaced_config_map(
            "default",
            client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"cm{i}"), data={"i": str(i)}),
        )
        acknowledged[created.metadata.name] = created.metadata.resource_version
    core.delete_namespaced_config_map("cm0", "default")
    del acknowledged["cm0"]
    before = core.list_namespaced_config_map("default")
    list_rv = int(before.metadata.resource_version)
    server.kill()

    restarted = ServerProcess(tmp_path).start()
    try:
        core = client.CoreV1Api(restarted.api())
        after = core.list_namespaced_config_map("default", field_selector=OWN)
        found = {c.metadata.name: c.metadata.resource_version for c in after.items}
        assert found == acknowledged
        assert int(after.metadata.resource_version) >= list_rv
        # Versions keep increasing across the restart.
        created = core.create_namespaced_config_map(
            "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="later"))
        )
        assert int(created.metadata.resource_version) > list_rv
        # A watch from a version before the crash replays what happened since.
        events = [
            (e["type"], e["object"].metadata.name)
            for e in watch.Watch().stream(
                core.list_namespaced_config_map,
                "default",
                resource_version=str(list_rv - 1),
                timeout_seconds=1,
            )
        ]
        assert events == [("DELETED", "cm0"), ("ADDED", "later")]
    finally:
        restarted.terminate()


def test_graceful_stop_and_restart_keep_token_and_data(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    core = client.CoreV1Api(server.api())
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="kept")))
    token = (tmp_path / "token").read_text()
    assert server.terminate() == 0
    assert "stopping" in server.output
    restarted = ServerProcess(tmp_path).start()
    try:
        assert (tmp_path / "token").read_text() == token
        names = [n.metadata.name for n in client.CoreV1Api(restarted.api()).list_namespace().items]
        assert "kept" in names
    finally:
        restarted.terminate()
