"""Kubernetes Events about an object, the way client-go's event recorder writes them."""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING, Any

from kontinue.clock import Clock, SystemClock, format_time

from .._core import JSON, to_dict
from ..errors import AlreadyExists

if TYPE_CHECKING:
    from ..client import AsyncKubeClient

__all__ = ["EventRecorder"]

_EVENT_TYPES = ("Normal", "Warning")
_NAME_ATTEMPTS = 3
_MAX_NAME = 253 - 17  # room for "." and 16 hex digits of nanoseconds


def _micro_time(clock: Clock) -> str:
    """``metav1.MicroTime``: RFC 3339 with microseconds, as ``eventTime`` requires."""
    return clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class EventRecorder:
    """Writes core/v1 Events about objects, so ``kubectl describe`` and ``kubectl get events``
    show what happened to them.

    Attributes:
        client: Where the events are written.
        component: Who reports: ``source.component`` and ``reportingComponent`` ("kontinue").
        instance: Which replica reports (``reportingInstance``); the host name (in a cluster,
            the pod's name) by default.
        clock: Source of the timestamps.
    """

    def __init__(
        self,
        client: AsyncKubeClient,
        component: str = "kontinue",
        *,
        instance: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.client = client
        self.component = component
        self.instance = (instance or socket.gethostname() or component)[:128]
        self.clock: Clock = clock or SystemClock()

    def event_for(
        self, obj: Any, type: str, reason: str, message: str, *, action: str | None = None
    ) -> JSON:
        """The Event :meth:`record` would create (without its unique name). No I/O."""
        if type not in _EVENT_TYPES:
            raise ValueError(f"an event's type is Normal or Warning, not {type!r}")
        body = to_dict(obj)
        meta = body.get("metadata") or {}
        namespace = str(meta.get("namespace") or "")
        involved = {
            "apiVersion": body.get("apiVersion"),
            "kind": body.get("kind"),
            "name": meta.get("name"),
            "namespace": namespace,
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        }
        now = format_time(self.clock.now())
        return {
            "apiVersion": "v1",
            "kind": "Event",
            # A cluster-scoped object's events live in "default", as client-go puts them.
            "metadata": {"namespace": namespace or "default"},
            "involvedObject": {k: v for k, v in involved.items() if v},
            "type": type,
            "reason": reason,
            "message": message,
            "action": action or reason,
            "source": {"component": self.component, "host": self.instance},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "eventTime": _micro_time(self.clock),
            "reportingComponent": self.component,
            "reportingInstance": self.instance,
        }

    async def record(
        self, obj: Any, type: str, reason: str, message: str, *, action: str | None = None
    ) -> JSON:
        """Create an Event of ``type`` (``Normal`` or ``Warning``) about ``obj``; returns it.

        It is named ``<object name>.<nanoseconds in hex>`` like client-go names events.
        Failures to write raise :class:`~kontinue.kube.errors.KubeError`.
        """
        event = self.event_for(obj, type, reason, message, action=action)
        base = str(event["involvedObject"].get("name") or "object")[:_MAX_NAME]
        attempt = 0
        while True:
            event["metadata"]["name"] = f"{base}.{time.time_ns() + attempt:x}"
            try:
                created: JSON = await self.client.create(event)
                return created
            except AlreadyExists:
                attempt += 1
                if attempt == _NAME_ATTEMPTS:
                    raise
