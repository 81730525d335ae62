"""``AsyncKubeClient`` and ``KubeClient``: thin I/O shells over :mod:`kontinue.kube._core`.

Both take dicts or pydantic models (ours, or the official client's typed kinds such as
``kubernetes.client.V1Pod``) and return the server's updated copy in the same form. Kinds are
named like kubectl names them (``"pods"``, ``"deploy"``, ``"widgets.example.com"``) or given by
an object. The async client is written by hand; the blocking one is generated from it.
"""

from ._async_client import AsyncKubeClient
from ._client_base import Ref, WriteObserver
from ._sync_client import KubeClient

__all__ = ["AsyncKubeClient", "KubeClient", "Ref", "WriteObserver"]
