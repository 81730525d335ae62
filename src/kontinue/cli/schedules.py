"""``kontinue schedules``: list ScheduledExecutions, suspend and resume them."""

from __future__ import annotations

from typing import Annotated

import typer

from kontinue.api import ScheduledExecution

from ._common import (
    Command,
    ContextOpt,
    DebugOpt,
    GlobalOptions,
    KubeconfigOpt,
    NamespaceOpt,
    OutputOpt,
    command,
    object_name,
    store_global_options,
)
from ._help import HelpCommand, HelpGroup
from ._output import OutputFormat, print_resources, schedule_table, show

__all__ = ["app"]

app = typer.Typer(
    name="schedules",
    cls=HelpGroup,
    help="List the ScheduledExecutions (cron); suspend and resume them.",
    no_args_is_help=False,
    add_completion=False,
)

FunctionOpt = Annotated[
    str | None,
    typer.Option(
        "--function", "-f", help="Only the schedules of this function.", metavar="FUNCTION"
    ),
]
NameArg = Annotated[str, typer.Argument(help="The ScheduledExecution's name.", show_default=False)]


def _list(run: Command, function: str | None) -> None:
    found = run.client.list_scheduled_executions(function=function)
    if run.output != OutputFormat.TABLE:
        print_resources(found, run.output)
    elif not found:
        typer.echo(f"No schedules found in namespace {run.namespace}.", err=True)
    else:
        show(schedule_table(found))


@app.callback(invoke_without_command=True)
def schedules(
    ctx: typer.Context,
    function: FunctionOpt = None,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output: OutputOpt = None,
    debug: DebugOpt = False,
) -> None:
    """List the ScheduledExecutions (cron); suspend and resume them."""
    if ctx.invoked_subcommand is not None:
        store_global_options(ctx, GlobalOptions(namespace, context, kubeconfig, output, debug))
        return
    with command(ctx, namespace, context, kubeconfig, debug, output) as run:
        _list(run, function)


@app.command(name="list", cls=HelpCommand)
def list_schedules(
    ctx: typer.Context,
    function: FunctionOpt = None,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output: OutputOpt = None,
    debug: DebugOpt = False,
) -> None:
    """List the ScheduledExecutions."""
    with command(ctx, namespace, context, kubeconfig, debug, output) as run:
        _list(run, function)


def _report(run: Command, schedule: ScheduledExecution, what: str) -> None:
    if run.output == OutputFormat.TABLE:
        typer.echo(f"schedule {schedule.metadata.name} {what}")
    else:
        print_resources([schedule], run.output, single=True)


@app.command(cls=HelpCommand)
def suspend(
    ctx: typer.Context,
    name: NameArg,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output: OutputOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Stop a schedule from starting executions (running ones go on)."""
    with command(ctx, namespace, context, kubeconfig, debug, output) as run:
        suspended = run.client.suspend_scheduled_execution(object_name(name))
        _report(run, suspended, "suspended")


@app.command(cls=HelpCommand)
def resume(
    ctx: typer.Context,
    name: NameArg,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output: OutputOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Let a suspended schedule start executions again."""
    with command(ctx, namespace, context, kubeconfig, debug, output) as run:
        resumed = run.client.resume_scheduled_execution(object_name(name))
        _report(run, resumed, "resumed")
