"""The node agent (``kontinue node``): a small kubelet that runs pods against any API server.

It registers a Node, keeps it alive (a Lease renewed every 10 s, a Ready condition), runs the
pods the scheduler binds to it as host processes with the same lifecycle as the dev server
(:mod:`kontinue.pods`), reports their status through ``pods/status``, completes their graceful
deletion, mounts their volumes (service-account tokens included) in a private mount namespace
when it runs as root, and serves their logs over HTTPS to the API server, so ``kubectl logs``
works. It talks to the API only through :mod:`kontinue.kube`, with the node's own credentials.

What it does not do: pull or run images (a container's ``command`` runs on this machine, as the
agent's user), isolate pods (besides the mount namespace), limit resources, probe, or serve
exec/attach/port-forward.
"""

from ._agent import NodeAgent
from ._serving import NodeSetupError
from ._settings import DEFAULT_NAME, DEFAULT_PORT, NodeSettings

__all__ = ["DEFAULT_NAME", "DEFAULT_PORT", "NodeAgent", "NodeSettings", "NodeSetupError"]
