"""The dev server's files are its user's alone (issue 15, item 3)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from kubernetes import client, config

from kontinue.devserver import DevServerSettings, DevServerThread
from kontinue.testing import eventually

from .conftest import RawHttp

pytestmark = pytest.mark.devserver  # tests the dev server itself


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _raw(kubeconfig: Path) -> RawHttp:
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    return RawHttp(configuration)


def test_data_directory_and_files_are_private_and_tightened_at_start(tmp_path: Path) -> None:
    data = tmp_path / "dev"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)  # as an older version left it
    (data / "token").write_text("an-old-token\n")
    os.chmod(data / "token", 0o644)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("not a kubeconfig\n")
    (data / "kubeconfig").symlink_to(elsewhere)
    unrelated = data / "notes.sh"
    unrelated.write_text("#!/bin/sh\n")
    os.chmod(unrelated, 0o755)

    settings = DevServerSettings(port=0, data_dir=data, run_jobs=False)
    with DevServerThread(settings) as thread:
        raw = _raw(data / "kubeconfig")
        secret = {"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}
        assert raw.json("POST", "/api/v1/namespaces/default/secrets", secret)[0] == 201
        pod = {
            "metadata": {"name": "talker"},
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "c", "image": "x", "command": ["echo", "hunter2"]}],
            },
        }
        assert raw.json("POST", "/api/v1/namespaces/default/pods", pod)[0] == 201

        def finished() -> bool:
            _, got = raw.json("GET", "/api/v1/namespaces/default/pods/talker")
            return got.get("status", {}).get("phase") == "Succeeded"

        eventually(finished, timeout=20)
        assert thread.server.token == "an-old-token"
        assert _mode(data) == 0o700
        for name in ("token", "state.db", "state.db-wal", "kubeconfig", "lock", "server.key"):
            assert _mode(data / name) == 0o600, name
        logs = list((data / "pods").glob("default_talker_*/logs/c/0.log"))
        assert len(logs) == 1
        assert _mode(logs[0]) == 0o600
    # the kubeconfig replaced the link instead of writing through it
    assert not (data / "kubeconfig").is_symlink()
    assert elsewhere.read_text() == "not a kubeconfig\n"
    assert _mode(unrelated) == 0o755  # not the server's: left alone


def test_an_in_memory_server_writes_its_kubeconfig_privately(tmp_path: Path) -> None:
    target = tmp_path / "kubeconfig"
    target.write_text("old\n")
    os.chmod(target, 0o644)
    settings = DevServerSettings.ephemeral(kubeconfig=target, run_pods=False, run_jobs=False)
    with DevServerThread(settings):
        assert _mode(target) == 0o600
        assert "kontinue-dev" in target.read_text()
