"""How the node agent runs: one documented settings object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_NAME", "DEFAULT_PORT", "NodeSettings"]

DEFAULT_NAME = "kontinue-node"
#: The kubelet's port.
DEFAULT_PORT = 10250


@dataclass(frozen=True)
class NodeSettings:
    """What the node agent registers and how it serves.

    Attributes:
        work_dir: Where pods' folders (``pods/``) and a generated serving certificate go.
        name: The Node's name; the agent's credentials must be those of ``system:node:<name>``
            for the Node authorizer to let it act for the node.
        address: The node's InternalIP: the log server binds it, pods report it as their
            ``hostIP``/``podIP``, and the API server connects to it for ``pods/log``.
            Loopback by default: the node is for this machine only.
        port: The log server's port (the Node's ``daemonEndpoints.kubeletEndpoint.Port``); 0
            picks a free one.
        tls_cert_file: The log server's certificate (PEM) and ``tls_private_key_file`` its
            key; the API server verifies it (``--kubelet-certificate-authority``). Without
            them a self-signed one is made in ``work_dir``, which such an API server refuses.
        tls_private_key_file: See ``tls_cert_file``.
        client_ca_file: The CA that signs the API server's client certificate towards
            kubelets: log requests must present a certificate it signed.
        anonymous_logs: Serve logs to clients without a certificate. Only when explicitly
            wanted: without ``client_ca_file`` the agent refuses to start otherwise.
        max_pods: The ``pods`` capacity the Node reports (what the scheduler counts against).
        lease_duration: Seconds the node's Lease in ``kube-node-lease`` is valid (40, as a
            kubelet's).
        lease_renew_interval: Seconds between renewals of the Lease (10, as a kubelet's).
        status_interval: Seconds between refreshes of the Node's status and Ready condition
            when nothing changed (60; a kubelet reports every 5 minutes besides its Lease).
        qps: Requests per second to the API server (50 with bursts of ``burst``, 100, like a
            kubelet: status writes and Events come in bursts when many pods start).
        burst: See ``qps``.
    """

    work_dir: Path
    name: str = DEFAULT_NAME
    address: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    tls_cert_file: Path | None = None
    tls_private_key_file: Path | None = None
    client_ca_file: Path | None = None
    anonymous_logs: bool = False
    max_pods: int = 250
    lease_duration: int = 40
    lease_renew_interval: float = 10.0
    status_interval: float = 60.0
    qps: float = 50.0
    burst: int = 100
