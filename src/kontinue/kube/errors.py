"""Errors of the Kubernetes toolkit, built from the API server's ``Status`` answers.

``ApiError`` subclasses mirror the ``reason`` field of a ``metav1.Status`` so callers can write
``except NotFound`` instead of comparing codes; each keeps the reason, message, details and the
whole Status. Failures to reach the server at all are :class:`ConnectionFailed`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson

from kontinue.errors import KontinueError

__all__ = [
    "AlreadyExists",
    "ApiError",
    "BadRequest",
    "Conflict",
    "ConnectionFailed",
    "Forbidden",
    "Gone",
    "Invalid",
    "KubeError",
    "MethodNotAllowed",
    "NotFound",
    "ServerError",
    "TooLarge",
    "TooManyRequests",
    "Unauthorized",
    "error_from_response",
]


class KubeError(KontinueError):
    """Something went wrong talking to the Kubernetes API."""


class ConnectionFailed(KubeError):
    """The API server could not be reached, or the connection broke mid-request."""


class ApiError(KubeError):
    """The API server answered with an error ``Status``."""

    code: ClassVar[int] = 0

    def __init__(self, status_code: int, status: dict[str, Any]) -> None:
        self.status_code = status_code
        self.status = status
        self.reason: str = str(status.get("reason") or "")
        self.message: str = str(status.get("message") or f"HTTP {status_code}")
        self.details: dict[str, Any] = dict(status.get("details") or {})
        super().__init__(f"{self.reason or status_code}: {self.message}")

    @property
    def causes(self) -> list[dict[str, Any]]:
        """Field-level causes (``details.causes``), e.g. of an ``Invalid`` answer."""
        return list(self.details.get("causes") or [])

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked us to wait (``details.retryAfterSeconds``)."""
        value = self.details.get("retryAfterSeconds")
        return float(value) if isinstance(value, int | float) else None


class BadRequest(ApiError):
    """400: the request itself is malformed (bad selector, undecodable body...)."""

    code = 400


class Unauthorized(ApiError):
    """401: no or wrong credentials."""

    code = 401


class Forbidden(ApiError):
    """403: RBAC (or a terminating namespace) refuses the request."""

    code = 403


class NotFound(ApiError):
    """404: the object (or the resource type) does not exist."""

    code = 404


class MethodNotAllowed(ApiError):
    """405: the resource does not support the operation."""

    code = 405


class AlreadyExists(ApiError):
    """409 ``AlreadyExists``: an object with that name exists."""

    code = 409


class Conflict(ApiError):
    """409 ``Conflict``: the object changed since it was read (stale resourceVersion)."""

    code = 409


class Gone(ApiError):
    """410: the requested resourceVersion is no longer available (watch expired)."""

    code = 410


class Invalid(ApiError):
    """422: the object fails validation; :attr:`causes` names the fields."""

    code = 422


class TooLarge(ApiError):
    """413, or the storage refusing the object (kube-apiserver answers etcd's "request is too
    large" as a 500): the request or the object it makes is over the server's size limit, and
    sending it again cannot succeed."""

    code = 413


class TooManyRequests(ApiError):
    """429: the server is throttling; :attr:`retry_after` says for how long."""

    code = 429


class ServerError(ApiError):
    """5xx: the server failed."""

    code = 500


#: How kube-apiserver words etcd's refusal of an object over its request limit (a 500), and
#: the gRPC limit between them (2 MiB) that a still larger object meets first.
_STORAGE_TOO_LARGE = ("request is too large", "trying to send message larger than max")

_BY_REASON: dict[str, type[ApiError]] = {
    "AlreadyExists": AlreadyExists,
    "Conflict": Conflict,
    "Expired": Gone,
    "Gone": Gone,
}
_BY_CODE: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    410: Gone,
    413: TooLarge,
    422: Invalid,
    429: TooManyRequests,
}


def error_from_response(status_code: int, body: bytes, retry_after: str | None = None) -> ApiError:
    """The exception for an error answer (whatever its body; a Status is used when present)."""
    status: dict[str, Any]
    try:
        decoded = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        decoded = {}
    if isinstance(decoded, dict) and decoded.get("kind") == "Status":
        status = decoded
    else:
        text = body.decode("utf-8", "replace").strip()[:500]
        status = {
            "kind": "Status",
            "status": "Failure",
            "code": status_code,
            "message": text or f"HTTP {status_code}",
        }
    if retry_after and "retryAfterSeconds" not in (status.get("details") or {}):
        try:
            status.setdefault("details", {})["retryAfterSeconds"] = int(retry_after)
        except ValueError:
            pass
    cls = _BY_REASON.get(str(status.get("reason") or ""))
    message = str(status.get("message") or "")
    if status_code >= 500 and any(text in message for text in _STORAGE_TOO_LARGE):
        cls = TooLarge
    if cls is None:
        cls = _BY_CODE.get(status_code) or (ServerError if status_code >= 500 else ApiError)
    return cls(status_code, status)
