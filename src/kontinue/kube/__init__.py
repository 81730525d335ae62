"""The generic Kubernetes toolkit: clients, watching, status, conditions.

It knows nothing about workflows. ``KubeClient``/``AsyncKubeClient`` wrap one pure core
(``_core``) over one transport (``_transport``, the only module that imports the Kubernetes
library); a client takes any :class:`Transport` (``transport=``), such as a
:class:`MockTransport` in tests, that answers requests itself or watches those sent to a real
server. The pure helpers (``selectors``, ``schema``, ``status``) are also used by the
embedded API server, so importing this package stays light: the clients load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._core import KubeSettings, WatchEvent, to_dict
    from ._requests import Request, Response
    from ._transport import AsyncMockTransport, AsyncTransport, MockTransport, Transport
    from .accumulating import (
        ALL_NAMESPACES,
        Accumulator,
        AccumulatorClosed,
        Delta,
        DeltaType,
        Query,
        SyncAccumulator,
    )
    from .client import AsyncKubeClient, KubeClient
    from .errors import (
        AlreadyExists,
        ApiError,
        BadRequest,
        Conflict,
        ConnectionFailed,
        Forbidden,
        Gone,
        Invalid,
        KubeError,
        MethodNotAllowed,
        NotFound,
        ServerError,
        TooLarge,
        TooManyRequests,
        Unauthorized,
    )
    from .resources import ResourceInfo

__all__ = [
    "ALL_NAMESPACES",
    "Accumulator",
    "AccumulatorClosed",
    "AlreadyExists",
    "ApiError",
    "AsyncKubeClient",
    "AsyncMockTransport",
    "AsyncTransport",
    "BadRequest",
    "Conflict",
    "ConnectionFailed",
    "Delta",
    "DeltaType",
    "Forbidden",
    "Gone",
    "Invalid",
    "KubeClient",
    "KubeError",
    "KubeSettings",
    "MethodNotAllowed",
    "MockTransport",
    "NotFound",
    "Query",
    "Request",
    "ResourceInfo",
    "Response",
    "ServerError",
    "SyncAccumulator",
    "TooLarge",
    "TooManyRequests",
    "Transport",
    "Unauthorized",
    "WatchEvent",
    "to_dict",
]

_HOMES = {
    **dict.fromkeys(
        (
            "ALL_NAMESPACES",
            "Accumulator",
            "AccumulatorClosed",
            "Delta",
            "DeltaType",
            "Query",
            "SyncAccumulator",
        ),
        "accumulating",
    ),
    "AsyncKubeClient": "client",
    "KubeClient": "client",
    "KubeSettings": "_core",
    "WatchEvent": "_core",
    "to_dict": "_core",
    "ResourceInfo": "resources",
    "Request": "_requests",
    "Response": "_requests",
    **dict.fromkeys(
        ("AsyncMockTransport", "AsyncTransport", "MockTransport", "Transport"), "_transport"
    ),
}


def __getattr__(name: str) -> Any:
    """Load the clients (and with them the Kubernetes library) only when asked for."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    module = import_module(f"{__name__}.{_HOMES.get(name, 'errors')}")
    value = getattr(module, name)
    globals()[name] = value
    return value
