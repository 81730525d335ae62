"""Start ``kontinue dev`` in its own process for a benchmark (file-backed, free port)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
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
            yield ServerProcess(process, str(Path(tmp) / "kubeconfig"), ready)
        finally:
            process.terminate()
            process.wait(timeout=30)
