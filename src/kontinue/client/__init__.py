"""The kontinue client: start, inspect, wait for and steer executions from outside a worker.

:class:`Client` (blocking) and :class:`AsyncClient` have the same methods; every request is a
plain Kubernetes API call on the kontinue resources, so RBAC and ``kubectl`` see the same thing.
Trees (:func:`~kontinue.client.AsyncClient.get_tree`) assemble an execution with its attempts,
children, suspensions and Jobs, from live objects or from an archive.
"""

from ._async_client import AsyncClient
from ._core import parse_result
from ._sync_client import Client
from .errors import (
    ClientError,
    ExecutionFailed,
    InvalidArguments,
    InvalidState,
    ResultMismatch,
    UnknownFunction,
    WaitTimeout,
)
from .tree import ExecutionTree, NodeKind, TreeNode, TreeUpdate, build_tree

__all__ = [
    "AsyncClient",
    "Client",
    "ClientError",
    "ExecutionFailed",
    "ExecutionTree",
    "InvalidArguments",
    "InvalidState",
    "NodeKind",
    "ResultMismatch",
    "TreeNode",
    "TreeUpdate",
    "UnknownFunction",
    "WaitTimeout",
    "build_tree",
    "parse_result",
]
