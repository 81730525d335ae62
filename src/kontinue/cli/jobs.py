"""``kontinue logs NAME``: the output of a Job a workflow started (``ktx.run_job`` and friends),
or of every Job an execution started."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import typer

from kontinue.client import Client

from ._common import (
    EXIT_NOT_FOUND,
    CliError,
    ContextOpt,
    DebugOpt,
    KubeconfigOpt,
    NamespaceOpt,
    close_iterator,
    command,
    object_name,
)
from ._output import TEXT_ONLY

__all__ = ["logs"]


def _jobs(client: Client, name: str) -> list[str]:
    """The Job called ``name``; else the Jobs the execution called ``name`` started."""
    from kontinue.kube import NotFound

    try:
        client.get_job(name)
    except NotFound:
        pass
    else:
        return [name]
    try:
        started = client.jobs(name)
    except NotFound:
        raise CliError(
            f'no Job or execution called "{name}" in namespace {client.namespace}',
            EXIT_NOT_FOUND,
        ) from None
    if not started:
        raise CliError(f"execution {name} has started no Jobs", EXIT_NOT_FOUND)
    return [str(job["metadata"]["name"]) for job in started]


def _print(lines: Iterator[str]) -> None:
    try:
        for line in lines:
            typer.echo(line)
    finally:
        close_iterator(lines)


def logs(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            help="A Job (see: kontinue tree EXECUTION), or an execution: the Jobs it started.",
            metavar="NAME",
            show_default=False,
        ),
    ],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until the pod ends.")
    ] = False,
    tail: Annotated[
        int | None,
        typer.Option(min=0, help="Only the last N lines (of each Job).", metavar="N"),
    ] = None,
    container: Annotated[
        str | None,
        typer.Option(
            "--container",
            "-c",
            help="The container (default: the pod's only one).",
            metavar="CONTAINER",
        ),
    ] = None,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Print the logs of a Job's first pod (later ones are its retries), or of each Job an
    execution started.

    An execution's Jobs come oldest first, each under a ==> job/NAME <== line when there are
    several (with --follow, one after the other).
    """
    with command(ctx, namespace, context, kubeconfig, debug, formats=TEXT_ONLY) as run:
        from kontinue.kube import NotFound

        jobs = _jobs(run.client, object_name(name))
        try:
            for index, job in enumerate(jobs):
                lines = run.client.job_logs(
                    job, follow=follow, tail_lines=tail, container=container
                )
                if len(jobs) == 1:
                    _print(lines)
                    continue
                if index:
                    typer.echo()
                typer.echo(f"==> job/{job} <==")
                try:
                    _print(lines)
                except NotFound as error:  # (one without a pod yet does not hide the others)
                    typer.echo(f"({error.message})", err=True)
        except KeyboardInterrupt:
            pass
