"""Fixtures of the deployment tests: Helm v4 built from tools/helm (scripts/helm.sh), run with
its own configuration, cache and data folders so nothing of the user's Helm setup is read."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "kontinue"
#: A cold build of Helm takes minutes on 2 cores; warm, it only checks a stamp.
BUILD_TIMEOUT = 1200

JSON = dict[str, Any]


@dataclass(frozen=True)
class Helm:
    """The helm binary with a private home."""

    binary: Path
    home: Path

    def env(self, kubeconfig: str | None = None) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_DATA_HOME": str(self.home / "data"),
        }
        if kubeconfig:
            env["KUBECONFIG"] = kubeconfig
        return env

    def run(
        self, *args: str, kubeconfig: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(self.binary), *args],
            capture_output=True,
            text=True,
            env=self.env(kubeconfig),
            timeout=timeout,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def template(
        self, *args: str, release: str = "kontinue", namespace: str = "default"
    ) -> list[JSON]:
        """The chart's objects rendered offline (``helm template``)."""
        out = self.run("template", release, str(CHART), "--namespace", namespace, *args).stdout
        return [doc for doc in yaml.safe_load_all(out) if doc]


def set_values(values: dict[str, str]) -> Sequence[str]:
    return [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """Helm, built if needed (skipped without Go, except on CI where that fails)."""
    if shutil.which("go") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("go is not installed: the chart tests build Helm from tools/helm")
        pytest.skip("go is not installed: no Helm for the chart tests (scripts/helm.sh)")
    built = subprocess.run(
        ["bash", str(ROOT / "scripts" / "helm.sh"), "path"],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )
    assert built.returncode == 0, built.stderr
    return Helm(Path(built.stdout.strip().splitlines()[-1]), tmp_path_factory.mktemp("helm-home"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The first test that needs Helm also waits for its build."""
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here and "helm" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(BUILD_TIMEOUT))
            return
