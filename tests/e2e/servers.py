"""Dev servers in child processes, for tests that kill or restart them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kubernetes import client, config


class ServerProcess:
    """``kontinue dev`` on a data directory, with a kubeconfig to reach it."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.data_dir = data_dir
        self.kubeconfig = data_dir / "kubeconfig"
        self.extra = extra
        self.process: subprocess.Popen[str] | None = None
        self.output = ""

    def start(self, timeout: float = 20.0) -> ServerProcess:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kontinue.cli",
                "dev",
                "--data-dir",
                str(self.data_dir),
                "--port",
                "0",
                *self.extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.output += line
            if line.startswith("kubeconfig:"):
                return self
        self.process.kill()
        raise AssertionError(
            f"dev server did not start:\n{self.output}{self.process.stdout.read()}"
        )

    def api(self) -> client.ApiClient:
        configuration = client.Configuration()
        config.load_kube_config(
            config_file=str(self.kubeconfig), client_configuration=configuration
        )
        return client.ApiClient(configuration)

    def kill(self) -> None:
        """``kill -9``: no chance to flush or close anything."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=10)
        assert self.process.stdout is not None
        self.output += self.process.stdout.read()
        return code
