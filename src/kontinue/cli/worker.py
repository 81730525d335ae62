"""``kontinue worker MODULE:OBJECT``: run a worker against the current kubeconfig.

It ends with one ``error: ...`` line (``--debug`` adds the traceback) and an exit code:
:data:`EXIT_BAD_TARGET` for a target or option it cannot use, :data:`EXIT_UNREACHABLE` when
there is no API server to work with (no kubeconfig, or its server does not answer), and the
CLI's codes for what the API server refuses (missing CRDs, RBAC).
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from kontinue.kube import KubeError
from kontinue.worker import MetricsUnavailable, Worker

from ._common import (
    EXIT_UNREACHABLE,
    describe_error,
    error_exit,
    kubeconfig_hint,
    unreachable_message,
)
from ._logging import LogFormatOpt, LogLevelOpt, announce, start_logging
from ._running import run_loop, run_workers

EXIT_BAD_TARGET = 2
_GROUP = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")

__all__ = ["EXIT_BAD_TARGET", "EXIT_UNREACHABLE", "load_worker", "worker"]


def load_worker(target: str) -> Worker:
    """The :class:`Worker` named by ``module:attribute`` (the current directory is importable,
    like ``python -m``). Raises ``typer.BadParameter`` with what went wrong."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise typer.BadParameter(f"{target!r} is not MODULE:OBJECT, e.g. examples.hello:worker")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise typer.BadParameter(f"cannot import {module_name!r}: {error}") from None
    found: Any = module
    for part in attribute.split("."):
        found = getattr(found, part, None)
        if found is None:
            raise typer.BadParameter(f"module {module_name!r} has no attribute {attribute!r}")
    if not isinstance(found, Worker):
        raise typer.BadParameter(f"{target} is a {type(found).__name__}, not a kontinue.Worker")
    return found


def _startup_error(
    error: KubeError, servers: list[str], kubeconfig: Path | None
) -> tuple[int, str]:
    """The exit code and the one line for what stopped the worker talking to the API."""
    from kontinue.kube import ConnectionFailed

    if isinstance(error, ConnectionFailed) and not servers:  # the kubeconfig did not load
        return EXIT_UNREACHABLE, (
            f"{error} (check --kubeconfig, $KUBECONFIG or ~/.kube/config)"
            f"{kubeconfig_hint(kubeconfig)}"
        )
    if isinstance(error, ConnectionFailed):
        return EXIT_UNREACHABLE, unreachable_message(error, servers[0])
    return describe_error(error, servers[0] if servers else None)


DEFAULT_METRICS_ADDRESS = "127.0.0.1:9090"
"""Where ``kontinue worker`` serves its metrics unless told otherwise."""


def _metrics_address(given: str) -> str | None:
    """The address to serve metrics on (None: off); a malformed one is an error (exit 2)."""
    if given.lower() in ("off", "none", ""):
        return None
    _host, sep, port = given.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        typer.echo(
            f"error: --metrics-address must be HOST:PORT (e.g. {DEFAULT_METRICS_ADDRESS}) or "
            f"off, not {given!r}",
            err=True,
        )
        raise typer.Exit(EXIT_BAD_TARGET)
    return given


def worker(
    target: Annotated[
        str, typer.Argument(help="The worker object, as MODULE:OBJECT.", metavar="MODULE:OBJECT")
    ],
    kubeconfig: Annotated[
        Path | None,
        typer.Option(
            help="Kubeconfig file (default: $KUBECONFIG or ~/.kube/config).", metavar="FILE"
        ),
    ] = None,
    context: Annotated[
        str | None, typer.Option(help="Kubeconfig context to use.", metavar="CONTEXT")
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            "-n",
            help="Namespace (default: the worker's, or the context's).",
            metavar="NAMESPACE",
        ),
    ] = None,
    group: Annotated[
        str | None,
        typer.Option(
            help="Run as this worker group instead of the Worker's own (its Functions, Lease "
            "and executions are the group's).",
            metavar="GROUP",
            show_default=False,
        ),
    ] = None,
    sharding: Annotated[
        bool,
        typer.Option(
            "--sharding",
            help="Replicas of the group share its executions (each holds a shard Lease) "
            "instead of one leader running them all.",
        ),
    ] = False,
    metrics_address: Annotated[
        str,
        typer.Option(
            help="Serve Prometheus metrics and the probes /healthz and /readyz on HOST:PORT "
            "(0.0.0.0:PORT for a scraper or a kubelet in the cluster); off to turn them off.",
            metavar="HOST:PORT",
        ),
    ] = DEFAULT_METRICS_ADDRESS,
    log_level: LogLevelOpt = "INFO",
    log_format: LogFormatOpt = "text",
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an error that ends it.")
    ] = False,
) -> None:
    """Run the functions of a worker: publish them and execute their Executions."""
    start_logging(log_level, log_format)
    try:
        found = load_worker(target)
    except typer.BadParameter as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_BAD_TARGET) from None
    if namespace:
        found.namespace = namespace
    if group:
        if not _GROUP.fullmatch(group):
            error_exit(
                f"--group {group!r} is not a worker group name: lower-case letters, digits and "
                "'-', at most 63 characters",
                EXIT_BAD_TARGET,
            )
        found.group = group
    if sharding:
        found.settings = replace(found.settings, sharding=True)
    address = _metrics_address(metrics_address)
    if address is not None:
        # the default address may be another worker's on this machine: then only a warning
        optional = metrics_address == DEFAULT_METRICS_ADDRESS
        found.settings = replace(found.settings, metrics_address=address, metrics_optional=optional)

    from kontinue.kube import AsyncKubeClient

    servers: list[str] = []

    def make_client(w: Worker) -> AsyncKubeClient:
        client = AsyncKubeClient.from_kubeconfig(
            kubeconfig, context=context, namespace=w.namespace, settings=w.settings.kube
        )
        servers.append(client.connection.server)
        return client

    announce(
        f"worker group {found.group!r}: {', '.join(sorted(found.functions)) or 'no functions'}"
    )
    try:
        run_loop(run_workers([found], make_client))
    except MetricsUnavailable as error:
        error_exit(str(error), EXIT_BAD_TARGET)
    except KubeError as error:
        code, message = _startup_error(error, servers, kubeconfig)
        if log_format == "json":  # the last record, with its traceback under --debug
            logging.getLogger("kontinue.cli").error(message, exc_info=error if debug else None)
            raise typer.Exit(code) from None
        if debug:
            traceback.print_exc()
        error_exit(message, code)
