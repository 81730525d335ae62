"""Kubernetes ``Status`` errors.

Every failure the dev server reports is an :class:`ApiStatus` carrying the exact HTTP code, reason
and message shape kube-apiserver uses, because clients (kubectl, client-go, the Python client)
branch on the reason, not on the text.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiStatus"]

_CONFLICT_TAIL = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


class ApiStatus(Exception):
    """A failed request, rendered as a ``metav1.Status`` body."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        retry_after: int | None = None,
        plain: bool = False,
    ) -> None:
        super().__init__(message)
        self.plain = plain
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.retry_after = retry_after

    def to_status(self) -> dict[str, Any]:
        """The ``Status`` object for the response body or a watch ``ERROR`` event."""
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "code": self.code,
        }
        if self.reason:  # kube-apiserver leaves it out of some 500s (etcd's refusals)
            status["reason"] = self.reason
        if self.details is not None:
            status["details"] = self.details
        return status

    # Constructors named after the reasons ------------------------------------------------

    @classmethod
    def not_found(cls, resource: str, name: str, group: str = "") -> ApiStatus:
        return cls(
            404,
            "NotFound",
            f'{_qualified(resource, group)} "{name}" not found',
            _details(name, group, resource),
        )

    @classmethod
    def path_not_found(cls) -> ApiStatus:
        return cls(404, "NotFound", "the server could not find the requested resource", {})

    @classmethod
    def page_not_found(cls) -> ApiStatus:
        """A path outside every served API group: kube-apiserver's plain-text 404 (its HTTP
        mux answers before any API handler)."""
        return cls(404, "NotFound", "404 page not found", plain=True)

    @classmethod
    def already_exists(cls, resource: str, name: str, group: str = "") -> ApiStatus:
        return cls(
            409,
            "AlreadyExists",
            f'{_qualified(resource, group)} "{name}" already exists',
            _details(name, group, resource),
        )

    @classmethod
    def conflict(
        cls, resource: str, name: str, group: str = "", why: str = _CONFLICT_TAIL
    ) -> ApiStatus:
        return cls(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": {why}',
            _details(name, group, resource),
        )

    @classmethod
    def invalid(
        cls, kind: str, name: str, group: str, causes: list[dict[str, str]], message: str
    ) -> ApiStatus:
        details = _details(name, group, kind)
        details["causes"] = causes
        return cls(422, "Invalid", message, details)

    @classmethod
    def invalid_field(
        cls,
        kind: str,
        name: str,
        group: str,
        field: str,
        detail: str,
        reason: str = "FieldValueInvalid",
    ) -> ApiStatus:
        """A single-field 422 with a message like kube-apiserver's field errors."""
        who = f"{kind}.{group}" if group else kind
        return cls.invalid(
            kind,
            name,
            group,
            [{"reason": reason, "message": detail, "field": field}],
            f'{who} "{name}" is invalid: {field}: {detail}',
        )

    @classmethod
    def bad_request(cls, message: str) -> ApiStatus:
        return cls(400, "BadRequest", message)

    @classmethod
    def method_not_allowed(cls) -> ApiStatus:
        return cls(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            {},
        )

    @classmethod
    def unsupported_media_type(cls, content_type: str, accepted: list[str]) -> ApiStatus:
        return cls(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - accepted media types include: "
            f"{', '.join(accepted)}",
        )

    @classmethod
    def not_acceptable(cls, accepted: list[str]) -> ApiStatus:
        return cls(
            406,
            "NotAcceptable",
            f"only the following media types are accepted: {', '.join(accepted)}",
        )

    @classmethod
    def too_large(cls, limit: int) -> ApiStatus:
        return cls(413, "RequestEntityTooLarge", f"Request entity too large: limit is {limit}")

    @classmethod
    def expired(cls, message: str) -> ApiStatus:
        return cls(410, "Expired", message)

    @classmethod
    def gone(cls, message: str) -> ApiStatus:
        return cls(410, "Gone", message)

    @classmethod
    def forbidden(cls, resource: str, name: str, group: str, why: str) -> ApiStatus:
        what = f'{_qualified(resource, group)} "{name}"' if name else _qualified(resource, group)
        return cls(403, "Forbidden", f"{what} is forbidden: {why}", _details(name, group, resource))

    @classmethod
    def unauthorized(cls) -> ApiStatus:
        return cls(401, "Unauthorized", "Unauthorized")

    @classmethod
    def internal(cls, message: str) -> ApiStatus:
        return cls(500, "InternalError", f"Internal error occurred: {message}")


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def _details(name: str, group: str, kind: str) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    details["kind"] = kind
    return details
