"""An embedded Kubernetes API server for laptops, CI and tests.

It speaks enough of the Kubernetes REST API that the official Python client and a real
``kubectl`` cannot tell it from a cluster for what kontinue uses: discovery, CRDs with
structural schemas, CRUD with optimistic concurrency, patches, watches with resumption, field
and label selectors, finalizers and garbage collection. State lives in SQLite.

It imports nothing from the rest of kontinue except the generic toolkit's pure helpers, so the
same client code runs here and on a real cluster.
"""

from .errors import ApiStatus
from .registry import Registry
from .routes import LogSource
from .server import (
    DEFAULT_PORT,
    Controller,
    DevServer,
    DevServerError,
    DevServerSettings,
    DevServerThread,
    default_data_dir,
)

__all__ = [
    "DEFAULT_PORT",
    "ApiStatus",
    "Controller",
    "DevServer",
    "DevServerError",
    "DevServerSettings",
    "DevServerThread",
    "LogSource",
    "Registry",
    "default_data_dir",
]
