"""Execution trees: a root execution with its attempts, children, suspensions and Jobs.

Built without I/O from the objects of one tree (every object below a root carries the
``kontinue.cloud/root`` label, so one list per kind fetches a tree; an archive holds the same
objects). Each node keeps the resource it stands for, reachable through typed accessors.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from kontinue.api import Execution, ExecutionAttempt, Suspension, labels, parse_time

__all__ = ["ExecutionTree", "NodeKind", "TreeNode", "TreeUpdate", "build_tree", "job_phase"]

JSON = dict[str, Any]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class NodeKind(StrEnum):
    """What a tree node stands for."""

    EXECUTION = "Execution"
    SUSPENSION = "Suspension"
    JOB = "Job"
    ATTEMPT = "Attempt"


@dataclass
class TreeNode:
    """One node: a resource of the tree (or a previous attempt of an execution)."""

    kind: NodeKind
    name: str
    namespace: str
    phase: str
    message: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempt_number: int | None = None
    """For Attempt nodes: which attempt."""
    children: list[TreeNode] = field(default_factory=list)
    resource: Any = None
    """The Execution, Suspension, Job (JSON) or ExecutionAttempt behind the node."""

    def execution(self) -> Execution | None:
        """The Execution, for Execution nodes."""
        return self.resource if isinstance(self.resource, Execution) else None

    def suspension(self) -> Suspension | None:
        """The Suspension, for Suspension nodes."""
        return self.resource if isinstance(self.resource, Suspension) else None

    def job(self) -> JSON | None:
        """The Job (as JSON), for Job nodes."""
        return self.resource if self.kind == NodeKind.JOB else None

    def attempt(self) -> ExecutionAttempt | None:
        """The recorded attempt, for Attempt nodes."""
        return self.resource if isinstance(self.resource, ExecutionAttempt) else None

    def walk(self, depth: int = 0) -> Iterator[tuple[int, TreeNode]]:
        """This node and every node below it, depth first, with their depth."""
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)


@dataclass
class ExecutionTree:
    """A root execution and everything below it."""

    root: TreeNode
    archived: bool = False

    def is_archived(self) -> bool:
        """True when the tree was read from an ArchivedExecution."""
        return self.archived

    def nodes(self) -> Iterator[TreeNode]:
        """Every node, depth first."""
        for _, node in self.root.walk():
            yield node

    def find(self, name: str) -> TreeNode | None:
        """The node of the resource called ``name``, if it is in the tree."""
        return next((n for n in self.nodes() if n.name == name), None)


@dataclass(frozen=True)
class TreeUpdate:
    """What :meth:`~kontinue.client.AsyncClient.watch_tree` yields: a new tree, or an error
    (the watch goes on after errors; stop iterating to stop it)."""

    tree: ExecutionTree | None = None
    error: Exception | None = None


def job_phase(job: JSON) -> tuple[str, str | None]:
    """A Job's phase as trees show it (Succeeded, Failed, Running or Pending) and the message
    of the condition that decided it."""
    status = job.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Complete":
            return "Succeeded", condition.get("message")
        if condition.get("type") == "Failed":
            return "Failed", condition.get("message") or condition.get("reason")
    return ("Running" if status.get("active") else "Pending"), None


def _execution_node(execution: Execution) -> TreeNode:
    meta, status = execution.metadata, execution.status
    node = TreeNode(
        kind=NodeKind.EXECUTION,
        name=meta.name or "",
        namespace=meta.namespace or "",
        phase=status.phase.value,
        message=status.message,
        created_at=meta.creation_timestamp,
        started_at=status.started_at,
        finished_at=status.finished_at,
        resource=execution,
    )
    for attempt in status.attempts:
        node.children.append(
            TreeNode(
                kind=NodeKind.ATTEMPT,
                name=f"{meta.name}#{attempt.attempt}",
                namespace=meta.namespace or "",
                phase=attempt.phase.value,
                message=attempt.error.message if attempt.error else None,
                started_at=attempt.started_at,
                finished_at=attempt.finished_at,
                attempt_number=attempt.attempt,
                resource=attempt,
            )
        )
    return node


def _suspension_node(suspension: Suspension) -> TreeNode:
    meta, status = suspension.metadata, suspension.status
    return TreeNode(
        kind=NodeKind.SUSPENSION,
        name=meta.name or "",
        namespace=meta.namespace or "",
        phase=status.phase.value,
        message=status.message or suspension.spec.message,
        created_at=meta.creation_timestamp,
        finished_at=status.resumed_at,
        resource=suspension,
    )


def _job_node(job: JSON) -> TreeNode:
    meta = job.get("metadata") or {}
    status = job.get("status") or {}
    phase, message = job_phase(job)
    return TreeNode(
        kind=NodeKind.JOB,
        name=str(meta.get("name")),
        namespace=str(meta.get("namespace") or ""),
        phase=phase,
        message=message,
        created_at=parse_time(meta.get("creationTimestamp")),
        started_at=parse_time(status.get("startTime")),
        finished_at=parse_time(status.get("completionTime")),
        resource=job,
    )


def _parent_of(obj_labels: dict[str, str]) -> str | None:
    return obj_labels.get(labels.LABEL_PARENT)


def build_tree(
    root: str,
    executions: Sequence[Execution],
    suspensions: Sequence[Suspension] = (),
    jobs: Sequence[JSON] = (),
    *,
    archived: bool = False,
) -> ExecutionTree:
    """The tree below the execution ``root`` (which must be among ``executions``).

    Children are placed under the execution named by their ``kontinue.cloud/parent`` label,
    after that execution's previous attempts, in creation order; objects whose parent is not
    in the tree are left out.
    """
    nodes: dict[str, TreeNode] = {}
    parents: list[tuple[str | None, TreeNode]] = []
    for execution in executions:
        node = _execution_node(execution)
        nodes[node.name] = node
        parents.append((_parent_of(execution.metadata.labels), node))
    for suspension in suspensions:
        parents.append((_parent_of(suspension.metadata.labels), _suspension_node(suspension)))
    for job in jobs:
        job_labels = (job.get("metadata") or {}).get("labels") or {}
        parents.append((_parent_of(job_labels), _job_node(job)))
    if root not in nodes:
        raise KeyError(f"execution {root} is not among the tree's executions")
    parents.sort(key=lambda item: (item[1].created_at or _EPOCH, item[1].name))
    for parent, node in parents:
        if node.name == root or parent is None:
            continue
        owner = nodes.get(parent)
        if owner is not None:
            owner.children.append(node)
    return ExecutionTree(nodes[root], archived)
