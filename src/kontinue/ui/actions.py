"""The actions (POST): start, cancel, skip, retry, resume, wake, bulk actions, schedules.

Each is a plain form post (so it works without JavaScript) answered by a redirect to the page
it came from with a notice saying what happened: Post/Redirect/Get, so reloading a page never
repeats an action. A start form whose arguments do not fit the schema is shown again with a
message at each field. The cluster's refusals (RBAC, a phase that does not allow the action)
become readable notices.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pydantic
from aiohttp import web

from kontinue.client import InvalidArguments
from kontinue.errors import KontinueError

from .cluster import Cluster, readable_error
from .forms import FormProblem, form_fields, read_form
from .rendering import Notice, Renderer

__all__ = ["Actions"]

BULK_ACTIONS = ("cancel", "retry", "resume")
BULK_LIMIT = 500
START_OPTIONS = (
    "name",
    "retries",
    "backoff",
    "attempt_timeout",
    "overall_timeout",
    "archive_after",
    "delete_after",
    "mutex",
    "labels",
)


def _local(location: str, fallback: str) -> str:
    """``location`` if it is a path of this UI (never another site), else ``fallback``."""
    if location.startswith("/") and not location.startswith("//") and "\\" not in location:
        return location
    return fallback


def _text(form: Any, key: str) -> str:
    value = form.get(key, "")
    return value.strip() if isinstance(value, str) else ""


def _labels(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.replace(",", "\n").splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"label {line.strip()!r} is not KEY=VALUE")
        found[key.strip()] = value.strip()
    return found


class Actions:
    """The POST handlers."""

    def __init__(self, cluster: Cluster, renderer: Renderer) -> None:
        self.cluster = cluster
        self.render = renderer

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/ns/{ns}/executions/bulk", self.bulk),
            web.post("/ns/{ns}/executions/{name}/{action}", self.steer),
            web.post("/ns/{ns}/suspensions/{name}/resume", self.resume_suspension),
            web.post("/ns/{ns}/functions/{name}", self.start),
            web.post("/ns/{ns}/schedules/{name}/{action}", self.schedule),
        ]

    async def _do(
        self, back: str, done: str, action: Callable[[], Awaitable[object]]
    ) -> web.StreamResponse:
        try:
            await action()
        except (KontinueError, ValueError, pydantic.ValidationError) as error:
            raise self.render.back(back, Notice(readable_error(error), "error")) from None
        raise self.render.back(back, Notice(done, "ok"))

    async def steer(self, request: web.Request) -> web.StreamResponse:
        ns, name = request.match_info["ns"], request.match_info["name"]
        action = request.match_info["action"]
        form = await request.post()
        back = _local(_text(form, "back"), f"/ns/{ns}/executions/{name}")
        reason = _text(form, "reason") or None
        if action == "cancel":
            return await self._do(
                back,
                f"Cancel of {name} requested.",
                lambda: self.cluster.cancel(ns, name, reason or "Canceled from the web UI"),
            )
        if action == "skip":
            raw = _text(form, "result")
            try:
                result = json.loads(raw) if raw else None
            except json.JSONDecodeError as error:
                message = f"The result is not valid JSON: {error.msg} (line {error.lineno})."
                raise self.render.back(back, Notice(message, "error")) from None
            return await self._do(
                back,
                f"Skip of {name} requested.",
                lambda: self.cluster.skip(ns, name, result, reason or "Skipped from the web UI"),
            )
        if action == "retry":
            policy = _text(form, "child_policy") or "None"
            return await self._do(
                back,
                f"Retry of {name} requested (child policy {policy}).",
                lambda: self.cluster.retry(ns, name, policy),
            )
        if action == "resume":
            recursive = _text(form, "recursive") == "true"
            return await self._do(
                back,
                f"Resume of {name}{' and its tree' if recursive else ''} requested.",
                lambda: self.cluster.resume_execution(ns, name, recursive, "web UI"),
            )
        raise web.HTTPNotFound(text=f"no action {action!r}")

    async def bulk(self, request: web.Request) -> web.StreamResponse:
        ns = request.match_info["ns"]
        form = await request.post()
        back = _local(_text(form, "back"), f"/ns/{ns}/executions")
        action = _text(form, "action")
        names = [n for n in form.getall("name", []) if isinstance(n, str) and n]
        if action not in BULK_ACTIONS:
            raise self.render.back(back, Notice(f"Unknown action {action!r}.", "error"))
        if not names:
            raise self.render.back(back, Notice("Select executions first.", "error"))
        results = await self.cluster.bulk(ns, action, names[:BULK_LIMIT])
        done = sum(r.ok for r in results)
        level = "ok" if done == len(results) else "error"
        text = f"{action.capitalize()}: {done} of {len(results)} done."
        details = [(r.name, r.ok, r.message) for r in results]
        raise self.render.back(back, Notice(text, level, details))

    async def resume_suspension(self, request: web.Request) -> web.StreamResponse:
        ns, name = request.match_info["ns"], request.match_info["name"]
        form = await request.post()
        back = _local(_text(form, "back"), f"/ns/{ns}/executions")
        try:
            suspension = await self.cluster.suspension(ns, name)
        except KontinueError as error:
            raise self.render.back(back, Notice(readable_error(error), "error")) from None
        raw = _text(form, "raw")
        data: Any = None
        problems: list[FormProblem] = []
        if raw:
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as error:
                problems = [FormProblem("raw", f"not valid JSON: {error.msg}")]
        elif suspension.spec.data_schema:
            data, problems = read_form(
                suspension.spec.data_schema, "data", lambda key: _all(form, key)
            )
        if problems:
            details = [(p.path.removeprefix("data."), False, p.message) for p in problems]
            raise self.render.back(
                back, Notice(f"The resume data of {name} does not fit its form.", "error", details)
            )
        what = "Woke" if suspension.spec.resume_at is not None and not raw else "Resumed"
        return await self._do(
            back,
            f"{what} {name}.",
            lambda: self.cluster.resume_suspension(ns, name, data, "web UI"),
        )

    async def start(self, request: web.Request) -> web.StreamResponse:
        ns, name = request.match_info["ns"], request.match_info["name"]
        form = await request.post()
        function = await self.cluster.function(ns, name)
        schema = function.spec.arguments
        raw = _text(form, "raw")
        submitted = {k: v for k, v in form.items() if isinstance(v, str)}
        options = {key: _text(form, key) for key in START_OPTIONS}
        problems: list[FormProblem] = []
        arguments: Any = {}
        if raw:
            try:
                arguments = json.loads(raw)
            except json.JSONDecodeError as error:
                problems.append(FormProblem("raw", f"not valid JSON: {error.msg}"))
        else:
            arguments, problems = read_form(schema, "args", lambda key: _all(form, key))
        message = ""
        if not problems:
            try:
                started = await self.cluster.start(
                    ns,
                    name,
                    arguments,
                    name=options["name"] or None,
                    retries=int(options["retries"]) if options["retries"] else None,
                    backoff=options["backoff"] or None,
                    attempt_timeout=options["attempt_timeout"] or None,
                    overall_timeout=options["overall_timeout"] or None,
                    archive_after=options["archive_after"] or None,
                    delete_after=options["delete_after"] or None,
                    mutex=options["mutex"] or None,
                    extra_labels=_labels(options["labels"]),
                )
            except InvalidArguments as error:
                problems = [
                    FormProblem(
                        p["field"] if raw else f"args.{p['field']}".removesuffix(".(root)"),
                        p["message"],
                    )
                    for p in error.problems
                ]
                message = str(error)
            except (KontinueError, ValueError, pydantic.ValidationError) as error:
                message = readable_error(error)
            else:
                started_name = started.metadata.name or ""
                raise self.render.back(
                    f"/ns/{ns}/executions/{started_name}",
                    Notice(f"Started {started_name}.", "ok"),
                )
        return self.render.page(
            request,
            "function.html",
            status=400,
            title=function.spec.display_name or name,
            section="functions",
            function=function,
            groups=await self.cluster.worker_groups(ns, {function.spec.worker_group}),
            fields=form_fields(schema, "args", submitted, problems),
            options=options,
            raw_json=raw,
            problems=problems,
            access=await self.cluster.access(ns),
            error=message or "Some arguments do not fit; see the messages below.",
        )

    async def schedule(self, request: web.Request) -> web.StreamResponse:
        ns, name = request.match_info["ns"], request.match_info["name"]
        action = request.match_info["action"]
        form = await request.post()
        back = _local(_text(form, "back"), f"/ns/{ns}/schedules/{name}")
        if action in ("suspend", "resume"):
            suspended = action == "suspend"
            return await self._do(
                back,
                f"Schedule {name} {'suspended' if suspended else 'resumed'}.",
                lambda: self.cluster.set_schedule_suspended(ns, name, suspended),
            )
        if action == "trigger":
            try:
                started = await self.cluster.trigger(ns, name)
            except (KontinueError, ValueError) as error:
                raise self.render.back(back, Notice(readable_error(error), "error")) from None
            run = started.metadata.name or ""
            raise self.render.back(back, Notice(f"Started {run} now.", "ok"))
        raise web.HTTPNotFound(text=f"no action {action!r}")


def _all(form: Any, key: str) -> list[str]:
    return [v for v in form.getall(key, []) if isinstance(v, str)]
