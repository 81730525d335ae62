"""A real control plane (scripts/controlplane.sh) and the node agent as a child process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from kontinue.kube import KubeClient, NotFound

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "controlplane.sh"
NODE = "kontinue-node"


@dataclass
class ControlPlane:
    """etcd, kube-apiserver, kube-controller-manager and kube-scheduler in ``directory``."""

    directory: Path

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    @property
    def node_kubeconfig(self) -> Path:
        return self.directory / "node.kubeconfig"

    def pki(self, name: str) -> Path:
        return self.directory / "pki" / name

    def start(self) -> None:
        """The control plane alone (NODE=0): the tests run the node agent themselves."""
        env = {**os.environ, "NODE": "0"}
        subprocess.run(["bash", str(SCRIPT), "start", str(self.directory)], check=True, env=env)

    def stop(self) -> None:
        subprocess.run(["bash", str(SCRIPT), "stop", str(self.directory)], check=False)


class Agent:
    """``kontinue node`` against a control plane, its output in a file."""

    def __init__(self, plane: ControlPlane, work_dir: Path) -> None:
        self.plane = plane
        self.work_dir = work_dir
        self.log = work_dir.parent / f"{work_dir.name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> Agent:
        plane = self.plane
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "kontinue.cli",
                    "node",
                    "--kubeconfig",
                    str(plane.node_kubeconfig),
                    "--work-dir",
                    str(self.work_dir),
                    "--port",
                    "0",
                    "--tls-cert-file",
                    str(plane.pki("node-serving.crt")),
                    "--tls-private-key-file",
                    str(plane.pki("node-serving.key")),
                    "--client-ca-file",
                    str(plane.pki("ca.crt")),
                    "--log-level",
                    "DEBUG",
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if f"node {NODE} ready" in self.output():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.process.kill()
        raise AssertionError(f"the node agent did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def kill(self) -> None:
        """``kill -9``: the agent's pods' processes are left behind, as after a crash."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def node_ready(kube: KubeClient) -> bool:
    try:
        node = kube.get("nodes", NODE)
    except NotFound:
        return False
    conditions = {c["type"]: c["status"] for c in node["status"].get("conditions") or ()}
    return conditions.get("Ready") == "True" and not node["spec"].get("taints")
