"""kontinue's RBAC: what a worker, a user and a viewer may do, and nothing more.

* **worker** (a namespaced Role, its ServiceAccount and RoleBinding): exactly the requests a
  worker makes in its namespace. It watches and writes the kontinue resources (its executions
  and their status, suspensions, the functions it publishes, the schedules and archives its
  controllers keep), takes Leases (leader election, mutexes and concurrency limits), records
  Events, and runs Jobs whose pods and logs it reads.
* **user** (the ClusterRole ``kontinue-user``, bound per namespace with a RoleBinding): what the
  CLI, the client and the web UI do for a person who runs workflows: start, cancel, skip, retry
  and delete executions, resume suspensions, manage schedules, read everything else. It writes
  an execution's status only to end one no worker has started (its group has no live worker).
* **viewer** (the ClusterRole ``kontinue-viewer``): read only.

The user and viewer ClusterRoles carry the aggregation labels of Kubernetes' ``edit`` and
``view`` roles, so whoever may edit (view) a namespace may also use (view) kontinue in it.
``deploy/rbac/`` holds these objects as YAML, written by ``kontinue install --rbac-only``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "USER_ROLE",
    "USER_RULES",
    "VIEWER_ROLE",
    "VIEWER_RULES",
    "WORKER_ACCOUNT",
    "WORKER_RULES",
    "cluster_roles",
    "role_binding",
    "worker_rbac",
]

JSON = dict[str, Any]

WORKER_ACCOUNT = "kontinue-worker"
"""The name of the worker's ServiceAccount, Role and RoleBinding."""
USER_ROLE = "kontinue-user"
"""The ClusterRole of people who run workflows (bind it in a namespace with a RoleBinding)."""
VIEWER_ROLE = "kontinue-viewer"
"""The ClusterRole of people who only look."""

_GROUP = "kontinue.cloud"
_READ = ["get", "list", "watch"]
_LABELS = {"app.kubernetes.io/name": "kontinue"}

WORKER_RULES: list[JSON] = [
    {
        "apiGroups": [_GROUP],
        "resources": ["executions"],
        "verbs": [*_READ, "create", "patch", "delete"],
    },
    {"apiGroups": [_GROUP], "resources": ["suspensions"], "verbs": [*_READ, "create", "patch"]},
    {
        "apiGroups": [_GROUP],
        "resources": ["functions"],
        "verbs": [*_READ, "create", "update", "delete"],
    },
    {"apiGroups": [_GROUP], "resources": ["scheduledexecutions"], "verbs": _READ},
    {
        "apiGroups": [_GROUP],
        "resources": ["archivedexecutions"],
        "verbs": [*_READ, "create", "delete"],
    },
    {
        "apiGroups": [_GROUP],
        "resources": [
            "executions/status",
            "suspensions/status",
            "scheduledexecutions/status",
            "archivedexecutions/status",
        ],
        "verbs": ["patch"],
    },
    {
        "apiGroups": ["coordination.k8s.io"],
        "resources": ["leases"],
        "verbs": [*_READ, "create", "update"],
    },
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": [*_READ, "create", "delete"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
]
"""What a worker does, rule by rule (see the module documentation)."""

USER_RULES: list[JSON] = [
    {
        "apiGroups": [_GROUP],
        "resources": ["executions", "scheduledexecutions"],
        "verbs": [*_READ, "create", "patch", "delete"],
    },
    # Ending an execution no worker has started (cancel, skip): no worker would write it.
    {"apiGroups": [_GROUP], "resources": ["executions/status"], "verbs": ["patch"]},
    {"apiGroups": [_GROUP], "resources": ["suspensions"], "verbs": [*_READ, "patch"]},
    {"apiGroups": [_GROUP], "resources": ["archivedexecutions"], "verbs": [*_READ, "delete"]},
    {"apiGroups": [_GROUP], "resources": ["functions"], "verbs": _READ},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": _READ},
    {"apiGroups": [""], "resources": ["pods", "events"], "verbs": _READ},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    # Whether a worker group is running (its leader's Lease), to say why an execution waits.
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get"]},
]
"""What a person who runs workflows does: every command of the CLI."""

VIEWER_RULES: list[JSON] = [
    {
        "apiGroups": [_GROUP],
        "resources": [
            "executions",
            "suspensions",
            "functions",
            "scheduledexecutions",
            "archivedexecutions",
        ],
        "verbs": _READ,
    },
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": _READ},
    {"apiGroups": [""], "resources": ["pods", "events"], "verbs": _READ},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get"]},
]
"""What a person who only looks does: list, get, tree, logs (and why an execution waits)."""


def worker_rbac(namespace: str, name: str = WORKER_ACCOUNT) -> list[JSON]:
    """The ServiceAccount, Role and RoleBinding of a worker in ``namespace``."""
    meta = {"name": name, "namespace": namespace, "labels": dict(_LABELS)}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": dict(meta)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": dict(meta),
            "rules": [dict(rule) for rule in WORKER_RULES],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": dict(meta),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        },
    ]


def cluster_roles() -> list[JSON]:
    """The user and viewer ClusterRoles (aggregated into ``edit`` and ``view``)."""

    def role(name: str, rules: list[JSON], aggregate_to: str) -> JSON:
        labels = {**_LABELS, f"rbac.authorization.k8s.io/aggregate-to-{aggregate_to}": "true"}
        if aggregate_to == "edit":
            labels["rbac.authorization.k8s.io/aggregate-to-admin"] = "true"
        return {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name, "labels": labels},
            "rules": [dict(rule) for rule in rules],
        }

    return [role(USER_ROLE, USER_RULES, "edit"), role(VIEWER_ROLE, VIEWER_RULES, "view")]


def role_binding(namespace: str, role: str, subject: JSON, name: str | None = None) -> JSON:
    """A RoleBinding of the ClusterRole ``role`` to ``subject`` in ``namespace``."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name or role, "namespace": namespace, "labels": dict(_LABELS)},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [subject],
    }
