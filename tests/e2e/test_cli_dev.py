"""``kontinue dev`` refuses clearly when it cannot start."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from .servers import ServerProcess

pytestmark = pytest.mark.devserver  # tests the dev server itself


def _dev(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kontinue.cli", "dev", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = _dev("--in-memory", "--port", str(port))
    assert result.returncode == 3
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_data_dir_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = _dev("--data-dir", str(blocker), "--port", "0")
    assert result.returncode == 3
    assert f"the data directory {blocker} is not writable" in result.stderr


def test_data_dir_in_use(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    try:
        result = _dev("--data-dir", str(tmp_path), "--port", "0")
        assert result.returncode == 3
        assert "in use by another kontinue dev server" in result.stderr
    finally:
        server.terminate()


def test_prints_kubeconfig_and_export_line(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    try:
        assert f"export KUBECONFIG={tmp_path / 'kubeconfig'}" in server.output + (
            server.process.stdout.readline() if server.process and server.process.stdout else ""
        )
    finally:
        server.terminate()
