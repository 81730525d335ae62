"""The typer application and its entry point."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Annotated, Any

import typer
import typer.main

from kontinue import __version__

from . import executions, functions, install, jobs, schedules, suspensions
from ._common import (
    ContextOpt,
    DebugOpt,
    GlobalOptions,
    KubeconfigOpt,
    NamespaceOpt,
    OutputOpt,
    error_exit,
    store_global_options,
)
from ._help import HelpCommand, HelpGroup

EXIT_STDOUT_CLOSED = 141
"""Exit code when stdout is closed before the output is written (``kontinue list -o name |
head -1``): 128 + SIGPIPE, and nothing on stderr. That is what a shell reports for
``kubectl get -o name | head -1``: kubectl, as any Go program, is ended by SIGPIPE when it writes
to a closed stdout. We exit with the code rather than raise the signal, which would also end a
program that runs :func:`main` in its own process."""

_LOCAL_PANEL = "Running"
# Loaded when they run: the API server and the engine are the slowest imports of all.
_LAZY = ("dev", "worker", "node", "ui")


def _drop_stdout() -> None:
    """Point stdout at /dev/null: what is still buffered for the closed pipe is dropped
    instead of failing once more when Python flushes it at exit."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test's capture)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


@contextmanager
def _quiet_when_stdout_closes() -> Iterator[None]:
    try:
        yield
    except BrokenPipeError:
        _drop_stdout()
        raise typer.Exit(EXIT_STDOUT_CLOSED) from None


class _Commands(HelpGroup):
    """The commands, with ``dev`` and ``worker`` imported only when they are used; a closed
    stdout ends any of them with :data:`EXIT_STDOUT_CLOSED`."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        return [*names, *(name for name in _LAZY if name not in names)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in _LAZY:
            return _load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _quiet_when_stdout_closes():  # (--help and --version print while parsing)
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _quiet_when_stdout_closes():
            return super().invoke(ctx)


@cache
def _load(name: str) -> Any:
    module = importlib.import_module(f"{__package__}.{name}")
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    single.command(name=name, rich_help_panel=_LOCAL_PANEL, cls=HelpCommand)(getattr(module, name))
    return typer.main.get_command(single)


def installed_version() -> str:
    """kontinue's version, from the installed package's metadata (from the source tree when
    it runs uninstalled)."""
    try:
        return package_version("kontinue")
    except PackageNotFoundError:
        return __version__


def _print_version(given: bool) -> None:
    if given:
        typer.echo(f"kontinue {installed_version()}")
        raise typer.Exit()


app = typer.Typer(
    name="kontinue",
    cls=_Commands,
    help="Kubernetes-native durable execution for Python.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Commands that take no cluster options (dev and worker have their own).
_LOCAL = {"dev", "worker", "version"}


@app.callback()
def _global_options(
    ctx: typer.Context,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output: OutputOpt = None,
    debug: DebugOpt = False,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            help="Print the kontinue version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Kubernetes-native durable execution for Python.

    Start executions, follow them and steer them (cancel, skip, retry, resume) in the cluster
    of your kubeconfig; run workers (kontinue worker) or a local API server (kontinue dev).
    """
    given = GlobalOptions(namespace, context, kubeconfig, output, debug)
    if ctx.invoked_subcommand in _LOCAL and given != GlobalOptions():
        error_exit(
            f"kontinue {ctx.invoked_subcommand} takes its own options: "
            f"put them after {ctx.invoked_subcommand!r}",
            2,
        )
    store_global_options(ctx, given)


def _command(name: str, panel: str) -> Any:
    return app.command(name=name, rich_help_panel=panel, cls=HelpCommand)


_EXECUTIONS = "Executions"
_STEERING = "Steering"
_CLUSTER = "Functions, schedules and setup"

_command("execute", _EXECUTIONS)(executions.execute)
_command("list", _EXECUTIONS)(executions.list_executions)
_command("get", _EXECUTIONS)(executions.get)
_command("describe", _EXECUTIONS)(executions.describe)
_command("tree", _EXECUTIONS)(executions.tree)
_command("logs", _EXECUTIONS)(jobs.logs)
_command("cancel", _STEERING)(executions.cancel)
_command("skip", _STEERING)(executions.skip)
_command("retry", _STEERING)(executions.retry)
_command("resume", _STEERING)(suspensions.resume)
_command("suspensions", _STEERING)(suspensions.list_suspensions)
_command("functions", _CLUSTER)(functions.functions)
app.add_typer(schedules.app, name="schedules", rich_help_panel=_CLUSTER)
_command("install", _CLUSTER)(install.install)


@app.command(rich_help_panel=_LOCAL_PANEL, cls=HelpCommand)
def version() -> None:
    """Print the kontinue version."""
    typer.echo(f"kontinue {installed_version()}")


def main() -> None:
    """Console-script entry point: usage errors too end with one ``error: ...`` line."""
    command = typer.main.get_command(app)
    try:
        code = command.main(standalone_mode=False)
        with _quiet_when_stdout_closes():
            sys.stdout.flush()  # (before Python does it at exit, with no one to tell)
    except typer.Exit as stop:
        sys.exit(stop.exit_code)
    except typer.TyperException as error:  # bad usage: unknown option, invalid value...
        message = error.format_message()
        if message:  # (empty when the help was printed for a bare command)
            where = getattr(getattr(error, "ctx", None), "command_path", None)
            hint = f" (see: {where} --help)" if where else ""
            typer.echo(f"error: {message}{hint}", err=True)
        sys.exit(error.exit_code)
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
