"""HTTP requests and answers as plain data, shared by the pure core and the transports."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

__all__ = ["Request", "Response", "StreamRefused"]


@dataclass(frozen=True)
class Request:
    """One API request, before any I/O."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    content_type: str | None = None
    accept: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None
    # Safe to send again after a transient failure (GET, PUT with a resourceVersion, ...).
    idempotent: bool = True

    def url(self) -> str:
        path = quote(self.path, safe="/:@")
        return f"{path}?{urlencode(self.query)}" if self.query else path


@dataclass(frozen=True)
class Response:
    """An answer of the API server (or of a mock transport), before it is decoded."""

    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


class StreamRefused(Exception):
    """A streaming request was answered with an error; carries the answer."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response
