"""The API servers a benchmark runs against: ``kontinue dev`` in its own process (file-backed,
free port), or the local upstream control plane of ``scripts/controlplane.sh`` (etcd and
kube-apiserver on loopback; no node: the benchmarks run no pods)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class ServerProcess:
    """A running server: its kubeconfig, the processes whose CPU time is the server's, and how
    long it took to start."""

    pids: list[int]
    kubeconfig: str
    startup_ms: float


@contextlib.contextmanager
def dev_server() -> Iterator[ServerProcess]:
    """A dev server on a temporary data directory, stopped (SIGTERM) on exit."""
    with tempfile.TemporaryDirectory(prefix="kontinue-bench-") as tmp:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "kontinue.cli", "dev", "--data-dir", tmp, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("kubeconfig:"):
                break
        else:
            raise RuntimeError("the dev server did not start")
        ready = (time.perf_counter() - started) * 1000
        try:
            yield ServerProcess([process.pid], str(Path(tmp) / "kubeconfig"), ready)
        finally:
            process.terminate()
            process.wait(timeout=30)


def upstream_available() -> str | None:
    """Why the upstream control plane cannot run here, or None when it can."""
    if shutil.which("go") is None:
        return "go is not installed (scripts/controlplane.sh builds it from source)"
    return None


@contextlib.contextmanager
def upstream_server() -> Iterator[ServerProcess]:
    """etcd, kube-apiserver and kube-controller-manager (controlplane.sh, no node agent) on a
    temporary directory, stopped on exit; the server's CPU is etcd's plus kube-apiserver's."""
    script = ROOT / "scripts" / "controlplane.sh"
    subprocess.run(["bash", str(script), "build"], check=True)  # not part of the start time
    with tempfile.TemporaryDirectory(prefix="kontinue-bench-k8s-") as tmp:
        started = time.perf_counter()
        try:
            subprocess.run(
                ["bash", str(script), "start", tmp],
                check=True,
                env={**os.environ, "NODE": "0"},
                stdout=subprocess.DEVNULL,
            )
            ready = (time.perf_counter() - started) * 1000
            pids = [int((Path(tmp) / f"{p}.pid").read_text()) for p in ("etcd", "kube-apiserver")]
            kubeconfig = str(Path(tmp) / "kubeconfig")
            from kontinue.installing import install_crds  # kontinue dev installs its own
            from kontinue.kube import KubeClient

            with KubeClient.from_kubeconfig(kubeconfig) as admin:
                install_crds(admin)
            yield ServerProcess(pids, kubeconfig, ready)
        finally:
            subprocess.run(["bash", str(script), "stop", tmp], check=False)
