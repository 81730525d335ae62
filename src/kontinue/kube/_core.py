"""Everything the Kubernetes clients do that is not I/O.

Building requests, mapping kinds to URLs, converting typed objects, decoding answers and
errors, rate limiting and retry decisions live here, once; :class:`~kontinue.kube.KubeClient`
and :class:`~kontinue.kube.AsyncKubeClient` only move these requests over a transport.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import orjson

from ._openapi import ModelKind, is_openapi_class, openapi_json, read_openapi
from ._requests import Request, Response
from .errors import ApiError, TooManyRequests, error_from_response
from .resources import ResourceInfo, ResourceMap

__all__ = [
    "KubeCore",
    "KubeSettings",
    "NeedDiscovery",
    "PatchType",
    "RateLimiter",
    "WatchEvent",
    "identity",
    "to_dict",
]

JSON = dict[str, Any]
T = TypeVar("T")
PatchType = Literal["merge", "json", "strategic", "apply"]
PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}


@dataclass(frozen=True)
class KubeSettings:
    """How a client behaves, apart from where it connects.

    Attributes:
        qps: Sustained requests per second (watches excluded). 5 like client-go's default;
            raise it for controllers that write a lot.
        burst: Requests allowed at once above ``qps`` before throttling starts (10).
        timeout: Seconds to wait for an ordinary request (30).
        retries: How many times a transient failure (connection reset, 429, 5xx) of a request
            that is safe to repeat is retried (3). Creates without a name are never retried.
        backoff: First retry delay in seconds; it doubles per attempt, with jitter (0.2).
        max_backoff: Upper bound of a retry delay in seconds (5).
        field_manager: ``fieldManager`` sent with writes, as it appears in managedFields.
        impersonate_user: Act as this user (``Impersonate-User``), if set.
        impersonate_groups: ... and as members of these groups (``Impersonate-Group``).
    """

    qps: float = 5.0
    burst: int = 10
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.2
    max_backoff: float = 5.0
    field_manager: str = "kontinue"
    impersonate_user: str | None = None
    impersonate_groups: tuple[str, ...] = ()


class NeedDiscovery(Exception):
    """The core needs a discovery document before it can build the request."""

    def __init__(self, group_version: str | None) -> None:
        super().__init__(group_version or "all groups")
        self.group_version = group_version

    @property
    def path(self) -> str:
        gv = self.group_version
        if gv is None:
            return "/apis"
        return f"/api/{gv}" if "/" not in gv else f"/apis/{gv}"


@dataclass(frozen=True)
class WatchEvent:
    """One event of a watch stream."""

    type: str  # ADDED | MODIFIED | DELETED | BOOKMARK | ERROR
    object: JSON

    @property
    def resource_version(self) -> str:
        return str(self.object.get("metadata", {}).get("resourceVersion", ""))


class RateLimiter:
    """A token bucket: ``qps`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, qps: float, burst: int) -> None:
        self.qps = qps
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._last: float | None = None

    def reserve(self, now: float) -> float:
        """Take a token; returns how long to wait before using it (0 when available)."""
        if self.qps <= 0:
            return 0.0
        if self._last is not None:
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps


def to_dict(obj: Any) -> JSON:
    """The JSON form of a Kubernetes object (or part of one, e.g. a JobSpec) given as a dict,
    a pydantic model, or a model of the official client (``kubernetes.client.V1Job``)."""
    if isinstance(obj, dict):
        return obj
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        data = dump(mode="json", by_alias=True, exclude_none=True)
        if isinstance(data, dict):
            return data
    if is_openapi_class(type(obj)):
        converted = openapi_json(obj)
        assert isinstance(converted, dict)
        return converted
    raise TypeError(
        f"expected a Kubernetes object as a dict or a pydantic model, got {type(obj).__name__}"
    )


def from_dict(data: JSON, like: type[T] | None) -> T | JSON:
    """``data`` as an instance of ``like`` (a pydantic model class or a model class of the
    official client), or as is."""
    if like is None or like is dict:
        return data
    if is_openapi_class(like):
        read: T = read_openapi(like, data)
        return read
    validate = getattr(like, "model_validate", None)
    if validate is None:
        raise TypeError(f"cannot build a {like.__name__} from a Kubernetes object")
    result: T = validate(data)
    return result


def identity(obj: JSON) -> tuple[str, str, str, str]:
    """``(apiVersion, kind, namespace, name)`` of an object, naming what is missing."""
    missing = [key for key in ("apiVersion", "kind") if not obj.get(key)]
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        missing.append("metadata")
        meta = {}
    if missing:
        raise ValueError(
            f"not a Kubernetes object: missing {', '.join(missing)} "
            "(every object needs apiVersion, kind and metadata)"
        )
    return (
        obj["apiVersion"],
        obj["kind"],
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
    )


def _not_found(message: str) -> ApiError:
    """The NotFound a server would answer for a resource type it does not serve."""
    status = {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404}
    return error_from_response(404, orjson.dumps({**status, "message": message}))


def _kubernetes_group(group: str) -> bool:
    """The core group and the groups Kubernetes itself defines (``apps``, ``*.k8s.io``)."""
    return "." not in group or group.endswith(".k8s.io")


def _json(body: Any) -> bytes:
    return orjson.dumps(body)


@dataclass
class KubeCore:
    """Request building and answer decoding for one namespace and one set of settings."""

    namespace: str
    settings: KubeSettings = field(default_factory=KubeSettings)
    resources: ResourceMap = field(default_factory=ResourceMap)

    # Resolution ----------------------------------------------------------------------------

    def resolve(self, api_version: str, kind: str) -> ResourceInfo:
        info = self.resources.by_kind(api_version, kind)
        if info is None:
            if self.resources.knows(api_version):
                raise _not_found(f'the server has no kind "{kind}" in "{api_version}"')
            raise NeedDiscovery(api_version)
        return info

    def resolve_name(self, name: str, *, discovered: bool) -> ResourceInfo:
        """A resource named like kubectl names it (``svc``, ``deployments.apps``, ``Widget``)."""
        if "/" in name:  # "apps/v1/Deployment" or "apps/v1/deployments"
            api_version, _, kind = name.rpartition("/")
            info = self.resources.by_kind(api_version, kind)
            if info is not None:
                return info
        info = self.resources.by_name(name)
        if info is None:
            if not discovered:
                raise NeedDiscovery(None)
            raise _not_found(f'the server doesn\'t have a resource type "{name}"')
        return info

    def resolve_model(self, model: ModelKind, *, discovered: bool) -> ResourceInfo:
        """The resource of a model class of the official client (``V1Job``: ``Job`` at
        ``v1``, in whichever group serves it); raises ValueError when several groups do."""
        found = [
            info
            for info in self.resources.by_version_kind(model.version, model.kind)
            if model.matches_group(info.group)
        ]
        if len(found) > 1:  # a custom resource named like a built-in one: the built-in wins
            found = [info for info in found if _kubernetes_group(info.group)] or found
        if len(found) == 1:
            return found[0]
        if not found:
            if not discovered:
                raise NeedDiscovery(None)
            raise _not_found(
                f'the server has no kind "{model.kind}" at version "{model.version}" in any group'
            )
        raise ValueError(
            f"cannot tell the apiVersion of {model.kind} {model.version}: the server serves it "
            f"in {', '.join(sorted(info.api_version for info in found))}; set api_version "
            "on the object"
        )

    def namespace_of(self, info: ResourceInfo, given: str | None, obj: JSON | None = None) -> str:
        if not info.namespaced:
            return ""
        if given:
            return given
        if obj is not None:
            found = obj.get("metadata", {}).get("namespace")
            if found:
                return str(found)
        return self.namespace

    # Requests ------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.settings.impersonate_user:
            headers["Impersonate-User"] = self.settings.impersonate_user
            if self.settings.impersonate_groups:
                headers["Impersonate-Group"] = ",".join(self.settings.impersonate_groups)
        return headers

    def request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
        body: bytes | None = None,
        *,
        content_type: str | None = None,
        idempotent: bool = True,
        timeout: float | None = None,
        accept: str = "application/json",
    ) -> Request:
        return Request(
            method,
            path,
            tuple((query or {}).items()),
            body,
            content_type if body is not None else None,
            accept,
            self._headers(),
            timeout,
            idempotent,
        )

    def _write_query(self, dry_run: bool, field_manager: str | None) -> dict[str, str]:
        query = {"fieldManager": field_manager or self.settings.field_manager}
        if dry_run:
            query["dryRun"] = "All"
        return query

    def create(
        self,
        info: ResourceInfo,
        namespace: str,
        body: JSON,
        *,
        dry_run: bool = False,
        field_manager: str | None = None,
    ) -> Request:
        named = bool(body.get("metadata", {}).get("name"))
        return self.request(
            "POST",
            info.path(namespace),
            self._write_query(dry_run, field_manager),
            _json(body),
            content_type="application/json",
            idempotent=named,
        )

    def get(self, info: ResourceInfo, namespace: str, name: str, sub: str = "") -> Request:
        return self.request("GET", info.path(namespace, name, sub))

    def list_page(
        self,
        info: ResourceInfo,
        namespace: str | None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 500,
        continue_token: str = "",
        resource_version: str = "",
    ) -> Request:
        query: dict[str, str] = {}
        for key, value in (
            ("labelSelector", label_selector),
            ("fieldSelector", field_selector),
            ("continue", continue_token),
            ("resourceVersion", resource_version),
        ):
            if value:
                query[key] = value
        if limit:
            query["limit"] = str(limit)
        return self.request("GET", info.path(namespace), query)

    def update(
        self,
        info: ResourceInfo,
        namespace: str,
        name: str,
        body: JSON,
        *,
        status: bool = False,
        dry_run: bool = False,
        field_manager: str | None = None,
    ) -> Request:
        return self.request(
            "PUT",
            info.path(namespace, name, "status" if status else ""),
            self._write_query(dry_run, field_manager),
            _json(body),
            content_type="application/json",
            # Without a resourceVersion a repeated PUT could overwrite someone else's write.
            idempotent=bool(body.get("metadata", {}).get("resourceVersion")),
        )

    def patch(
        self,
        info: ResourceInfo,
        namespace: str,
        name: str,
        patch: Any,
        patch_type: PatchType,
        *,
        status: bool = False,
        dry_run: bool = False,
        field_manager: str | None = None,
        force: bool = False,
    ) -> Request:
        if patch_type not in PATCH_CONTENT_TYPES:
            raise ValueError(
                f"unknown patch type {patch_type!r}: use one of {', '.join(PATCH_CONTENT_TYPES)}"
            )
        query = self._write_query(dry_run, field_manager)
        if patch_type == "apply" and force:
            query["force"] = "true"
        if isinstance(patch, bytes | str):
            body = patch.encode() if isinstance(patch, str) else patch
        else:
            body = _json(patch if patch_type == "json" else to_dict(patch))
        return self.request(
            "PATCH",
            info.path(namespace, name, "status" if status else ""),
            query,
            body,
            content_type=PATCH_CONTENT_TYPES[patch_type],
            idempotent=patch_type in ("merge", "apply", "strategic"),
        )

    def delete(
        self,
        info: ResourceInfo,
        namespace: str,
        name: str,
        *,
        propagation: str | None = None,
        uid: str | None = None,
        resource_version: str | None = None,
        grace_period: int | None = None,
        dry_run: bool = False,
    ) -> Request:
        options: JSON = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation:
            options["propagationPolicy"] = propagation
        preconditions = {
            k: v for k, v in (("uid", uid), ("resourceVersion", resource_version)) if v
        }
        if preconditions:
            options["preconditions"] = preconditions
        if grace_period is not None:
            options["gracePeriodSeconds"] = grace_period
        if dry_run:
            options["dryRun"] = ["All"]
        return self.request(
            "DELETE",
            info.path(namespace, name),
            None,
            _json(options),
            content_type="application/json",
        )

    def watch(
        self,
        info: ResourceInfo,
        namespace: str | None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        resource_version: str = "",
        timeout_seconds: int | None = None,
        bookmarks: bool = True,
    ) -> Request:
        query = {"watch": "true"}
        for key, value in (
            ("labelSelector", label_selector),
            ("fieldSelector", field_selector),
            ("resourceVersion", resource_version),
        ):
            if value:
                query[key] = value
        if bookmarks:
            query["allowWatchBookmarks"] = "true"
        if timeout_seconds is not None:
            query["timeoutSeconds"] = str(timeout_seconds)
        # The server ends the stream after timeoutSeconds; give the read a little more.
        read_timeout = None if timeout_seconds is None else timeout_seconds + 30.0
        return self.request("GET", info.path(namespace), query, timeout=read_timeout)

    # Answers -------------------------------------------------------------------------------

    def decode(self, response: Response) -> JSON:
        """The JSON body of a successful answer; raises the matching ApiError otherwise."""
        if response.status >= 400:
            raise error_from_response(
                response.status, response.body, response.header("Retry-After")
            )
        if not response.body:
            return {}
        data = orjson.loads(response.body)
        if not isinstance(data, dict):
            raise error_from_response(500, b"the server answered with something not an object")
        return data

    @staticmethod
    def parse_event(line: bytes) -> WatchEvent:
        data = orjson.loads(line)
        return WatchEvent(str(data.get("type", "")), data.get("object") or {})

    def retry_delay(self, request: Request, attempt: int, error: Exception) -> float | None:
        """Seconds to wait before trying ``request`` again, or None to give up."""
        if attempt >= self.settings.retries or not request.idempotent:
            return None
        if isinstance(error, ApiError):
            if isinstance(error, TooManyRequests) and error.retry_after is not None:
                return min(error.retry_after, self.settings.max_backoff * 4)
            if not (error.status_code == 429 or error.status_code >= 500):
                return None
        delay = min(self.settings.max_backoff, self.settings.backoff * (2.0**attempt))
        return delay * (0.5 + random.random() / 2)
