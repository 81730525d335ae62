"""The pytest plugin (installed with the package, registered as ``kontinue``).

Fixtures:

``kontinue_server``
    One embedded API server per test session, in-process, on a :class:`ManualClock`, running
    Jobs and their pods as local processes. With ``--kontinue-kubeconfig PATH`` (or the
    environment variable ``KONTINUE_KUBECONFIG``) the session uses that cluster instead: the
    CRDs are installed there, the workers still run on a :class:`ManualClock` (the server keeps
    its own time), and Jobs run wherever the cluster runs pods.
``kontinue_env``
    A :class:`~kontinue.testing.WorkflowEnvironment` in a fresh namespace, closed (workers
    stopped, namespace deleted) after the test.

pytest comes with the ``testing`` extra (``pip install 'kontinue[testing]'``); the rest of
:mod:`kontinue.testing` works without it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from kontinue.clock import ManualClock

from ._accounts import authorizes, identities
from ._environment import TestServer, WorkflowEnvironment

__all__ = ["TestServer", "kontinue_env", "kontinue_server", "pytest_addoption"]

KUBECONFIG_ENV = "KONTINUE_KUBECONFIG"


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--kontinue-kubeconfig``: run the session against an existing cluster."""
    parser.addoption(
        "--kontinue-kubeconfig",
        default=os.environ.get(KUBECONFIG_ENV) or None,
        help="run the tests against the cluster of this kubeconfig instead of an embedded "
        f"dev server (default: ${KUBECONFIG_ENV})",
    )


def cluster_kubeconfig(config: pytest.Config) -> str | None:
    """The kubeconfig of the cluster the session runs against, or None for the dev server."""
    value = config.getoption("--kontinue-kubeconfig")
    return str(value) if value else None


@pytest.fixture(scope="session")
def kontinue_server(request: pytest.FixtureRequest) -> Iterator[TestServer]:
    """An embedded API server on a manual clock (or the given cluster), for the whole
    session, with kontinue's CRDs installed."""
    from kontinue.installing import install_crds
    from kontinue.kube import KubeClient
    from kontinue.roles import cluster_roles

    clock = ManualClock()
    given = cluster_kubeconfig(request.config)
    if given is not None:
        with KubeClient.from_kubeconfig(given) as admin:
            install_crds(admin)
            if authorizes(admin):
                for role in cluster_roles():
                    admin.upsert(role)
        yield TestServer(given, clock, embedded=False)
        return
    from kontinue.devserver import DevServerSettings, DevServerThread

    settings = DevServerSettings.ephemeral(bookmark_interval=0.5)
    with DevServerThread(settings, clock=clock) as thread:
        kubeconfig = str(thread.server.kubeconfig_path)
        with KubeClient.from_kubeconfig(kubeconfig) as admin:
            install_crds(admin)
        yield TestServer(kubeconfig, clock)


@pytest.fixture
def kontinue_env(
    kontinue_server: TestServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkflowEnvironment]:
    """A fresh namespace with helpers to run workers, start executions and move time; on a
    cluster with RBAC its workers, client and CLI act under kontinue's roles."""
    accounts_dir = tmp_path_factory.getbasetemp() / "kontinue-accounts"
    from kontinue.kube import KubeClient

    namespace = f"kt-{uuid.uuid4().hex[:10]}"
    with KubeClient.from_kubeconfig(kontinue_server.kubeconfig) as admin:
        admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        found = identities(admin, kontinue_server.kubeconfig, namespace, accounts_dir)
        # A cluster stamps objects with its own time: each test's clock starts at the real time
        # (once its namespace is ready) so that the timestamps the server writes
        # (creationTimestamp) and the workers' time agree.
        clock = (
            kontinue_server.clock
            if kontinue_server.embedded
            else ManualClock(datetime.now(UTC).replace(microsecond=0))
        )
        if clock.now().microsecond:  # a test before may have left it between seconds
            clock.advance(timedelta(microseconds=1_000_000 - clock.now().microsecond))
        env = WorkflowEnvironment(kontinue_server.kubeconfig, namespace, clock, identities=found)
        try:
            yield env
        finally:
            env.close()
            admin.delete("namespaces", namespace)
