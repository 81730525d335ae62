"""``kontinue logs JOB``: the output of a Job a workflow started (``ktx.run_job`` and friends)."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import (
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


def logs(
    ctx: typer.Context,
    job: Annotated[
        str,
        typer.Argument(help="The Job's name (see: kontinue tree EXECUTION).", show_default=False),
    ],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until the pod ends.")
    ] = False,
    tail: Annotated[
        int | None,
        typer.Option(min=0, help="Only the last N lines.", show_default=False),
    ] = None,
    container: Annotated[
        str | None,
        typer.Option("--container", "-c", help="The container (default: the pod's only one)."),
    ] = None,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Print the logs of a Job's latest pod."""
    with command(ctx, namespace, context, kubeconfig, debug, formats=TEXT_ONLY) as run:
        lines = run.client.job_logs(
            object_name(job), follow=follow, tail_lines=tail, container=container
        )
        try:
            for line in lines:
                typer.echo(line)
        except KeyboardInterrupt:
            pass
        finally:
            close_iterator(lines)
