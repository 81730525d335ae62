"""The typer application and its entry point."""

from __future__ import annotations

import typer

from kontinue import __version__

from .dev import dev
from .worker import worker

app = typer.Typer(
    name="kontinue",
    help="Kubernetes-native durable execution for Python.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command(name="dev")(dev)
app.command(name="worker")(worker)


@app.command()
def version() -> None:
    """Print the kontinue version."""
    typer.echo(f"kontinue {__version__}")


def main() -> None:
    """Console-script entry point."""
    app()
