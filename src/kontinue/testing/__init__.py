"""Testing workflows: an in-process dev server, fresh namespaces, real workers, fake time.

With the package installed, pytest loads the plugin (:mod:`kontinue.testing.plugin`) by itself,
and a test asks for ``kontinue_env``::

    def test_deploy(kontinue_env):
        with kontinue_env.running(worker):
            name = kontinue_env.execute(deploy, DeployArgs(env="prod"))
            done = kontinue_env.wait(name, skip_sleeps=True)
        assert done.status.phase == "Completed"

The fixtures need pytest (``pip install 'kontinue[testing]'``); :class:`WorkflowEnvironment`
itself does not.
"""

from ._accounts import Identities, identities, service_account_kubeconfig
from ._environment import RunningWorker, TestServer, WorkflowEnvironment, eventually

__all__ = [
    "Identities",
    "RunningWorker",
    "TestServer",
    "WorkflowEnvironment",
    "eventually",
    "identities",
    "service_account_kubeconfig",
]
