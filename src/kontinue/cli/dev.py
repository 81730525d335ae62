"""``kontinue dev``: the embedded Kubernetes API server in the foreground."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kontinue.devserver import (
    DEFAULT_PORT,
    DevServer,
    DevServerError,
    DevServerSettings,
    DevServerThread,
    default_data_dir,
)
from kontinue.installing import install_crds_async
from kontinue.kube import AsyncKubeClient
from kontinue.worker import Worker

from ._hints import try_this

if TYPE_CHECKING:
    from kontinue.ui import UiServer
from ._running import new_loop, run_loop, run_workers, stop_on_signals

EXIT_CANNOT_START = 3
EXIT_WORKER_STOPPED = 1
"""A worker of `--worker` stopped by itself (its error is printed): the server stops too."""


def dev(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Directory for the database, token and kubeconfig.",
            metavar="DIR",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int, typer.Option(help="TCP port (0 picks a free one).", metavar="PORT")
    ] = DEFAULT_PORT,
    host: Annotated[
        str,
        typer.Option(
            help="Address to bind; loopback unless you mean to share it.", metavar="ADDRESS"
        ),
    ] = "127.0.0.1",
    kubeconfig: Annotated[
        Path | None,
        typer.Option(help="Where to write the kubeconfig.", metavar="FILE", show_default=False),
    ] = None,
    in_memory: Annotated[
        bool, typer.Option("--in-memory", help="Keep nothing on disk; state is lost on exit.")
    ] = False,
    run_pods: Annotated[
        bool,
        typer.Option(
            "--run-pods/--no-run-pods",
            help="Run pods as host processes (as you); --no-run-pods keeps them as data only.",
        ),
    ] = True,
    run_jobs: Annotated[
        bool,
        typer.Option(
            "--run-jobs/--no-run-jobs",
            help="Run the Job controller (it creates the pods of Jobs).",
        ),
    ] = True,
    history_mib: Annotated[
        int,
        typer.Option(
            min=1,
            help="MiB of recent changes kept for resuming watches; older ones are compacted.",
            metavar="MIB",
        ),
    ] = DevServerSettings.history_bytes >> 20,
    ui_port: Annotated[
        int,
        typer.Option(
            help="Port of the web UI (0 picks a free one, -1 runs no UI).", metavar="PORT"
        ),
    ] = 8080,
    workers: Annotated[
        list[str] | None,
        typer.Option(
            "--worker",
            help="Also run this worker, as MODULE:OBJECT (e.g. hello:worker for the worker "
            "in hello.py); repeatable.",
            metavar="MODULE:OBJECT",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run a local Kubernetes API server (no cluster needed) until Ctrl-C.

    The kontinue CRDs are installed at start, and ``--worker`` runs workers against it.

    Pods run as host processes on this machine, as the user running this server.

    Whoever holds the kubeconfig's token can therefore run commands as you.

    Pod Security "baseline" is enforced unless a namespace's label says otherwise.

    --no-run-pods keeps pods as data; a --host that is not loopback is refused while pods run.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from .worker import load_worker

    try:
        loaded = [load_worker(target) for target in workers or []]
    except typer.BadParameter as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    settings = DevServerSettings(
        host=host,
        port=port,
        data_dir=None if in_memory else (data_dir or default_data_dir()),
        kubeconfig=kubeconfig,
        run_pods=run_pods,
        run_jobs=run_jobs,
        history_bytes=history_mib << 20,
    )
    try:
        run_loop(_serve(settings, loaded, ui_port))
    except DevServerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_CANNOT_START) from None
    except Exception as exc:  # a worker stopped: the server stopped with it
        typer.echo(f"error: {exc} (the dev server stopped with it)", err=True)
        raise typer.Exit(EXIT_WORKER_STOPPED) from None


async def _serve(settings: DevServerSettings, workers: list[Worker], ui_port: int = -1) -> None:
    """Serve until SIGINT/SIGTERM; workers run on this loop, the server on its own loop in a
    thread of its own, so a workflow that blocks its loop cannot stall the API server."""
    stop = stop_on_signals()  # from the start: a SIGTERM while starting still stops cleanly
    thread = DevServerThread(settings, loop=new_loop())
    await asyncio.to_thread(thread.start)
    try:
        await _serve_started(thread.server, settings, workers, stop, ui_port)
    finally:
        await asyncio.to_thread(thread.stop)


async def _serve_started(
    server: DevServer,
    settings: DevServerSettings,
    workers: list[Worker],
    stop: asyncio.Event,
    ui_port: int = -1,
) -> None:
    kubeconfig = server.kubeconfig_path
    assert kubeconfig is not None  # written by start()
    async with AsyncKubeClient.from_kubeconfig(kubeconfig) as admin:
        await install_crds_async(admin)
    where = "in memory" if settings.data_dir is None else f"data in {settings.data_dir}"
    typer.echo(
        f"kontinue dev server ready at {server.url} ({where})",
    )
    typer.echo(f"kubeconfig: {server.kubeconfig_path}")
    typer.echo(f"  export KUBECONFIG={server.kubeconfig_path}")
    for w in workers:
        names = ", ".join(sorted(w.functions)) or "no functions"
        typer.echo(f"worker group {w.group!r} running: {names}")
    for line in try_this(workers):
        typer.echo(line)
    ui = await _start_ui(kubeconfig, ui_port)
    if ui is not None:
        typer.echo(f"web UI: {ui.url}")
    typer.echo("Press Ctrl-C to stop.")

    def make_client(worker: Worker) -> AsyncKubeClient:
        return AsyncKubeClient.from_kubeconfig(
            kubeconfig, namespace=worker.namespace, settings=worker.settings.kube
        )

    try:
        await run_workers(workers, make_client, stop)
    finally:
        typer.echo("stopping...")
        if ui is not None:
            await ui.stop()


async def _start_ui(kubeconfig: Path, port: int) -> UiServer | None:
    """The web UI over this server, as its admin (on a free port when ``port`` is taken);
    None for a negative port."""
    if port < 0:
        return None
    from kontinue.ui import UiError, UiServer, UiSettings

    for chosen in (port, 0) if port else (0,):
        ui = UiServer(UiSettings(port=chosen, kubeconfig=str(kubeconfig)))
        try:
            await ui.start()
        except UiError:
            if chosen == 0:
                raise
            continue
        return ui
    return None
