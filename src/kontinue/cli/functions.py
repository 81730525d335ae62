"""``kontinue functions``: what the workers publish, and how to call it."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import ContextOpt, DebugOpt, KubeconfigOpt, NamespaceOpt, OutputOpt, command
from ._output import OutputFormat, function_table, print_resources, show

__all__ = ["functions"]


def functions(
    ctx: typer.Context,
    include_hidden: Annotated[
        bool,
        typer.Option("--all", "--include-hidden", "-a", help="Also hidden (helper) functions."),
    ] = False,
    worker_group: Annotated[
        str | None,
        typer.Option(
            help="Only the functions of this worker group.", metavar="GROUP", show_default=False
        ),
    ] = None,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output: OutputOpt = None,
    debug: DebugOpt = False,
) -> None:
    """List the functions you can execute (arguments marked * are required)."""
    with command(ctx, namespace, context, kubeconfig, debug, output) as run:
        found = run.client.functions(include_hidden=include_hidden, worker_group=worker_group)
        if run.output != OutputFormat.TABLE:
            print_resources(found, run.output, names=[f.spec.name for f in found])
        elif not found:
            typer.echo(
                f"No functions published in namespace {run.namespace} "
                "(is a worker running? kontinue worker MODULE:OBJECT)",
                err=True,
            )
        else:
            show(function_table(found))
