"""What the pages show, computed from the resources without I/O.

Rows of the executions list, nodes of a tree (a page shows one level at a time: a tree of
thousands of nodes is expanded lazily), the step ledger, durations and pretty JSON. The
templates render these; the live streams compare them to send only what changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kontinue.api import (
    RERUNNABLE_PHASES,
    TERMINAL_PHASES,
    Execution,
    ExecutionPhase,
    ExecutionStep,
    Suspension,
    SuspensionKind,
    labels,
)
from kontinue.client import ExecutionTree, NodeKind, TreeNode

__all__ = [
    "ExecutionRow",
    "NodeView",
    "StepRow",
    "children_page",
    "duration",
    "execution_row",
    "node_view",
    "node_views",
    "pretty_json",
    "step_rows",
    "tree_state",
]

JSON = dict[str, Any]


def _now() -> datetime:
    return datetime.now(UTC)


def duration(seconds: float | None) -> str:
    """``seconds`` the short way people read it: 4s, 2m5s, 3h12m, 5d4h ('' for None)."""
    if seconds is None:
        return ""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m{secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


def _between(start: datetime | None, end: datetime | None, now: datetime) -> float | None:
    if start is None:
        return None
    return ((end or now) - start).total_seconds()


def pretty_json(value: Any) -> str:
    """``value`` as indented JSON with sorted keys (how results and arguments are shown)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def phase_class(phase: str) -> str:
    """The CSS class of a phase badge: ok, bad, wait, run or idle."""
    return {
        "Completed": "ok",
        "Succeeded": "ok",
        "Resumed": "ok",
        "Skipped": "idle",
        "Failed": "bad",
        "Canceled": "bad",
        "Suspended": "wait",
        "Waiting": "wait",
        "Backoff": "wait",
        "Executing": "run",
        "Running": "run",
    }.get(phase, "idle")


@dataclass(frozen=True)
class ExecutionRow:
    """One line of the executions list."""

    name: str
    namespace: str
    function: str
    display_name: str
    phase: str
    phase_class: str
    age: str
    duration: str
    attempt: int
    message: str
    archived: bool
    parent: str
    created: str
    """ISO time, for the browser to show in local time."""
    can_cancel: bool
    can_retry: bool
    suspended: bool

    def key(self) -> tuple[str, ...]:
        """What a live update compares (age and running durations change by themselves)."""
        return (self.phase, self.message, str(self.attempt), self.display_name)


def execution_row(
    execution: Execution, *, archived: bool = False, now: datetime | None = None
) -> ExecutionRow:
    """The list row of ``execution``."""
    at = now or _now()
    meta, status = execution.metadata, execution.status
    created = meta.creation_timestamp
    phase = status.phase
    return ExecutionRow(
        name=meta.name or "",
        namespace=meta.namespace or "",
        function=execution.spec.function,
        display_name=meta.annotations.get(labels.ANNOTATION_DISPLAY_NAME, ""),
        phase=phase.value,
        phase_class=phase_class(phase.value),
        age=duration(_between(created, None, at)),
        duration=duration(_between(status.started_at, status.finished_at, at)),
        attempt=status.attempt,
        message=status.message or "",
        archived=archived,
        parent=meta.labels.get(labels.LABEL_PARENT, ""),
        created=created.isoformat() if created else "",
        can_cancel=not archived and phase not in TERMINAL_PHASES,
        can_retry=not archived and phase in RERUNNABLE_PHASES,
        suspended=not archived and phase == ExecutionPhase.SUSPENDED,
    )


@dataclass(frozen=True)
class NodeView:
    """One node of a tree as a page shows it: its children are fetched when expanded."""

    name: str
    kind: str
    phase: str
    phase_class: str
    message: str
    children: int
    duration: str
    link: str
    """Where the node's own page is: an execution's, a Job's logs, or '' for none."""
    detail: str
    """A short note: the function of an execution, when a sleep ends, an attempt's error."""

    def state(self) -> tuple[str, str, str, int]:
        """What a live update compares."""
        return (self.phase, self.message, self.detail, self.children)


def _detail(node: TreeNode) -> str:
    execution = node.execution()
    if execution is not None:
        return execution.spec.function
    suspension = node.suspension()
    if suspension is not None:
        if suspension.spec.kind == SuspensionKind.SLEEP and suspension.spec.resume_at:
            return f"sleep until {suspension.spec.resume_at.isoformat()}"
        return "waits for a resume" if suspension.is_waiting else "manual"
    if node.kind == NodeKind.ATTEMPT:
        return f"attempt {node.attempt_number}"
    return "Job"


def node_view(node: TreeNode, namespace: str, now: datetime | None = None) -> NodeView:
    """The view of one tree node; links point below ``/ns/<namespace>``."""
    at = now or _now()
    base = f"/ns/{namespace}"
    if node.kind == NodeKind.EXECUTION:
        link = f"{base}/executions/{node.name}"
    elif node.kind == NodeKind.JOB:
        link = f"{base}/jobs/{node.name}"
    else:
        link = ""
    return NodeView(
        name=node.name,
        kind=node.kind.value,
        phase=node.phase,
        phase_class=phase_class(node.phase),
        message=node.message or "",
        children=len(node.children),
        duration=duration(_between(node.started_at or node.created_at, node.finished_at, at)),
        link=link,
        detail=_detail(node),
    )


def node_views(nodes: Iterable[TreeNode], namespace: str) -> list[NodeView]:
    """Views of ``nodes`` in order."""
    now = _now()
    return [node_view(n, namespace, now) for n in nodes]


def children_page(
    tree: ExecutionTree, node: str, offset: int = 0, limit: int = 200
) -> tuple[list[TreeNode], int] | None:
    """The children of ``node`` from ``offset`` (at most ``limit``) and how many it has;
    None when the node is not in the tree."""
    found = tree.root if node in ("", tree.root.name) else tree.find(node)
    if found is None:
        return None
    return found.children[offset : offset + limit], len(found.children)


def tree_state(tree: ExecutionTree, namespace: str) -> dict[str, JSON]:
    """Every node's live state by name, for a stream to send the ones that change."""
    now = _now()
    state: dict[str, JSON] = {}
    for node in tree.nodes():
        view = node_view(node, namespace, now)
        state[node.name] = {
            "phase": view.phase,
            "phaseClass": view.phase_class,
            "message": view.message,
            "detail": view.detail,
            "children": view.children,
        }
    return state


@dataclass(frozen=True)
class StepRow:
    """One recorded durable call of the step ledger."""

    id: str
    kind: str
    name: str
    state: str
    state_class: str
    child: str
    child_link: str
    started: str
    attempt: str
    value: str
    error: str


def _step_order(item: tuple[str, ExecutionStep]) -> tuple[int, str, str]:
    key, step = item
    started = step.started_at.isoformat() if step.started_at else ""
    return (0 if key.isdigit() else 1, started, key.zfill(8) if key.isdigit() else key)


def step_rows(execution: Execution, namespace: str) -> list[StepRow]:
    """The step ledger of ``execution``, in the order the steps were made."""
    rows = []
    for key, step in sorted(execution.status.steps.items(), key=_step_order):
        child = step.child or ""
        if child and step.kind.value == "execute":
            link = f"/ns/{namespace}/executions/{child}"
        elif child and step.kind.value in ("job", "script"):
            link = f"/ns/{namespace}/jobs/{child}"
        else:
            link = ""
        value = "" if step.value is None else json.dumps(step.value, default=str)
        rows.append(
            StepRow(
                id=key,
                kind=step.kind.value,
                name=step.name or "",
                state=step.state.value,
                state_class={"Done": "ok", "Failed": "bad"}.get(step.state.value, "run"),
                child=child,
                child_link=link,
                started=step.started_at.isoformat() if step.started_at else "",
                attempt=str(step.attempt or ""),
                value=value if len(value) <= 200 else value[:199] + "…",
                error=step.error.message if step.error else "",
            )
        )
    return rows


def waiting_suspensions(suspensions: Sequence[Suspension], execution: str) -> list[Suspension]:
    """The waiting Suspensions of ``execution`` (manual ones first)."""
    waiting = [s for s in suspensions if s.spec.execution == execution and s.is_waiting]
    return sorted(waiting, key=lambda s: (s.spec.kind != SuspensionKind.MANUAL, s.metadata.name))
