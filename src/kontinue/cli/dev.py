"""``kontinue dev``: the embedded Kubernetes API server in the foreground."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer

from kontinue.devserver import (
    DEFAULT_PORT,
    DevServer,
    DevServerError,
    DevServerSettings,
    default_data_dir,
)

EXIT_CANNOT_START = 3


def dev(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Directory for the database, token and kubeconfig.", show_default=False),
    ] = None,
    port: Annotated[int, typer.Option(help="TCP port (0 picks a free one).")] = DEFAULT_PORT,
    host: Annotated[
        str, typer.Option(help="Address to bind; loopback unless you mean to share it.")
    ] = "127.0.0.1",
    kubeconfig: Annotated[
        Path | None, typer.Option(help="Where to write the kubeconfig.", show_default=False)
    ] = None,
    in_memory: Annotated[
        bool, typer.Option("--in-memory", help="Keep nothing on disk; state is lost on exit.")
    ] = False,
) -> None:
    """Run a local Kubernetes API server (no cluster needed) until Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = DevServerSettings(
        host=host,
        port=port,
        data_dir=None if in_memory else (data_dir or default_data_dir()),
        kubeconfig=kubeconfig,
    )
    try:
        _run(_serve(settings))
    except DevServerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_CANNOT_START) from None


def _run(main: object) -> None:
    try:
        import uvloop

        uvloop.run(main)  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover - uvloop is installed everywhere we support
        asyncio.run(main)  # type: ignore[arg-type]


async def _serve(settings: DevServerSettings) -> None:
    server = DevServer(settings)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    where = "in memory" if settings.data_dir is None else f"data in {settings.data_dir}"
    typer.echo(
        f"kontinue dev server ready at {server.url} ({where})",
    )
    typer.echo(f"kubeconfig: {server.kubeconfig_path}")
    typer.echo(f"  export KUBECONFIG={server.kubeconfig_path}")
    typer.echo(
        "Press Ctrl-C to stop.",
    )
    try:
        await stop.wait()
    finally:
        typer.echo("stopping...")
        await server.stop()
