"""Suspensions: ``suspensions`` (what is waiting) and ``resume``."""

from __future__ import annotations

from typing import Annotated

import typer

from kontinue.api import Suspension
from kontinue.client import Client

from ._common import (
    ContextOpt,
    DebugOpt,
    KubeconfigOpt,
    NamespaceOpt,
    OutputOpt,
    command,
    object_name,
    parse_json,
)
from ._output import OutputFormat, print_resources, show, suspension_table

__all__ = ["list_suspensions", "resume"]

SUSPENSIONS = "suspensions.kontinue.cloud"


def _resume(
    client: Client, name: str, data: object, by: str | None, recursive: bool
) -> list[Suspension]:
    """Resume the Suspension called ``name``, else the waiting Suspensions of the execution
    called ``name``."""
    from kontinue.kube import NotFound

    try:
        suspension = client.get_suspension(name)
    except NotFound:
        pass
    else:
        return [client.resume_suspension(suspension, data, by=by)]
    client.get(name)  # NotFound (exit 3) when it is no execution either
    return client.resume_execution(name, recursive=recursive, data=data, by=by)


def resume(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            help="A Suspension, or an execution whose waiting Suspensions to resume.",
            metavar="NAME",
            show_default=False,
        ),
    ],
    recursive: Annotated[
        bool,
        typer.Option(
            "--recursive", "-r", help="Resume the waiting Suspensions of the whole tree below."
        ),
    ] = False,
    data: Annotated[
        str | None,
        typer.Option(
            help="Data (JSON) for the waiting code, checked against the Suspension's schema.",
            metavar="JSON",
            show_default=False,
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            help="Who resumes it, for the audit trail.", metavar="WHO", show_default=False
        ),
    ] = None,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output: OutputOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Resume a Suspension (an approval, an external event, or a sleep cut short)."""
    with command(ctx, namespace, context, kubeconfig, debug, output) as run:
        value = parse_json(data, "--data") if data is not None else None
        resumed = _resume(run.client, object_name(name), value, by, recursive)
        if run.output != OutputFormat.TABLE:
            print_resources(resumed, run.output)
            return
        for suspension in resumed:
            typer.echo(
                f"suspension {suspension.metadata.name} of execution "
                f"{suspension.spec.execution} resume requested"
            )


def list_suspensions(
    ctx: typer.Context,
    execution: Annotated[
        str | None,
        typer.Argument(
            help="Only the Suspensions of this execution (default: the whole namespace).",
            metavar="EXECUTION",
            show_default=False,
        ),
    ] = None,
    recursive: Annotated[
        bool,
        typer.Option("--recursive", "-r", help="With EXECUTION: of its whole tree."),
    ] = False,
    all_phases: Annotated[
        bool, typer.Option("--all", "-a", help="Also those no longer waiting.")
    ] = False,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output: OutputOpt = None,
    debug: DebugOpt = False,
) -> None:
    """List the Suspensions that wait to be resumed (or end by time)."""
    with command(ctx, namespace, context, kubeconfig, debug, output) as run:
        client = run.client
        if execution is not None:
            found = client.suspensions(object_name(execution), recursive=recursive)
        else:
            items = client.kube.list(SUSPENSIONS, namespace=run.namespace)
            found = [Suspension.model_validate(item) for item in items]
        if not all_phases:
            found = [s for s in found if s.is_waiting]
        if run.output != OutputFormat.TABLE:
            print_resources(found, run.output)
        elif not found:
            typer.echo(f"No waiting suspensions in namespace {run.namespace}.", err=True)
        else:
            show(suspension_table(found))
