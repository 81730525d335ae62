"""``kontinue ui``: the web UI in the foreground, with your Kubernetes credentials."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
from typing import Annotated

import typer

from kontinue.ui import UiServer, UiSettings

from ._common import (
    ContextOpt,
    DebugOpt,
    GlobalOptions,
    KubeconfigOpt,
    NamespaceOpt,
    reported_errors,
)

__all__ = ["ui"]

EXIT_CANNOT_START = 3


def ui(
    ctx: typer.Context,
    port: Annotated[
        int, typer.Option(help="TCP port (0 picks a free one).", metavar="PORT")
    ] = 8080,
    host: Annotated[
        str,
        typer.Option(
            help="Address to bind; loopback unless you mean to share it (whoever has the "
            "address with its token acts with your credentials).",
            metavar="ADDRESS",
        ),
    ] = "127.0.0.1",
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Serve the web UI until Ctrl-C: executions, trees, logs, functions and schedules.

    It acts with the credentials of your kubeconfig, so the cluster's RBAC decides what it
    shows and may change. Open the address it prints: it carries the token the UI requires.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    before = ctx.find_object(GlobalOptions) or GlobalOptions()
    options = before.merged(GlobalOptions(namespace, context, kubeconfig, None, debug))
    settings = UiSettings(
        host=host,
        port=port,
        kubeconfig=options.kubeconfig,
        context=options.context,
        namespace=options.namespace,
    )
    if not _loopback(host):
        typer.echo(
            f"warning: serving on {host}: anyone who reaches it with the token acts with your "
            "Kubernetes credentials",
            err=True,
        )
    with reported_errors(options.debug):
        asyncio.run(_serve(settings))


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _serve(settings: UiSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with UiServer(settings) as server:
        namespace = server.namespace
        typer.echo(f"kontinue UI for namespace {namespace}: {server.url}")
        typer.echo("Press Ctrl-C to stop.")
        await stop.wait()
        typer.echo("stopping...")
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(Exception):
            loop.remove_signal_handler(sig)
