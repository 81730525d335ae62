"""Executions: ``execute``, ``get``, ``list``, ``describe``, ``tree``, ``cancel``, ``skip``,
``retry``. One module per command group, as the CLI is laid out; this group has the most
commands (each a thin layer over the client) and the describe rendering."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.live import Live
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from kontinue.api import (
    TERMINAL_PHASES,
    ChildPolicy,
    Execution,
    ExecutionAttempt,
    ExecutionPhase,
    ExecutionRetry,
    ExecutionTimeout,
    ExecutionTTL,
    Function,
    FunctionDefaults,
    Suspension,
    format_duration,
)
from kontinue.api.labels import ANNOTATION_DESCRIPTION, ANNOTATION_DISPLAY_NAME
from kontinue.client import Client, ExecutionTree

from ._arguments import command_line_arguments, parse_args_option, split_pairs
from ._common import (
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    CliError,
    Command,
    ContextOpt,
    DebugOpt,
    KubeconfigOpt,
    NamespaceOpt,
    OutputOpt,
    close_iterator,
    command,
    object_name,
    parse_duration_option,
    parse_json,
)
from ._interactive import prompt_arguments
from ._output import (
    DATA_FORMATS,
    OutputFormat,
    console,
    dump,
    execution_table,
    format_elapsed,
    format_time,
    phase_text,
    print_data,
    print_resources,
    render_tree,
    show,
    suspension_table,
    tree_json,
    value_text,
)

__all__ = [
    "cancel",
    "describe",
    "execute",
    "get",
    "list_executions",
    "retry",
    "skip",
    "tree",
]

JSON = dict[str, Any]
_TERMINAL = {p.value for p in TERMINAL_PHASES}

NameArg = Annotated[str, typer.Argument(help="The execution's name.", show_default=False)]


def _report(run: Command, execution: Execution, what: str) -> None:
    """What a request did: a sentence, the execution (``-o json|yaml``) or its name."""
    if run.output == OutputFormat.TABLE:
        typer.echo(f"execution {execution.metadata.name} {what}")
    else:
        print_resources([execution], run.output, single=True)


# execute ---------------------------------------------------------------------------------------


def _changed(base: Any, changes: dict[str, Any]) -> Any:
    """``base`` (a model) with the given (non-None) fields replaced."""
    return base.model_copy(update={k: v for k, v in changes.items() if v is not None})


def _options(
    defaults: FunctionDefaults,
    retries: int | None,
    backoff: timedelta | None,
    attempt: timedelta | None,
    overall: timedelta | None,
    archive: timedelta | None,
    delete: timedelta | None,
) -> tuple[ExecutionRetry | None, ExecutionTimeout | None, ExecutionTTL | None]:
    """Retry, timeout and TTL from the options given, the rest from the function's defaults."""
    retry = timeout = ttl = None
    if retries is not None or backoff is not None:
        retry = _changed(
            defaults.retry or ExecutionRetry(), {"retries": retries, "backoff": backoff}
        )
    if attempt is not None or overall is not None:
        timeout = _changed(
            defaults.timeout or ExecutionTimeout(), {"attempt": attempt, "overall": overall}
        )
    if archive is not None or delete is not None:
        ttl = _changed(
            defaults.ttl or ExecutionTTL(), {"archive_after": archive, "delete_after": delete}
        )
    return retry, timeout, ttl


def _print_result(execution: Execution) -> None:
    result: Any = Client.parse_result(execution)  # ExecutionFailed (exit 4) if it failed
    if execution.status.phase == ExecutionPhase.SKIPPED:
        why = execution.status.message or "skipped"
        typer.echo(f"execution {execution.metadata.name} was skipped: {why}", err=True)
    typer.echo(result if isinstance(result, str) else json.dumps(result, indent=2))


def execute(
    ctx: typer.Context,
    function: Annotated[
        str,
        typer.Argument(help="The function to run (see: kontinue functions).", metavar="FUNCTION"),
    ],
    args: Annotated[
        str | None,
        typer.Option(
            "--args", help="The arguments as a JSON object.", metavar="JSON", show_default=False
        ),
    ] = None,
    arg: Annotated[
        list[str] | None,
        typer.Option(
            "--arg",
            help="One argument as KEY=VALUE (VALUE is read as JSON when it is JSON, else as a "
            "string); repeatable, applied after --args.",
            metavar="KEY=VALUE",
            show_default=False,
        ),
    ] = None,
    interactive: Annotated[
        bool,
        typer.Option(
            "--interactive",
            "-i",
            help="Ask for every argument not given (descriptions, defaults and choices from "
            "the function's schema).",
        ),
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            "-w",
            help="Wait for the end and print the result; exit 4 if it failed or was canceled.",
        ),
    ] = False,
    wait_timeout: Annotated[
        str | None,
        typer.Option(
            help="With --wait: stop waiting after this long (exit 5; the execution goes on).",
            metavar="DURATION",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            help="Name of the Execution (default: FUNCTION-<random>).",
            metavar="NAME",
            show_default=False,
        ),
    ] = None,
    retries: Annotated[
        int | None,
        typer.Option(
            min=0, help="Retries after a failed attempt.", metavar="N", show_default=False
        ),
    ] = None,
    backoff: Annotated[
        str | None,
        typer.Option(
            help="Wait between attempts, e.g. 30s.", metavar="DURATION", show_default=False
        ),
    ] = None,
    timeout_attempt: Annotated[
        str | None,
        typer.Option(
            help="Time limit of each attempt, e.g. 5m.", metavar="DURATION", show_default=False
        ),
    ] = None,
    timeout_overall: Annotated[
        str | None,
        typer.Option(
            help="Time limit of the whole execution, e.g. 2h.",
            metavar="DURATION",
            show_default=False,
        ),
    ] = None,
    mutex: Annotated[
        str | None,
        typer.Option(
            help="Hold this named mutex while running.", metavar="NAME", show_default=False
        ),
    ] = None,
    display_name: Annotated[
        str | None,
        typer.Option(
            help="A human-friendly name, shown by describe and the web UI.",
            metavar="TEXT",
            show_default=False,
        ),
    ] = None,
    description: Annotated[
        str | None,
        typer.Option(
            help="What this execution is for, shown by describe and the web UI.",
            metavar="TEXT",
            show_default=False,
        ),
    ] = None,
    ttl_archive: Annotated[
        str | None,
        typer.Option(
            help="Archive the tree this long after the end, e.g. 1d.",
            metavar="DURATION",
            show_default=False,
        ),
    ] = None,
    ttl_delete: Annotated[
        str | None,
        typer.Option(
            help="Delete it this long after the end, e.g. 7d.",
            metavar="DURATION",
            show_default=False,
        ),
    ] = None,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output: OutputOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Start an execution of a function; with --wait, print its result.

    Arguments get the function's defaults and are checked against its schema first.
    """
    with command(ctx, namespace, context, kubeconfig, debug, output) as run:
        given = parse_args_option(args)
        pairs = split_pairs(arg or [])
        backoff_d = parse_duration_option(backoff, "--backoff")
        attempt_d = parse_duration_option(timeout_attempt, "--timeout-attempt")
        overall_d = parse_duration_option(timeout_overall, "--timeout-overall")
        archive_d = parse_duration_option(ttl_archive, "--ttl-archive")
        delete_d = parse_duration_option(ttl_delete, "--ttl-delete")
        limit = parse_duration_option(wait_timeout, "--wait-timeout")
        if limit is not None and not wait:
            raise CliError("--wait-timeout needs --wait")
        client = run.client
        needs_function = interactive or any(
            v is not None for v in (retries, backoff_d, attempt_d, overall_d, archive_d, delete_d)
        )
        published: Function | None = (
            client.function(function) if needs_function or given or pairs else None
        )
        if published is not None:
            given = command_line_arguments(given, pairs, published.spec.arguments, function)
        if published is not None and interactive:
            given = prompt_arguments(published.spec.arguments, given, console(stderr=True))
        defaults = (published.spec.defaults if published else None) or FunctionDefaults()
        retry, timeout, ttl = _options(
            defaults, retries, backoff_d, attempt_d, overall_d, archive_d, delete_d
        )
        execution = client.spawn(
            published or function,
            given,
            name=name,
            retry=retry,
            timeout=timeout,
            ttl=ttl,
            mutex=mutex,
            display_name=display_name,
            description=description,
        )
        created = execution.metadata.name or ""
        waiting = client.why_pending(created)
        if waiting is not None:
            typer.echo(f"note: {waiting}; until then it stays Pending", err=True)
        if not wait:
            _report(run, execution, "created")
            return
        if run.output == OutputFormat.TABLE:
            typer.echo(f"execution {created} created, waiting for it to end...", err=True)
        try:
            done = client.wait(created, timeout=limit.total_seconds() if limit else None)
        except KeyboardInterrupt:
            typer.echo(f"\nstopped waiting; execution {created} goes on", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        if run.output == OutputFormat.TABLE:
            _print_result(done)
            return
        print_resources([done], run.output, single=True)
        Client.parse_result(done)  # exit 4 when it failed or was canceled


# get / list ------------------------------------------------------------------------------------


def get(
    ctx: typer.Context,
    name: NameArg,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output: OutputOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Show one execution (live or archived)."""
    with command(ctx, namespace, context, kubeconfig, debug, output) as run:
        execution = run.client.get(object_name(name))
        if run.output == OutputFormat.TABLE:
            show(execution_table([execution]))
        else:
            print_resources([execution], run.output, single=True)


def list_executions(
    ctx: typer.Context,
    function: Annotated[
        str | None,
        typer.Option(
            "--function", "-f", help="Only executions of this function.", metavar="FUNCTION"
        ),
    ] = None,
    phase: Annotated[
        list[ExecutionPhase] | None,
        typer.Option(
            "--phase",
            "-p",
            case_sensitive=False,
            help=f"Only executions in this phase ({', '.join(ExecutionPhase)}); repeatable.",
            metavar="PHASE",
            show_default=False,
        ),
    ] = None,
    root: Annotated[
        str | None,
        typer.Option(
            help="Only the tree of this root execution.", metavar="NAME", show_default=False
        ),
    ] = None,
    schedule: Annotated[
        str | None,
        typer.Option(
            help="Only executions started by this schedule.", metavar="NAME", show_default=False
        ),
    ] = None,
    worker_group: Annotated[
        str | None,
        typer.Option(
            help="Only executions of this worker group.", metavar="GROUP", show_default=False
        ),
    ] = None,
    selector: Annotated[
        str | None,
        typer.Option(
            "--selector",
            "-l",
            help="Label selector, e.g. team=ops.",
            metavar="SELECTOR",
            show_default=False,
        ),
    ] = None,
    only_root: Annotated[
        bool,
        typer.Option(
            "--only-root/--all-roots",
            help="--only-root lists root executions only (not the children they started); "
            "--all-roots lists children too.",
        ),
    ] = False,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output: OutputOpt = None,
    debug: DebugOpt = False,
) -> None:
    """List executions (archived ones included), oldest first."""
    with command(ctx, namespace, context, kubeconfig, debug, output) as run:
        found = run.client.list(
            function=function,
            phases=phase,
            root=root,
            schedule=schedule,
            worker_group=worker_group,
            label_selector=selector,
            only_root=only_root,
        )
        if run.output != OutputFormat.TABLE:
            print_resources(found, run.output)
        elif not found:
            typer.echo(f"No executions found in namespace {run.namespace}.", err=True)
        else:
            show(execution_table(found))


# describe --------------------------------------------------------------------------------------


def _grid() -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    return grid


def _json_block(value: Any) -> str:
    return escape(json.dumps(value, indent=2, ensure_ascii=False))


def _span(value: timedelta | None) -> str:
    return format_duration(value) if value is not None else "-"


def _spec_rows(grid: Table, execution: Execution) -> None:
    spec = execution.spec
    if spec.parent is not None:
        grid.add_row("Parent:", f"{spec.parent.name} (step {spec.parent.step})")
    grid.add_row("Arguments:", _json_block(spec.arguments))
    if spec.retry is not None:
        grid.add_row(
            "Retry:",
            f"{spec.retry.retries} retries, backoff {_span(spec.retry.backoff)}, "
            f"children {spec.retry.child_policy.value}",
        )
    if spec.timeout is not None:
        grid.add_row(
            "Timeout:",
            f"attempt {_span(spec.timeout.attempt)}, overall {_span(spec.timeout.overall)}",
        )
    if spec.ttl is not None:
        grid.add_row(
            "TTL:",
            f"archive after {_span(spec.ttl.archive_after)}, "
            f"delete after {_span(spec.ttl.delete_after)}",
        )
    if spec.mutex is not None:
        grid.add_row("Mutex:", spec.mutex.name)
    if spec.cancel is not None:
        grid.add_row("Cancel:", f"requested: {spec.cancel.reason or '-'}")
    if spec.skip is not None:
        grid.add_row(
            "Skip:", f"requested with {value_text(spec.skip.result)}: {spec.skip.reason or '-'}"
        )
    if spec.rerun is not None:
        grid.add_row(
            "Rerun:",
            f"{spec.rerun.count} requested ({spec.rerun.child_policy.value}), "
            f"{execution.status.reruns} handled",
        )


def _status_rows(grid: Table, execution: Execution, waiting: str | None) -> None:
    status = execution.status
    grid.add_row("Phase:", phase_text(status.phase.value))
    if status.message:
        grid.add_row("Message:", escape(status.message))
    if status.continued_as:
        grid.add_row("Continued as:", status.continued_as)
    if waiting:
        grid.add_row("Waiting:", escape(waiting))
    grid.add_row(
        "Attempt:",
        f"{status.attempt} (replayed {status.resumptions} times, {status.reruns} reruns)",
    )
    grid.add_row("Started:", format_time(status.started_at))
    grid.add_row("Finished:", format_time(status.finished_at))
    grid.add_row("Duration:", format_elapsed(status.started_at, status.finished_at))
    if status.next_attempt_at is not None:
        grid.add_row("Next attempt:", format_time(status.next_attempt_at))
    if status.phase in (ExecutionPhase.COMPLETED, ExecutionPhase.SKIPPED):
        grid.add_row("Result:", _json_block(status.result))
    if status.error is not None:
        error = status.error
        retryable = "retryable" if error.retryable else "not retryable"
        grid.add_row("Error:", f"{error.kind.value} ({retryable}): {escape(error.message)}")
        if error.type:
            grid.add_row("Raised:", escape(error.type))


def _section(title: str, body: RenderableType | None) -> list[RenderableType]:
    if body is None:
        return [Text(f"{title}: none", style="bold")]
    return [Text(f"{title}:", style="bold"), body]


def every_attempt(execution: Execution) -> list[ExecutionAttempt]:
    """The attempts so far: those recorded (previous attempts), then the current one once it
    started, unless it is recorded already (in Backoff, the attempt that just failed is)."""
    status = execution.status
    attempts = list(status.attempts)
    if status.attempt >= 1 and all(a.attempt != status.attempt for a in attempts):
        failed = status.phase in (ExecutionPhase.FAILED, ExecutionPhase.CANCELED)
        current = ExecutionAttempt(
            attempt=status.attempt,
            phase=status.phase,
            error=status.error if failed else None,
            started_at=status.attempt_started_at or status.started_at,
            finished_at=status.finished_at,
        )
        attempts.append(current)
    return attempts


def _attempts_table(execution: Execution) -> Table | None:
    attempts = every_attempt(execution)
    if not attempts:
        return None
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("#", "PHASE", "STARTED", "DURATION", "ERROR"):
        table.add_column(column)
    for attempt in attempts:
        table.add_row(
            str(attempt.attempt),
            phase_text(attempt.phase.value),
            format_time(attempt.started_at),
            format_elapsed(attempt.started_at, attempt.finished_at),
            escape(attempt.error.message) if attempt.error else "",
        )
    return table


def _steps_table(execution: Execution) -> Table | None:
    if not execution.status.steps:
        return None
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("STEP", "KIND", "NAME", "CHILD", "STATE", "VALUE"):
        table.add_column(column, overflow="fold")
    for step_id, step in execution.status.steps.items():
        outcome = step.error.message if step.error else value_text(step.value, 80)
        if step.state.value == "Pending":
            outcome = ""
        table.add_row(
            step_id,
            step.kind.value,
            step.name or "",
            step.child or "",
            phase_text(step.state.value),
            escape(outcome),
        )
    return table


def _conditions_table(execution: Execution) -> Table | None:
    if not execution.status.conditions:
        return None
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("TYPE", "STATUS", "REASON", "MESSAGE", "CHANGED"):
        table.add_column(column, overflow="fold")
    for condition in execution.status.conditions:
        table.add_row(
            condition.type,
            condition.status.value,
            condition.reason or "",
            escape(condition.message or ""),
            format_time(condition.last_transition_time),
        )
    return table


def describe_execution(
    execution: Execution, suspensions: list[Suspension], waiting: str | None = None
) -> list[RenderableType]:
    """Everything about an execution: spec, status (and why it waits when no worker has
    started it), attempts (the current one included), steps, conditions, suspensions."""
    meta = execution.metadata
    head = _grid()
    head.add_row("Name:", meta.name or "")
    head.add_row("Namespace:", meta.namespace or "")
    head.add_row("Function:", execution.spec.function)
    notes = meta.annotations or {}
    shown = ((ANNOTATION_DISPLAY_NAME, "Display name:"), (ANNOTATION_DESCRIPTION, "Description:"))
    for key, title in shown:
        if notes.get(key):
            head.add_row(title, escape(notes[key]))
    origin = execution.spec.continued_from
    if origin is not None:
        head.add_row("Continues:", f"{origin.name} (run {origin.run} of {origin.lineage})")
    head.add_row("Labels:", ", ".join(f"{k}={v}" for k, v in sorted(meta.labels.items())) or "-")
    head.add_row("Created:", format_time(meta.creation_timestamp))
    _spec_rows(head, execution)
    status = _grid()
    _status_rows(status, execution, waiting)
    parts: list[RenderableType] = [
        head,
        Text(),
        Text("Status:", style="bold"),
        Padding(status, (0, 0, 0, 2)),
        Text(),
    ]
    parts += _section("Attempts", _attempts_table(execution))
    parts += [Text(), *_section("Steps", _steps_table(execution))]
    parts += [Text(), *_section("Conditions", _conditions_table(execution))]
    parts += [
        Text(),
        *_section("Suspensions", suspension_table(suspensions) if suspensions else None),
    ]
    error = execution.status.error
    if error is not None and error.traceback:
        parts += [Text(), Text("Traceback:", style="bold"), Text(error.traceback)]
    return parts


def describe_data(execution: Execution, suspensions: list[Suspension]) -> JSON:
    """What ``describe -o json|yaml`` prints: the Execution (its status holds the attempts,
    steps and conditions) and its Suspensions, as the API server stores them."""
    return {"execution": dump(execution), "suspensions": [dump(s) for s in suspensions]}


def describe(
    ctx: typer.Context,
    name: NameArg,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output: OutputOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Show an execution in detail: spec, status, attempts, steps, conditions, suspensions.

    With -o json or yaml: an object with the execution and the list of its suspensions.
    """
    with command(ctx, namespace, context, kubeconfig, debug, output, formats=DATA_FORMATS) as run:
        execution = run.client.get(object_name(name))
        suspensions = run.client.suspensions(execution)
        if run.output == OutputFormat.TABLE:
            show(*describe_execution(execution, suspensions, run.client.why_pending(execution)))
        else:
            print_data(describe_data(execution, suspensions), run.output)


# tree ------------------------------------------------------------------------------------------

_WATCHING = "watching; Ctrl-C to stop"


@dataclass
class _Watched:
    """What the live view shows: the latest tree and a line under it."""

    tree: ExecutionTree
    footer: str | None = _WATCHING

    def render(self) -> RenderableType:
        return render_tree(self.tree, self.footer)


def _watch_tree(client: Client, name: str, current: ExecutionTree) -> None:
    """Redraw the tree on every change (and twice a second, so durations run) until the root
    ends, is deleted (exit 3) or Ctrl-C."""
    if current.root.phase in _TERMINAL:
        show(render_tree(current))
        return
    from kontinue.kube import NotFound

    watched = _Watched(current)
    updates = client.watch_tree(name)
    live = Live(get_renderable=watched.render, console=console(), refresh_per_second=2)
    try:
        with live:
            for update in updates:
                if isinstance(update.error, NotFound):
                    watched.footer = None
                    raise CliError(f"execution {name} was deleted", EXIT_NOT_FOUND)
                if update.error is not None:
                    watched.footer = f"watch error (retrying): {update.error}"
                elif update.tree is not None:
                    watched.tree = update.tree
                    done = update.tree.root.phase in _TERMINAL
                    watched.footer = None if done else _WATCHING
                    if done:
                        break
                live.refresh()
    except KeyboardInterrupt:
        pass
    finally:
        close_iterator(updates)


def tree(
    ctx: typer.Context,
    name: NameArg,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch", "-w", help="Keep the tree up to date until the execution ends (or Ctrl-C)."
        ),
    ] = False,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output: OutputOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Show an execution with its attempts, children, suspensions and Jobs."""
    with command(ctx, namespace, context, kubeconfig, debug, output, formats=DATA_FORMATS) as run:
        if watch and run.output != OutputFormat.TABLE:
            raise CliError("--watch draws a live tree: it takes no -o")
        current = run.client.get_tree(object_name(name))
        if watch:
            _watch_tree(run.client, object_name(name), current)
        elif run.output == OutputFormat.TABLE:
            show(render_tree(current))
        else:
            print_data(tree_json(current), run.output)


# cancel / skip / retry -------------------------------------------------------------------------


def cancel(
    ctx: typer.Context,
    name: NameArg,
    message: Annotated[
        str | None,
        typer.Option(
            "--message", "-m", help="Why (becomes the execution's message).", metavar="TEXT"
        ),
    ] = None,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output: OutputOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Cancel a running execution (with its children, suspensions and Jobs)."""
    with command(ctx, namespace, context, kubeconfig, debug, output) as run:
        execution = run.client.cancel(object_name(name), message=message)
        _report(run, execution, _requested(execution, "cancel"))


def _requested(execution: Execution, what: str) -> str:
    """A request's outcome: carried out at once when no worker had started the execution."""
    if execution.is_terminal:
        return f"{execution.status.phase.value.lower()} (no worker had started it)"
    return f"{what} requested"


def skip(
    ctx: typer.Context,
    name: NameArg,
    result: Annotated[
        str | None,
        typer.Option(
            help="The result (JSON) its parent receives.", metavar="JSON", show_default=False
        ),
    ] = None,
    message: Annotated[
        str | None,
        typer.Option(
            "--message", "-m", help="Why (becomes the execution's message).", metavar="TEXT"
        ),
    ] = None,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output: OutputOpt = None,
    debug: DebugOpt = False,
) -> None:
    """End a running execution as Skipped, handing a result to its parent."""
    with command(ctx, namespace, context, kubeconfig, debug, output) as run:
        value = parse_json(result, "--result") if result is not None else None
        execution = run.client.skip(object_name(name), result=value, message=message)
        _report(run, execution, _requested(execution, "skip"))


def retry(
    ctx: typer.Context,
    name: NameArg,
    child_policy: Annotated[
        ChildPolicy,
        typer.Option(
            case_sensitive=False,
            help="Which children run again: None (keep their results), RetryFailed (failed or "
            "canceled executions and failed Jobs), RetryAll.",
            metavar="POLICY",
        ),
    ] = ChildPolicy.NONE,
    namespace: NamespaceOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    output: OutputOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Run a Failed or Canceled execution again (a new attempt)."""
    with command(ctx, namespace, context, kubeconfig, debug, output) as run:
        execution = run.client.retry(object_name(name), child_policy=child_policy)
        _report(run, execution, f"retry requested (children: {child_policy.value})")
