"""Test identities on clusters that authorize requests: the worker, a user and a viewer.

On a cluster with RBAC, :class:`~kontinue.testing.WorkflowEnvironment` runs its workers under
the worker's ServiceAccount bound only to :func:`kontinue.roles.worker_rbac`, and its client
(and the CLI the tests start) as a ServiceAccount bound to the ``kontinue-user`` ClusterRole:
the API server itself then proves that the roles are enough. A third account, bound to
``kontinue-viewer``, is there for tests of what a viewer may not do. Each account gets a
kubeconfig of its own with a token from the TokenRequest API.

A server that does not serve ``rbac.authorization.k8s.io`` (the dev server) authorizes every
token holder alike: there the three kubeconfigs are the admin's.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from kontinue.kube import Forbidden, KubeClient
from kontinue.roles import USER_ROLE, VIEWER_ROLE, WORKER_ACCOUNT, role_binding, worker_rbac

__all__ = ["Identities", "authorizes", "identities", "service_account_kubeconfig"]

JSON = dict[str, Any]
#: How long the test tokens live (the API server may shorten it).
TOKEN_SECONDS = 24 * 3600
#: Seconds a new binding may take to reach the API server's authorizer.
AUTHORIZE_TIMEOUT = 30.0
USER_ACCOUNT = "kontinue-test-user"
VIEWER_ACCOUNT = "kontinue-test-viewer"


@dataclass(frozen=True)
class Identities:
    """The kubeconfigs of one namespace's worker, user and viewer (all the admin's on a
    server without RBAC)."""

    worker: str
    user: str
    viewer: str


def authorizes(admin: KubeClient) -> bool:
    """Whether the server serves RBAC (and so tells identities apart)."""
    answer = admin.raw("GET", "/apis/rbac.authorization.k8s.io/v1")
    return answer.status == 200


def identities(admin: KubeClient, kubeconfig: str, namespace: str, directory: Path) -> Identities:
    """Create the three accounts in ``namespace`` with their RBAC and write their kubeconfigs
    into ``directory``."""
    if not authorizes(admin):
        return Identities(kubeconfig, kubeconfig, kubeconfig)
    for obj in worker_rbac(namespace):
        admin.upsert(obj)
    for account, role in ((USER_ACCOUNT, USER_ROLE), (VIEWER_ACCOUNT, VIEWER_ROLE)):
        meta = {"name": account, "namespace": namespace}
        admin.upsert({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta})
        subject = {"kind": "ServiceAccount", "name": account, "namespace": namespace}
        admin.upsert(role_binding(namespace, role, subject, name=account))
    found = Identities(
        *(
            str(service_account_kubeconfig(admin, kubeconfig, namespace, account, directory))
            for account in (WORKER_ACCOUNT, USER_ACCOUNT, VIEWER_ACCOUNT)
        )
    )
    for path in (found.worker, found.user, found.viewer):
        _wait_until_authorized(path, namespace)
    return found


def _wait_until_authorized(kubeconfig: str, namespace: str) -> None:
    """Wait until the API server's authorizer knows the new bindings (it learns them through
    a watch, a moment after they are written): until then the account gets 403s."""
    deadline = time.monotonic() + AUTHORIZE_TIMEOUT
    with KubeClient.from_kubeconfig(kubeconfig, namespace=namespace) as client:
        while True:
            try:
                client.list("executions.kontinue.cloud", page_size=1)
                return
            except Forbidden:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def service_account_kubeconfig(
    admin: KubeClient, kubeconfig: str, namespace: str, account: str, directory: Path
) -> Path:
    """A kubeconfig for the ServiceAccount ``account`` (a token from the TokenRequest API, the
    server and CA of the admin's ``kubeconfig``), written as ``directory/<namespace>-<account>``.
    """
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": TOKEN_SECONDS},
    }
    path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token"
    answer = admin.raw("POST", path, body=orjson.dumps(body), content_type="application/json")
    if answer.status >= 400:
        from kontinue.kube.errors import error_from_response

        raise error_from_response(answer.status, answer.body)
    token = orjson.loads(answer.body)["status"]["token"]
    cluster = _current_cluster(kubeconfig)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "cluster", "cluster": cluster}],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [
            {
                "name": account,
                "context": {"cluster": "cluster", "user": account, "namespace": namespace},
            }
        ],
        "current-context": account,
    }
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{namespace}-{account}.kubeconfig"
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        yaml.safe_dump(config, out)
    return target


def _current_cluster(kubeconfig: str) -> JSON:
    """The cluster entry of ``kubeconfig``'s current context, its CA file made inline data."""
    import base64

    document = yaml.safe_load(Path(kubeconfig).read_text())
    contexts = {c["name"]: c["context"] for c in document.get("contexts") or []}
    wanted = contexts[document["current-context"]]["cluster"]
    cluster = dict(next(c["cluster"] for c in document["clusters"] if c["name"] == wanted))
    authority = cluster.pop("certificate-authority", None)
    if authority:
        ca = (Path(kubeconfig).parent / authority).read_bytes()
        cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
    return cluster
