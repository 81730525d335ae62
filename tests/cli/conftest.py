"""The CLI as users run it: the installed ``kontinue`` console script, in a subprocess, against
the session's dev server (``kontinue_env``), with a worker running in the test process."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

import kontinue
from kontinue.testing import WorkflowEnvironment

KONTINUE = Path(sys.executable).with_name("kontinue")


class Order(BaseModel):
    item: str = Field(description="What to order")
    quantity: int = Field(default=1, ge=1, description="How many")
    size: Literal["small", "large"] = Field(default="small", description="Cup size")
    express: bool = False


class Approval(BaseModel):
    approved: bool


def make_worker() -> kontinue.Worker:
    worker = kontinue.Worker(group="cli")

    @worker.function("order", description="Orders something.")
    async def order(ktx: kontinue.ExecutionContext, args: Order) -> dict[str, Any]:
        return {"item": args.item, "total": args.quantity * 10, "size": args.size}

    @worker.function("approve")
    async def approve(ktx: kontinue.ExecutionContext) -> bool:
        decision = await ktx.suspend("ok?", data=Approval)
        return decision.approved

    @worker.function("chain")
    async def chain(ktx: kontinue.ExecutionContext) -> list[bool]:
        await ktx.run_script("busybox", "echo line one; echo line two")
        return list(await asyncio.gather(ktx.execute(approve)))

    @worker.function("fail")
    async def fail(ktx: kontinue.ExecutionContext) -> None:
        raise kontinue.NonRetryableError("nope")

    @worker.function("nap")
    async def nap(ktx: kontinue.ExecutionContext) -> str:
        await ktx.sleep(timedelta(seconds=1))
        return "rested"

    @worker.function("scripts")
    async def scripts(ktx: kontinue.ExecutionContext) -> None:
        await ktx.run_script("busybox", "echo first")
        await ktx.run_script("busybox", "echo second")

    @worker.function("internal", hidden=True)
    async def internal(ktx: kontinue.ExecutionContext) -> None:
        return None

    return worker


@dataclass
class Cli:
    """Runs ``kontinue ARGS --kubeconfig ... -n NAMESPACE`` and returns the finished process.

    Calling it runs the installed console script in a subprocess (as users run it); ``here``
    runs the same entry point in the test process, for the many cases where the start-up cost
    of a process (about a second) would buy nothing.
    """

    env: WorkflowEnvironment
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch

    def command(self, args: Sequence[str], namespace: str | None = None) -> list[str]:
        """The command line; the cluster options go first when ``args`` start with global
        options (``-o name list``), else after the command."""
        where = ["--kubeconfig", self.env.kubeconfig, "-n", namespace or self.env.namespace]
        if args and args[0].startswith("-"):
            return [str(KONTINUE), *where, *args]
        return [str(KONTINUE), *args, *where]

    def __call__(
        self, *args: str, input: str | None = None, namespace: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(args, namespace),
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
            env=environment(),
        )

    def start(self, *args: str, namespace: str | None = None) -> subprocess.Popen[str]:
        """Start a command without waiting for it."""
        return subprocess.Popen(
            self.command(args, namespace),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(),
        )

    def many(self, *commands: Sequence[str]) -> list[subprocess.CompletedProcess[str]]:
        """Run independent commands at the same time (each CLI start costs about a second)."""
        started = [self.start(*c) for c in commands]
        return [finish(process) for process in started]

    def here(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``kontinue.cli.main`` in this process, like the console script."""
        from kontinue.cli import main

        argv = self.command(args)[1:]
        with self.monkeypatch.context() as patch:
            patch.setattr(sys, "argv", ["kontinue", *argv])
            patch.setattr(sys, "stdin", io.StringIO(input or ""))
            patch.setenv("NO_COLOR", "1")
            patch.delenv("COLUMNS", raising=False)
            self.capsys.readouterr()
            code: object = 0
            try:
                main()
            except SystemExit as stop:
                code = stop.code
            out, err = self.capsys.readouterr()
        return subprocess.CompletedProcess(argv, code if isinstance(code, int) else 1, out, err)

    def ok(self, *args: str, input: str | None = None) -> str:
        """Run a command that must succeed; its stdout."""
        result = self(*args, input=input)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        return result.stdout


def finish(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    """Wait for a started command."""
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "KUBECONFIG")}
    env["NO_COLOR"] = "1"
    return env


def assert_error(result: subprocess.CompletedProcess[str], code: int, message: str) -> None:
    """The command failed with ``code`` and one ``error: ...`` line containing ``message``."""
    assert result.returncode == code, (result.args, result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert message in errors[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def cli(
    kontinue_env: WorkflowEnvironment,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Cli]:
    """The CLI against a namespace where the test worker runs."""
    with kontinue_env.running(make_worker()):
        yield Cli(kontinue_env, capsys, monkeypatch)
