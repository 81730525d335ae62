"""The pod lifecycle's host over the Kubernetes API, with the node's credentials.

What :class:`kontinue.pods.PodHost` asks for, done as a kubelet does it: status through
``pods/status`` (a strategic merge patch guarded by the pod's uid), ConfigMaps and Secrets read
one by one (the Node authorizer allows only those the node's pods refer to, and may not know
about a pod bound a moment ago: that is worth waiting for), service-account tokens from the
TokenRequest API bound to the pod, the final ``DELETE`` with ``gracePeriodSeconds=0`` once a
deleted pod's processes stopped, and Events.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

from kontinue.clock import Clock
from kontinue.kube import (
    AsyncKubeClient,
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    KubeError,
    NotFound,
)
from kontinue.kube.errors import error_from_response
from kontinue.pods import ConfigError, PodGone, Token, TokenSource
from kontinue.tasks import TaskSet

from ._objects import pod_event, status_patch, token_request

__all__ = ["ApiHost"]

log = logging.getLogger("kontinue.node")
JSON = dict[str, Any]
_KINDS = {"configmaps": "configmap", "secrets": "secret"}


class ApiHost:
    """:class:`~kontinue.pods.PodHost` over an API server, for the node ``node_name``."""

    def __init__(self, client: AsyncKubeClient, node_name: str, clock: Clock) -> None:
        self.client = client
        self.node_name = node_name
        self._clock = clock
        self._tasks = TaskSet(log)

    @property
    def clock(self) -> Clock:
        """The agent's clock."""
        return self._clock

    async def write_status(self, namespace: str, name: str, uid: str, status: JSON) -> None:
        """Patch ``pods/status``; 404, a uid mismatch (409) and 403 (no longer the node's)
        mean the pod is gone. A status the API server finds invalid is logged, not retried."""
        try:
            await self.client.patch(
                "pods",
                status_patch(uid, status),
                name=name,
                namespace=namespace,
                type="strategic",
                status=True,
            )
        except (NotFound, Conflict, Forbidden) as exc:
            # 403: the Node authorizer says the pod is no longer bound here
            raise PodGone(str(exc)) from exc
        except (Invalid, BadRequest) as exc:
            # the same status would be refused again: say so once, do not retry
            log.error("pod %s/%s: the API server refused its status: %s", namespace, name, exc)

    async def lookup(self, plural: str, namespace: str, name: str) -> JSON | None:
        """GET one ConfigMap or Secret; anything but 404 is a reason to wait and retry."""
        try:
            found: JSON = await self.client.get(plural, name, namespace=namespace)
        except NotFound:
            return None
        except KubeError as exc:
            raise ConfigError(f'cannot read {_KINDS.get(plural, plural)} "{name}": {exc}') from exc
        return found

    async def request_token(self, pod: JSON, source: TokenSource) -> Token:
        """POST ``serviceaccounts/<name>/token`` with the pod as the bound object."""
        meta = pod.get("metadata") or {}
        account = (pod.get("spec") or {}).get("serviceAccountName") or "default"
        path = f"/api/v1/namespaces/{meta.get('namespace', '')}/serviceaccounts/{account}/token"
        body = token_request(pod, source.audience, source.expiration_seconds)
        try:
            answer = await self.client.raw(
                "POST", path, body=json.dumps(body).encode(), content_type="application/json"
            )
        except KubeError as exc:
            raise ConfigError(f'cannot get a token for service account "{account}": {exc}') from exc
        if answer.status >= 400:
            error = error_from_response(answer.status, answer.body)
            raise ConfigError(f'cannot get a token for service account "{account}": {error}')
        try:
            status = json.loads(answer.body)["status"]
            expires = datetime.fromisoformat(str(status["expirationTimestamp"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"the TokenRequest answer was not understood: {exc!r}") from exc
        return Token(str(status.get("token", "")), expires)

    async def finish_deletion(self, namespace: str, name: str, uid: str) -> bool:
        """``DELETE`` with ``gracePeriodSeconds=0`` (and the uid as precondition), as the
        kubelet does once the processes are gone; False while finalizers keep the pod."""
        try:
            answer = await self.client.delete(
                "pods", name, namespace=namespace, grace_period=0, uid=uid
            )
        except (NotFound, Conflict):
            return True
        held = answer.get("kind") == "Pod" and (answer.get("metadata") or {}).get("finalizers")
        return not held

    def record_event(
        self, pod: JSON, kind: str, reason: str, message: str, container: str = ""
    ) -> None:
        """Create an Event in the background; a failure is only logged."""
        event = pod_event(pod, self.node_name, kind, reason, message, container, self.clock.now())
        self._spawn(self._create(event), f"node-event-{reason}")

    async def _create(self, event: JSON) -> None:
        try:
            await self.client.create(event)
        except KubeError as exc:
            log.debug("event %s not recorded: %s", event["reason"], exc)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.spawn(coro, name)

    async def drain(self) -> None:
        """Wait for the Events still being sent (before the client closes)."""
        await self._tasks.close(grace=5.0)
