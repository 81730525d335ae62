"""The typer application and its entry point."""

from __future__ import annotations

import importlib
import sys
from functools import cache
from typing import Any

import typer
import typer.main
from typer.core import TyperGroup

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

_LOCAL_PANEL = "Running"
# Loaded when they run: the API server and the engine are the slowest imports of all.
_LAZY = ("dev", "worker", "node")


class _Commands(TyperGroup):
    """The commands, with ``dev`` and ``worker`` imported only when they are used."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        return [*names, *(name for name in _LAZY if name not in names)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in _LAZY:
            return _load(cmd_name)
        return super().get_command(ctx, cmd_name)


@cache
def _load(name: str) -> Any:
    module = importlib.import_module(f"{__package__}.{name}")
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    single.command(name=name, rich_help_panel=_LOCAL_PANEL)(getattr(module, name))
    return typer.main.get_command(single)


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


_EXECUTIONS = "Executions"
_STEERING = "Steering"
_CLUSTER = "Functions, schedules and setup"

app.command(name="execute", rich_help_panel=_EXECUTIONS)(executions.execute)
app.command(name="list", rich_help_panel=_EXECUTIONS)(executions.list_executions)
app.command(name="get", rich_help_panel=_EXECUTIONS)(executions.get)
app.command(name="describe", rich_help_panel=_EXECUTIONS)(executions.describe)
app.command(name="tree", rich_help_panel=_EXECUTIONS)(executions.tree)
app.command(name="logs", rich_help_panel=_EXECUTIONS)(jobs.logs)
app.command(name="cancel", rich_help_panel=_STEERING)(executions.cancel)
app.command(name="skip", rich_help_panel=_STEERING)(executions.skip)
app.command(name="retry", rich_help_panel=_STEERING)(executions.retry)
app.command(name="resume", rich_help_panel=_STEERING)(suspensions.resume)
app.command(name="suspensions", rich_help_panel=_STEERING)(suspensions.list_suspensions)
app.command(name="functions", rich_help_panel=_CLUSTER)(functions.functions)
app.add_typer(schedules.app, name="schedules", rich_help_panel=_CLUSTER)
app.command(name="install", rich_help_panel=_CLUSTER)(install.install)


@app.command(rich_help_panel=_LOCAL_PANEL)
def version() -> None:
    """Print the kontinue version."""
    typer.echo(f"kontinue {__version__}")


def main() -> None:
    """Console-script entry point: usage errors too end with one ``error: ...`` line."""
    command = typer.main.get_command(app)
    try:
        code = command.main(standalone_mode=False)
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
