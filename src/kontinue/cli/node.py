"""``kontinue node``: the node agent in the foreground, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import platformdirs
import typer

from kontinue.kube import AsyncKubeClient, KubeError, KubeSettings
from kontinue.node import DEFAULT_NAME, DEFAULT_PORT, NodeAgent, NodeSettings, NodeSetupError

from ._logging import LogFormatOpt, LogLevelOpt, start_logging

__all__ = ["node"]

EXIT_CANNOT_START = 3


def node(
    kubeconfig: Annotated[
        Path | None,
        typer.Option(
            help="Kubeconfig with the node's credentials (system:node:NAME).",
            metavar="FILE",
            show_default=False,
        ),
    ] = None,
    name: Annotated[str, typer.Option(help="The Node's name.", metavar="NAME")] = DEFAULT_NAME,
    work_dir: Annotated[
        Path | None,
        typer.Option(
            help="Directory for the pods' folders and logs.", metavar="DIR", show_default=False
        ),
    ] = None,
    address: Annotated[
        str,
        typer.Option(help="The node's InternalIP; the log server binds it.", metavar="ADDRESS"),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port of the log server (0 picks a free one).", metavar="PORT")
    ] = DEFAULT_PORT,
    tls_cert_file: Annotated[
        Path | None,
        typer.Option(
            help="The log server's certificate (PEM).", metavar="FILE", show_default=False
        ),
    ] = None,
    tls_private_key_file: Annotated[
        Path | None,
        typer.Option(
            help="The log server's private key (PEM).", metavar="FILE", show_default=False
        ),
    ] = None,
    client_ca_file: Annotated[
        Path | None,
        typer.Option(
            help="CA of the API server's kubelet-client certificate: log requests must "
            "present a certificate it signed.",
            metavar="FILE",
            show_default=False,
        ),
    ] = None,
    allow_anonymous_logs: Annotated[
        bool,
        typer.Option(
            "--allow-anonymous-logs",
            help="Serve logs without client certificates (needed without --client-ca-file).",
        ),
    ] = False,
    log_level: LogLevelOpt = "INFO",
    log_format: LogFormatOpt = "text",
) -> None:
    """Run a node agent: a small kubelet that runs the pods bound to this node as host
    processes (their command, as your user; images are ignored) and serves their logs."""
    start_logging(log_level, log_format)
    settings = NodeSettings(
        work_dir=work_dir or Path(platformdirs.user_state_dir("kontinue")) / "node" / name,
        name=name,
        address=address,
        port=port,
        tls_cert_file=tls_cert_file,
        tls_private_key_file=tls_private_key_file,
        client_ca_file=client_ca_file,
        anonymous_logs=allow_anonymous_logs,
    )
    try:
        _run(_serve(kubeconfig, settings))
    except (NodeSetupError, KubeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_CANNOT_START) from None


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on uvloop (asyncio's own loop where uvloop is missing)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is installed everywhere we support
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


async def _serve(kubeconfig: Path | None, settings: NodeSettings) -> None:
    kube = KubeSettings(
        qps=settings.qps, burst=settings.burst, field_manager="kubelet", timeout=30.0
    )
    async with AsyncKubeClient.from_kubeconfig(kubeconfig, settings=kube) as client:
        agent = NodeAgent(client, settings)
        await agent.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        typer.echo(
            f"node {settings.name} ready: logs served at https://{settings.address}:{agent.port}, "
            f"pods in {settings.work_dir / 'pods'}",
        )
        try:
            await stop.wait()
        finally:
            typer.echo("stopping...")
            await agent.stop()
