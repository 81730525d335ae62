"""What every cluster command shares: global options, the client, input parsing, errors.

Global options (``-n``, ``--context``, ``--kubeconfig``, ``-o``, ``--debug``) are accepted both
before the command (``kontinue -n prod list``, as ``kubectl kontinue -n prod list`` passes them)
and after it (``kontinue list -n prod``); a value after the command wins.

Errors end a command with one line on stderr, ``error: ...``, and an exit code that says what
kind of problem it was (:data:`EXIT_INVALID` and the others come from
:mod:`kontinue.client.errors`); ``--debug`` adds the traceback.
"""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from kontinue.api import parse_duration
from kontinue.client import Client, ClientError
from kontinue.client.errors import (
    EXIT_FAILED,
    EXIT_FORBIDDEN,
    EXIT_INVALID,
    EXIT_NOT_FOUND,
    EXIT_TIMEOUT,
)
from kontinue.errors import KontinueError

from ._output import ALL_FORMATS, OutputFormat

__all__ = [
    "EXIT_FAILED",
    "EXIT_FORBIDDEN",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_NOT_FOUND",
    "EXIT_TIMEOUT",
    "EXIT_UNREACHABLE",
    "CliError",
    "Command",
    "ContextOpt",
    "DebugOpt",
    "GlobalOptions",
    "KubeconfigOpt",
    "NamespaceOpt",
    "OutputOpt",
    "close_iterator",
    "command",
    "describe_error",
    "error_exit",
    "kubeconfig_hint",
    "object_name",
    "parse_duration_option",
    "parse_json",
    "reported_errors",
    "store_global_options",
    "unreachable_message",
]

EXIT_INTERRUPTED = 130
"""Exit code after Ctrl-C, as shells report SIGINT."""
EXIT_UNREACHABLE = 7
"""Exit code when there is no API server to talk to: the kubeconfig could not be loaded, or
its server could not be reached."""

_PANEL = "Global options"

NamespaceOpt = Annotated[
    str | None,
    typer.Option(
        "--namespace",
        "-n",
        help="Namespace (default: the kubeconfig context's).",
        metavar="NAMESPACE",
        show_default=False,
        rich_help_panel=_PANEL,
    ),
]
ContextOpt = Annotated[
    str | None,
    typer.Option(
        "--context",
        help="Kubeconfig context to use.",
        metavar="CONTEXT",
        show_default=False,
        rich_help_panel=_PANEL,
    ),
]
KubeconfigOpt = Annotated[
    str | None,
    typer.Option(
        "--kubeconfig",
        help="Kubeconfig file (default: $KUBECONFIG or ~/.kube/config).",
        metavar="FILE",
        show_default=False,
        rich_help_panel=_PANEL,
    ),
]
OutputOpt = Annotated[
    OutputFormat | None,
    typer.Option(
        "--output",
        "-o",
        help="Output format: table, json, yaml or name.",
        metavar="FORMAT",
        case_sensitive=False,
        show_default=False,
        rich_help_panel=_PANEL,
    ),
]
DebugOpt = Annotated[
    bool,
    typer.Option("--debug", help="Show the traceback of errors.", rich_help_panel=_PANEL),
]


class CliError(KontinueError):
    """A problem with what the user asked for; ends the command with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = EXIT_INVALID) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class GlobalOptions:
    """The global options given so far (before the command, then after it)."""

    namespace: str | None = None
    context: str | None = None
    kubeconfig: str | None = None
    output: OutputFormat | None = None
    debug: bool = False

    def merged(self, later: GlobalOptions) -> GlobalOptions:
        """These options overridden by those given ``later`` (after the command)."""
        return GlobalOptions(
            namespace=later.namespace or self.namespace,
            context=later.context or self.context,
            kubeconfig=later.kubeconfig or self.kubeconfig,
            output=later.output or self.output,
            debug=later.debug or self.debug,
        )


def _given_before(ctx: typer.Context) -> GlobalOptions:
    found = ctx.find_object(GlobalOptions)
    return found if found is not None else GlobalOptions()


def store_global_options(ctx: typer.Context, options: GlobalOptions) -> None:
    """Remember the global options of a group (the app, ``schedules``) for its commands."""
    before = ctx.find_object(GlobalOptions) or GlobalOptions()
    ctx.obj = before.merged(options)


class Command:
    """One run of a cluster command: its options and (made on first use) its client."""

    def __init__(self, options: GlobalOptions, output: OutputFormat) -> None:
        self.options = options
        self.output = output
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        """The kontinue client for the chosen kubeconfig, context and namespace."""
        if self._client is None:
            from kontinue.kube import ConnectionFailed

            try:
                self._client = Client.from_kubeconfig(
                    self.options.kubeconfig,
                    context=self.options.context,
                    namespace=self.options.namespace,
                )
            except ConnectionFailed as error:  # (nothing is sent yet: the kubeconfig failed)
                hint = kubeconfig_hint(self.options.kubeconfig)
                raise CliError(f"{error}{hint}", EXIT_UNREACHABLE) from error
        return self._client

    @property
    def server(self) -> str | None:
        """The API server's URL, once the client is made."""
        return self._client.kube.connection.server if self._client is not None else None

    @property
    def namespace(self) -> str:
        """The namespace the command works in."""
        return self.options.namespace or self.client.namespace

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


@contextmanager
def command(
    ctx: typer.Context,
    namespace: str | None,
    context: str | None,
    kubeconfig: str | None,
    debug: bool,
    output: OutputFormat | None = None,
    *,
    formats: Sequence[OutputFormat] = ALL_FORMATS,
) -> Iterator[Command]:
    """Run a command body: merged global options, a client, errors reported as exit codes."""
    given = GlobalOptions(namespace, context, kubeconfig, output, debug)
    options = _given_before(ctx).merged(given)
    chosen = options.output or formats[0]
    run = Command(options, chosen)
    try:
        with reported_errors(options.debug, lambda: run.server):
            if chosen not in formats:
                listed = ", ".join(f.value for f in formats)
                raise CliError(f"-o {chosen.value} is not available here (use {listed})")
            yield run
    finally:
        run.close()


@contextmanager
def reported_errors(debug: bool, server: Callable[[], str | None] = lambda: None) -> Iterator[None]:
    """Turn exceptions into ``error: ...`` on stderr and the matching exit code (``server``
    tells which API server a connection failure was about)."""
    try:
        yield
    except (typer.Exit, typer.Abort, typer.BadParameter, BrokenPipeError):
        raise  # (a closed stdout ends the whole command line quietly: see kontinue.cli._app)
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as error:
        if debug:
            traceback.print_exc()
        code, message = describe_error(error, server())
        error_exit(message, code)


def error_exit(message: str, code: int) -> NoReturn:
    """Print ``error: message`` (on one line) to stderr and end with ``code``."""
    flat = "; ".join(line.strip() for line in str(message).splitlines() if line.strip())
    typer.echo(f"error: {flat}", err=True)
    raise typer.Exit(code)


def describe_error(error: Exception, server: str | None = None) -> tuple[int, str]:
    """The exit code and the message for an exception (``server``: the API server's URL, for
    a connection that failed)."""
    from kontinue.kube import (
        ApiError,
        BadRequest,
        ConnectionFailed,
        Forbidden,
        Invalid,
        NotFound,
        Unauthorized,
    )

    if isinstance(error, CliError | ClientError):
        return error.exit_code, str(error)
    if isinstance(error, ConnectionFailed):
        return EXIT_UNREACHABLE, unreachable_message(error, server)
    if isinstance(error, Invalid | BadRequest):  # what was asked for cannot be stored or read
        return EXIT_INVALID, error.message
    if isinstance(error, NotFound):
        message = error.message
        if "doesn't have a resource type" in message or "has no kind" in message:
            message += " (are kontinue's CRDs installed? run: kontinue install --apply)"
        return EXIT_NOT_FOUND, message
    if isinstance(error, Forbidden):
        return EXIT_FORBIDDEN, (
            f"{error.message} (ask for the kontinue-user role in this namespace, or "
            "kontinue-viewer to look only; kontinue install --rbac-only --role user shows it)"
        )
    if isinstance(error, Unauthorized):
        return EXIT_FORBIDDEN, f"{error.message} (the kubeconfig's credentials were refused)"
    if isinstance(error, ApiError):
        return 1, f"{error.reason or error.status_code}: {error.message}"
    if isinstance(error, KontinueError):
        return 1, str(error)
    return 1, f"{type(error).__name__}: {error}"


def unreachable_message(error: Exception, server: str | None) -> str:
    """What to say when the API server could not be reached: which one, what failed (the
    network's own words), what to check."""
    cause = error.__cause__ or error
    where = f" at {server}" if server else ""
    return (
        f"cannot reach the Kubernetes API server{where} ({cause}): check that it is running "
        "and that the kubeconfig's context points to it"
    )


def kubeconfig_hint(kubeconfig: str | os.PathLike[str] | None) -> str:
    """For a kubeconfig that failed to load: where ``kontinue dev`` wrote its own, when it did
    and that is not the one that failed (a new shell forgets ``export KUBECONFIG``)."""
    from kontinue.devserver import default_data_dir  # (only on this error path: a slow import)

    written = default_data_dir() / "kubeconfig"
    used = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    if not written.is_file() or Path(used).expanduser().resolve() == written.resolve():
        return ""
    return f" (to use the kontinue dev server: export KUBECONFIG={written})"


def close_iterator(iterator: object) -> None:
    """Close a generator (the watch or stream behind it) if the caller stopped early."""
    close = getattr(iterator, "close", None)
    if callable(close):
        close()


# Input -----------------------------------------------------------------------------------------


def object_name(text: str) -> str:
    """A name as the user typed it, with any ``kind/`` prefix (``executions/x``) removed."""
    return text.rsplit("/", 1)[-1]


def parse_json(text: str, what: str) -> Any:
    """``text`` as JSON; :class:`CliError` (exit 2) naming ``what`` when it is not."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(f"{what} is not valid JSON: {error}") from None


def parse_duration_option(text: str | None, option: str) -> timedelta | None:
    """A duration option (``30s``, ``5m``, ``2h``, ``7d``); :class:`CliError` when invalid."""
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as error:
        raise CliError(f"{option}: {error}") from None
