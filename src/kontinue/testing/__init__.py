"""Testing workflows: an in-process dev server, fresh namespaces, real workers, fake time.

With the package installed, pytest loads the plugin (:mod:`kontinue.testing.plugin`) by itself,
and a test asks for ``kontinue_env``::

    def test_deploy(kontinue_env):
        with kontinue_env.running(worker):
            name = kontinue_env.execute(deploy, DeployArgs(env="prod"))
            done = kontinue_env.wait(name, skip_sleeps=True)
        assert done.status.phase == "Completed"

``kontinue_env.client`` is the product's :class:`~kontinue.client.Client`; waiting goes through
:func:`eventually` (real time, short deadlines) and, to check that something did *not* happen,
through ``kontinue_env.settled()``, which returns once the workers have nothing left to do.

The fixtures need pytest (``pip install 'kontinue[testing]'``); :class:`WorkflowEnvironment`
itself does not.
"""

from ._accounts import Identities, identities, service_account_kubeconfig
from ._environment import TestServer, WorkflowEnvironment
from ._waiting import async_eventually, eventually
from ._workers import Intercept, RunningWorker

__all__ = [
    "Identities",
    "Intercept",
    "RunningWorker",
    "TestServer",
    "WorkflowEnvironment",
    "async_eventually",
    "eventually",
    "identities",
    "service_account_kubeconfig",
]
