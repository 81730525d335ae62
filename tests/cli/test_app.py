"""The command line around the commands: version, help, a closed stdout, a missing kubeconfig,
``kontinue worker`` without an API server, and what ``kontinue dev`` suggests."""

from __future__ import annotations

import importlib
import io
import os
import socket
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from kontinue.cli._hints import try_this
from kontinue.cli.worker import load_worker

from .conftest import KONTINUE, Cli, assert_error, environment, finish

ROOT = Path(__file__).resolve().parents[2]
EXIT_UNREACHABLE = 7
STDOUT_CLOSED = 141  # 128 + SIGPIPE, as a shell reports kubectl's end


def _here(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> subprocess.CompletedProcess[str]:
    """``kontinue ARGS`` in this process, without cluster options."""
    from kontinue.cli import main

    with monkeypatch.context() as patch:
        patch.setattr(sys, "argv", ["kontinue", *args])
        patch.setattr(sys, "stdin", io.StringIO(""))
        patch.setenv("NO_COLOR", "1")
        patch.setenv("COLUMNS", "100")
        capsys.readouterr()
        code: object = 0
        try:
            main()
        except SystemExit as stop:
            code = stop.code
        out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code if isinstance(code, int) else 1, out, err)


def _start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(KONTINUE), *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or environment(),
    )


def _home(tmp_path: Path, *, dev_kubeconfig: bool) -> tuple[dict[str, str], Path]:
    """An environment with an empty home (no ~/.kube/config, no $KUBECONFIG) and the path
    where ``kontinue dev`` writes its kubeconfig there (made when ``dev_kubeconfig``)."""
    home = tmp_path / ("with-dev" if dev_kubeconfig else "without-dev")
    written = home / ".local" / "state" / "kontinue" / "dev" / "kubeconfig"
    if dev_kubeconfig:
        written.parent.mkdir(parents=True)
        written.write_text("apiVersion: v1\nkind: Config\n")
    env = environment()
    env["HOME"] = str(home)
    for name in ("XDG_STATE_HOME", "KUBERNETES_SERVICE_HOST"):
        env.pop(name, None)
    return env, written


def test_version(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    expected = f"kontinue {version('kontinue')}\n"
    printed = subprocess.run(
        [str(KONTINUE), "--version"], capture_output=True, text=True, env=environment()
    )
    assert (printed.returncode, printed.stdout, printed.stderr) == (0, expected, "")
    for args in (["-V"], ["version"]):
        short = _here(capsys, monkeypatch, *args)
        assert (short.returncode, short.stdout, short.stderr) == (0, expected, "")


def test_a_closed_stdout_ends_the_command_quietly(cli: Cli) -> None:
    for _ in range(3):
        cli.env.execute("order", {"item": "x"})
    listing = cli.start("list", "-o", "name")
    assert listing.stdout is not None
    listing.stdout.close()  # what `| head -1` does, before the first line is even written
    assert listing.stderr is not None
    err = listing.stderr.read()
    assert (listing.wait(timeout=60), err) == (STDOUT_CLOSED, "")


def _usage(page: str) -> str:
    return next(line.strip() for line in page.splitlines() if "Usage:" in line)


def test_help_shows_placeholders_not_python_types(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = {
        args: _here(capsys, monkeypatch, *args, "--help")
        for args in [(), ("execute",), ("list",), ("logs",), ("worker",), ("dev",), ("schedules",)]
    }
    for args, page in pages.items():
        assert page.returncode == 0, (args, page.stderr)
        for noise in ("<bool>", "<str>", "<int", "<path>", "list[", "{"):
            assert noise not in page.stdout, (args, noise, page.stdout)
    execute = pages[("execute",)].stdout
    assert _usage(execute).endswith(" execute [OPTIONS] FUNCTION")
    for option, placeholder in [
        ("--args", "JSON"),
        ("--arg", "KEY=VALUE"),
        ("--wait-timeout", "DURATION"),
        ("--name", "NAME"),
        ("--retries", "N"),
        ("--output", "FORMAT"),
        ("--kubeconfig", "FILE"),
    ]:
        line = next(line for line in execute.splitlines() if f" {option} " in line)
        assert placeholder in line.split(option, 1)[1].split(), line
    assert _usage(pages[("worker",)].stdout).endswith(" worker [OPTIONS] MODULE:OBJECT")
    assert _usage(pages[("logs",)].stdout).endswith(" logs [OPTIONS] NAME")
    assert "--version" in pages[()].stdout


def test_a_kubeconfig_that_fails_to_load_points_at_the_dev_servers(tmp_path: Path) -> None:
    with_dev, written = _home(tmp_path, dev_kubeconfig=True)
    without_dev, _ = _home(tmp_path, dev_kubeconfig=False)
    hinted, plain = finish(_start("list", env=with_dev)), finish(_start("list", env=without_dev))
    assert_error(hinted, EXIT_UNREACHABLE, f"export KUBECONFIG={written}")
    assert "Invalid kube-config file" in hinted.stderr
    assert_error(plain, EXIT_UNREACHABLE, "cannot load Kubernetes configuration")
    assert "export KUBECONFIG" not in plain.stderr


def test_the_worker_without_an_api_server_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: 'https://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    without_config, _ = _home(tmp_path, dev_kubeconfig=False)
    target = "examples.hello:worker"
    unreachable, debugged, unconfigured = (
        _start("worker", target, "--kubeconfig", str(kubeconfig)),
        _start("worker", target, "--kubeconfig", str(kubeconfig), "--debug"),
        _start("worker", target, env=without_config),
    )
    done = finish(unreachable)
    server = f"https://127.0.0.1:{port}"
    assert_error(done, EXIT_UNREACHABLE, f"cannot reach the Kubernetes API server at {server}")
    assert "check that it is running" in done.stderr
    debug = finish(debugged)
    assert debug.returncode == EXIT_UNREACHABLE and "Traceback" in debug.stderr, debug.stderr
    missing = finish(unconfigured)
    assert_error(missing, EXIT_UNREACHABLE, "cannot load Kubernetes configuration")


def _without_repository(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """As for someone who installed kontinue with pip: no ``examples`` package around."""
    monkeypatch.chdir(tmp_path)
    kept = [p for p in sys.path if p and Path(p).resolve() != ROOT]
    monkeypatch.setattr(sys, "path", kept)


def test_dev_suggests_only_workers_that_exist(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert "kontinue worker examples.hello:worker" in "\n".join(try_this([]))  # in a checkout
    _without_repository(monkeypatch, tmp_path)
    text = "\n".join(try_this([]))
    assert "examples" not in text, text
    assert "kontinue worker hello:worker" in text, text
    # the snippet is a worker that runs
    snippet = [line.split("#   ", 1)[1] if "#   " in line else "" for line in try_this([])]
    start = next(i for i, line in enumerate(snippet) if line.startswith("import kontinue"))
    (tmp_path / "hello.py").write_text("\n".join(snippet[start:]).strip() + "\n")
    monkeypatch.setattr(sys, "path", [os.getcwd(), *sys.path])
    importlib.invalidate_caches()
    try:
        assert list(load_worker("hello:worker").functions) == ["hello"]
    finally:
        sys.modules.pop("hello", None)
