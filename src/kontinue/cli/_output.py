"""How the commands print: tables, trees and details for people; JSON, YAML and names for
scripts.

``-o json`` and ``-o yaml`` print the resources as the API server stores them (a list as a
``kind: List``, like kubectl); ``-o name`` prints one name per line, ready for the next command
(``kontinue tree $(kontinue execute hello -o name)``). Tables go to a wide console when stdout
is not a terminal, so piped output is not cut at 80 columns.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import typer
import yaml
from pydantic import BaseModel
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from kontinue.api import (
    Execution,
    Function,
    ScheduledExecution,
    Suspension,
    SuspensionPhase,
    ordered_properties,
)
from kontinue.client import ExecutionTree, NodeKind, TreeNode

__all__ = [
    "ALL_FORMATS",
    "DATA_FORMATS",
    "TEXT_ONLY",
    "OutputFormat",
    "console",
    "dump",
    "execution_table",
    "format_age",
    "format_elapsed",
    "function_table",
    "phase_text",
    "print_resources",
    "render_tree",
    "schedule_table",
    "suspension_phase",
    "suspension_table",
    "tree_json",
    "value_text",
]

JSON = dict[str, Any]


class OutputFormat(StrEnum):
    """The ``-o`` formats."""

    TABLE = "table"
    JSON = "json"
    YAML = "yaml"
    NAME = "name"


ALL_FORMATS: tuple[OutputFormat, ...] = tuple(OutputFormat)
DATA_FORMATS: tuple[OutputFormat, ...] = (OutputFormat.TABLE, OutputFormat.JSON, OutputFormat.YAML)
TEXT_ONLY: tuple[OutputFormat, ...] = (OutputFormat.TABLE,)

_WIDE = 250

_PHASE_STYLES = {
    "Completed": "green",
    "Succeeded": "green",
    "Resumed": "green",
    "Elapsed": "green",
    "Failed": "bold red",
    "Canceled": "yellow",
    "Skipped": "yellow",
    "Executing": "cyan",
    "Running": "cyan",
    "Suspended": "magenta",
    "Waiting": "magenta",
    "Backoff": "dark_orange",
    "Pending": "blue",
    "Done": "green",
}


def console(*, stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr), wide when it is not a terminal."""
    made = Console(stderr=stderr, highlight=False)
    if not made.is_terminal and not os.environ.get("COLUMNS"):
        made.width = _WIDE
    return made


def show(*renderables: RenderableType) -> None:
    """Print tables, trees and details on stdout (without the padding rich leaves at the end
    of lines when the output is not a terminal)."""
    out = console()
    if out.is_terminal:
        for renderable in renderables:
            out.print(renderable)
        return
    with out.capture() as captured:
        for renderable in renderables:
            out.print(renderable)
    typer.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


# Data formats ----------------------------------------------------------------------------------


def dump(obj: BaseModel | JSON) -> JSON:
    """A resource as the API server stores it (camelCase, no nulls)."""
    if isinstance(obj, BaseModel):
        dumped: JSON = obj.model_dump(mode="json", by_alias=True, exclude_none=True)
        return dumped
    return obj


def _data_text(data: Any, output: OutputFormat) -> str:
    if output == OutputFormat.JSON:
        return json.dumps(data, indent=2, ensure_ascii=False)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip("\n")


def print_data(data: Any, output: OutputFormat) -> None:
    """Print plain data (a tree, a list of names) as JSON or YAML."""
    typer.echo(_data_text(data, output))


def print_resources(
    items: Sequence[BaseModel | JSON],
    output: OutputFormat,
    *,
    single: bool = False,
    names: Iterable[str] | None = None,
) -> None:
    """Print resources as JSON, YAML (one object when ``single``, else a List) or names."""
    if output == OutputFormat.NAME:
        for name in names if names is not None else (_name(i) for i in items):
            typer.echo(name)
        return
    dumped = [dump(item) for item in items]
    data: Any = (
        dumped[0] if single and dumped else {"apiVersion": "v1", "kind": "List", "items": dumped}
    )
    typer.echo(_data_text(data, output))


def _name(item: BaseModel | JSON) -> str:
    data = dump(item)
    return str((data.get("metadata") or {}).get("name") or "")


# Text helpers ----------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def format_span(span: timedelta) -> str:
    """A short human duration: ``42s``, ``3m20s``, ``5h12m``, ``3d4h`` (whole seconds: the
    API keeps times to the second)."""
    whole = int(max(span.total_seconds(), 0.0))
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs}s" if secs and minutes < 10 else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes}m" if minutes and hours < 10 else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h" if hours and days < 10 else f"{days}d"


def format_age(when: datetime | None) -> str:
    """How long ago ``when`` was, or ``-``."""
    return format_span(_now() - when) if when else "-"


def format_elapsed(started: datetime | None, finished: datetime | None) -> str:
    """How long something ran (until now when it has not finished), or ``-``."""
    if started is None:
        return "-"
    return format_span((finished or _now()) - started)


def format_time(when: datetime | None) -> str:
    """A timestamp with its age, e.g. ``2024-05-01T10:00:00Z (5m ago)``."""
    if when is None:
        return "-"
    return f"{when.strftime('%Y-%m-%dT%H:%M:%SZ')} ({format_age(when)} ago)"


def phase_text(phase: str) -> Text:
    """A phase, coloured by what it means."""
    return Text(phase, style=_PHASE_STYLES.get(phase, ""))


def value_text(value: Any, limit: int | None = None) -> str:
    """A JSON value for a cell: strings as they are, anything else as compact JSON."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _table(*columns: str) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, no_wrap=column != "MESSAGE", overflow="fold")
    return table


def _message(execution: Execution) -> str:
    status = execution.status
    if status.message:
        return status.message
    return status.error.message if status.error else ""


# Tables ----------------------------------------------------------------------------------------


def execution_table(executions: Sequence[Execution]) -> Table:
    """NAME, FUNCTION, PHASE, ATTEMPT, AGE, DURATION, MESSAGE."""
    table = _table("NAME", "FUNCTION", "PHASE", "ATTEMPT", "AGE", "DURATION", "MESSAGE")
    for execution in executions:
        meta, status = execution.metadata, execution.status
        table.add_row(
            meta.name or "",
            execution.spec.function,
            phase_text(status.phase.value),
            str(status.attempt),
            format_age(meta.creation_timestamp),
            format_elapsed(status.started_at, status.finished_at),
            _message(execution),
        )
    return table


def argument_summary(schema: JSON) -> str:
    """The arguments of a function in one line: ``item*, quantity=1, size=small|large``."""
    required = set(schema.get("required") or [])
    parts = []
    for key, prop in ordered_properties(schema):
        prop = prop if isinstance(prop, dict) else {}
        part = f"{key}*" if key in required else key
        if "default" in prop:
            part += f"={value_text(prop['default'], 20)}"
        parts.append(part)
    return ", ".join(parts) or "-"


def function_table(functions: Sequence[Function]) -> Table:
    """NAME, GROUP, ARGUMENTS, DESCRIPTION."""
    table = _table("NAME", "GROUP", "ARGUMENTS", "DESCRIPTION")
    for function in functions:
        spec = function.spec
        table.add_row(
            spec.name,
            spec.worker_group,
            argument_summary(spec.arguments),
            spec.description or "",
        )
    return table


def schedule_table(schedules: Sequence[ScheduledExecution]) -> Table:
    """NAME, SCHEDULE, FUNCTION, SUSPENDED, ACTIVE, LAST, NEXT, AGE."""
    table = _table("NAME", "SCHEDULE", "FUNCTION", "SUSPENDED", "ACTIVE", "LAST", "NEXT", "AGE")
    for schedule in schedules:
        spec, status = schedule.spec, schedule.status
        when = spec.schedule + (f" ({spec.time_zone})" if spec.time_zone else "")
        table.add_row(
            schedule.metadata.name or "",
            when,
            spec.function,
            Text("yes", style="yellow") if spec.suspend else Text("no"),
            str(len(status.active)),
            format_age(status.last_schedule_time) + (" ago" if status.last_schedule_time else ""),
            status.next_schedule_time.strftime("%Y-%m-%dT%H:%M:%SZ")
            if status.next_schedule_time
            else "-",
            format_age(schedule.metadata.creation_timestamp),
        )
    return table


ELAPSED = "Elapsed"
"""How a sleep that ended by time is shown (its Suspension says Resumed)."""


def suspension_phase(suspension: Suspension) -> str:
    """The phase to show for a Suspension: its own, except :data:`ELAPSED` for a sleep that
    ended by time. The Suspension records no cause, so it is told from the request: a client's
    resume sets ``spec.resume`` (and may cut a sleep short), while the worker marks a sleep
    Resumed on its own when ``spec.resumeAt`` comes."""
    spec, phase = suspension.spec, suspension.status.phase
    if phase == SuspensionPhase.RESUMED and spec.resume is None and spec.resume_at is not None:
        return ELAPSED
    return phase.value


def suspension_table(suspensions: Sequence[Suspension]) -> Table:
    """NAME, EXECUTION, KIND, PHASE, AGE, MESSAGE."""
    table = _table("NAME", "EXECUTION", "KIND", "PHASE", "AGE", "MESSAGE")
    for suspension in suspensions:
        spec, status = suspension.spec, suspension.status
        message = status.message or spec.message or ""
        if spec.resume_at is not None and suspension.is_waiting:
            message = f"until {spec.resume_at.strftime('%Y-%m-%dT%H:%M:%SZ')} {message}".strip()
        table.add_row(
            suspension.metadata.name or "",
            spec.execution,
            spec.kind.value,
            phase_text(suspension_phase(suspension)),
            format_age(suspension.metadata.creation_timestamp),
            message,
        )
    return table


# Trees -----------------------------------------------------------------------------------------


def _node_phase(node: TreeNode) -> str:
    suspension = node.suspension()
    return suspension_phase(suspension) if suspension is not None else node.phase


def _node_label(node: TreeNode) -> Text:
    label = Text()
    if node.kind == NodeKind.ATTEMPT:
        label.append(f"attempt {node.attempt_number}", style="dim")
    else:
        label.append(node.name, style="bold")
        kind = node.kind.value
        execution = node.execution()
        if execution is not None:
            kind = execution.spec.function
        label.append(f" ({kind})", style="dim")
    label.append("  ")
    label.append_text(phase_text(_node_phase(node)))
    started = node.started_at or (node.created_at if node.kind == NodeKind.SUSPENSION else None)
    if started is not None:
        label.append(f"  {format_elapsed(started, node.finished_at)}", style="dim")
    if node.message:
        label.append(f"  {node.message}", style="italic")
    return label


def _add(tree: Tree, node: TreeNode) -> None:
    branch = tree.add(_node_label(node))
    for child in node.children:
        _add(branch, child)


def render_tree(tree: ExecutionTree, footer: str | None = None) -> RenderableType:
    """An execution tree as a rich Tree (phases coloured, durations and messages)."""
    root = Tree(_node_label(tree.root))
    for child in tree.root.children:
        _add(root, child)
    parts: list[RenderableType] = [root]
    if tree.is_archived():
        parts.append(Text("(read from its archive)", style="dim"))
    if footer:
        parts.append(Text(footer, style="dim"))
    return Group(*parts) if len(parts) > 1 else root


def _node_json(node: TreeNode) -> JSON:
    data: JSON = {"kind": node.kind.value, "name": node.name, "phase": _node_phase(node)}
    execution = node.execution()
    if execution is not None:
        data["function"] = execution.spec.function
    if node.attempt_number is not None:
        data["attempt"] = node.attempt_number
    if node.message:
        data["message"] = node.message
    for key, value in (
        ("createdAt", node.created_at),
        ("startedAt", node.started_at),
        ("finishedAt", node.finished_at),
    ):
        if value is not None:
            data[key] = value.strftime("%Y-%m-%dT%H:%M:%SZ")
    data["children"] = [_node_json(child) for child in node.children]
    return data


def tree_json(tree: ExecutionTree) -> JSON:
    """An execution tree as nested JSON (kind, name, phase, times, message, children); phases
    as the tree shows them (a sleep that ended by time is Elapsed)."""
    return {"archived": tree.is_archived(), "root": _node_json(tree.root)}
