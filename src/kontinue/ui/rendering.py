"""Turning views into HTML: the template environment, notices, and error pages.

Templates are Jinja2 files shipped in the package (``templates/``), autoescaped: every value
from the cluster (names, messages, results, tracebacks) is text, never markup.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import jinja2
from aiohttp import web

from .guarding import CSRF_FIELD, csrf_token
from .views import pretty_json

__all__ = ["Notice", "Notices", "Renderer"]

NOTICE_SECONDS = 300.0
NOTICE_LIMIT = 256


@dataclass(frozen=True)
class Notice:
    """A message shown once on the page a form sends the user back to."""

    text: str
    level: str = "info"
    """info, ok or error."""
    details: list[tuple[str, bool, str]] = field(default_factory=list)
    """Per-object outcomes of a bulk action: (name, ok, message)."""


class Notices:
    """Notices waiting for the page that shows them (by a random id in its address)."""

    def __init__(self) -> None:
        self._waiting: OrderedDict[str, tuple[float, Notice]] = OrderedDict()

    def add(self, notice: Notice) -> str:
        now = time.monotonic()
        while self._waiting and (
            len(self._waiting) >= NOTICE_LIMIT
            or now - next(iter(self._waiting.values()))[0] > NOTICE_SECONDS
        ):
            self._waiting.popitem(last=False)
        key = secrets.token_urlsafe(9)
        self._waiting[key] = (now, notice)
        return key

    def take(self, key: str | None) -> Notice | None:
        if not key:
            return None
        found = self._waiting.pop(key, None)
        return found[1] if found else None


class Renderer:
    """Renders the package's templates with what every page needs."""

    def __init__(self, secret: str) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("kontinue.ui", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["pretty"] = pretty_json
        self.env.globals["csrf_field"] = CSRF_FIELD
        self.env.globals["csrf"] = csrf_token(secret)
        self.notices = Notices()

    def html(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)

    def page(
        self,
        request: web.Request,
        template: str,
        *,
        status: int = 200,
        **context: Any,
    ) -> web.Response:
        """A whole page; ``namespace`` and the notice of the address fill the layout."""
        context.setdefault("namespace", request.match_info.get("ns", ""))
        context.setdefault("notice", self.notices.take(request.query.get("notice")))
        context.setdefault("section", "")
        context.setdefault("title", "kontinue")
        context["path"] = request.path
        return web.Response(
            status=status, text=self.html(template, **context), content_type="text/html"
        )

    def fragment(self, template: str, **context: Any) -> web.Response:
        return web.Response(text=self.html(template, **context), content_type="text/html")

    def error(
        self, request: web.Request, message: str, *, status: int, title: str = "Error"
    ) -> web.Response:
        """A page saying what went wrong (never a blank page or a traceback)."""
        return self.page(request, "error.html", status=status, message=message, title=title)

    def back(self, location: str, notice: Notice | None = None) -> web.HTTPSeeOther:
        """A redirect after a form (Post/Redirect/Get), carrying ``notice``."""
        if notice is not None:
            joiner = "&" if "?" in location else "?"
            location = f"{location}{joiner}notice={self.notices.add(notice)}"
        return web.HTTPSeeOther(location)
