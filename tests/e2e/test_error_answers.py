"""Bad input is a 4xx, a client going away is no error, a bad database is one line (issue 15,
item 6). Deep JSON and YAML are in test_request_bounds.py."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import RawHttp

pytestmark = pytest.mark.devserver  # tests the dev server itself

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("resourceVersion=99999999999999999999999", 400),
        ("resourceVersion=abc", 400),
        ("resourceVersion=0&resourceVersionMatch=bogus", 422),
        ("resourceVersionMatch=bogus", 422),
    ],
)
def test_bad_list_options_are_4xx(raw: RawHttp, query: str, code: int) -> None:
    status, body = raw.json("GET", f"{CONFIGMAPS}?{query}")
    assert status == code, body


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_bodies_that_are_not_json_or_yaml_are_415(raw: RawHttp, content_type: str) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "typed"}}
    status, answer = raw.json("POST", CONFIGMAPS, body, content_type=content_type)
    assert (status, answer["reason"]) == (415, "UnsupportedMediaType")


def test_a_client_leaving_a_watch_is_not_an_error(
    raw: RawHttp, devserver: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = devserver.server
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    caplog.set_level(logging.INFO)
    for _ in range(3):
        raw_socket = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        with contextlib.closing(context.wrap_socket(raw_socket)) as sock:
            request = (
                f"GET {CONFIGMAPS}?watch=1 HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {server.token}\r\n\r\n"
            )
            sock.sendall(request.encode())
            assert sock.recv(1000).startswith(b"HTTP/1.1 200")
    # the server has noticed once a write to the closed streams fails
    for n in range(3):
        name = f"leave-{n}"
        assert raw.json("POST", CONFIGMAPS, {"metadata": {"name": name}})[0] == 201
        raw.request("DELETE", f"{CONFIGMAPS}/{name}")
    _, _, metrics = raw.request("GET", "/metrics")
    assert b'verb="watch",resource="configmaps",code="500"' not in metrics
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def _dev(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kontinue.cli", "dev", "--data-dir", str(data_dir), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_corrupt_database_is_one_line_and_exit_code_3(tmp_path: Path) -> None:
    (tmp_path / "state.db").write_bytes(b"this is not SQLite " * 1000)
    result = _dev(tmp_path)
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        f"error: the database {tmp_path / 'state.db'} cannot be read (file is not a database); "
        f"move it away to start afresh, or choose another --data-dir than {tmp_path}"
    ]


def test_an_empty_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / "state.db").touch()
    result = _dev(tmp_path)
    assert result.returncode == 3
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: the database {tmp_path / 'state.db'} is empty (0 bytes)")
