"""``kontinue ui`` and ``kontinue dev`` print the UI's address, and it serves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from kontinue.testing import WorkflowEnvironment


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kontinue.cli", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _address(process: subprocess.Popen[str], prefix: str) -> str:
    """The address printed after ``prefix``, read as the command prints it."""
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if prefix in line:
            return line.split(prefix, 1)[1].strip().split()[-1]
    raise AssertionError(f"no {prefix!r} line in: {''.join(seen)}")


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _serves(url: str, page: str) -> str:
    """Sign in with the token of ``url``, then read ``page``."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(url, timeout=30)
        raise AssertionError("the token should be answered with a redirect")
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 303
        cookie = redirect.headers["Set-Cookie"].split(";", 1)[0]
    base = url.split("/?", 1)[0]
    request = urllib.request.Request(base + page, headers={"Cookie": cookie})
    with opener.open(request, timeout=30) as answer:
        return str(answer.read().decode())


def test_kontinue_ui_serves_with_the_callers_kubeconfig(
    kontinue_env: WorkflowEnvironment,
) -> None:
    env = kontinue_env
    process = _start("ui", "--port", "0", "--kubeconfig", env.kubeconfig, "-n", env.namespace)
    try:
        url = _address(process, f"kontinue UI for namespace {env.namespace}: ")
        assert url.startswith("http://127.0.0.1:") and "/?token=" in url
        assert "<h1>Executions</h1>" in _serves(url, f"/ns/{env.namespace}/executions")
    finally:
        _stop(process)
    assert process.returncode == 0


@pytest.mark.devserver
def test_kontinue_dev_starts_the_ui_and_prints_its_address() -> None:
    process = _start("dev", "--in-memory", "--port", "0", "--ui-port", "0")
    try:
        url = _address(process, "web UI: ")
        assert "<h1>Functions</h1>" in _serves(url, "/ns/default/functions")
    finally:
        _stop(process)
