"""The pages (GET): executions, one execution and its tree, functions, schedules, Job logs.

Every page is addressable: filters, pages of a list and the namespace live in the address, so
links can be shared and the back button works. Pages render without JavaScript; ``ui.js`` adds
live updates (``streaming``) and lazy expansion of trees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from kontinue.api import (
    TERMINAL_PHASES,
    ChildPolicy,
    ExecutionPhase,
    ScheduledExecution,
    Suspension,
    SuspensionKind,
)
from kontinue.client import ExecutionTree, NodeKind
from kontinue.client.paging import ARCHIVED_PREFIX, ExecutionFilter, phases_of
from kontinue.client.tree import job_phase
from kontinue.errors import KontinueError

from .cluster import Access, Cluster, readable_error
from .forms import form_fields
from .rendering import Renderer
from .views import (
    children_page,
    duration,
    execution_row,
    node_views,
    phase_class,
    step_rows,
    waiting_suspensions,
)

__all__ = ["ListQuery", "Pages", "execution_sections"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
CHILDREN_LIMIT = 200


@dataclass(frozen=True)
class ListQuery:
    """The executions list's filters, as the address carries them."""

    phases: tuple[str, ...] = ()
    function: str = ""
    group: str = ""
    selector: str = ""
    scope: str = "roots"
    """roots (only executions without a parent) or all."""
    text: str = ""
    archived: str = "include"
    """include or exclude archived executions."""
    limit: int = DEFAULT_LIMIT
    continue_token: str = ""

    @classmethod
    def from_request(cls, request: web.Request) -> ListQuery:
        query = request.query
        try:
            limit = int(query.get("limit", DEFAULT_LIMIT))
        except ValueError:
            limit = DEFAULT_LIMIT
        return cls(
            phases=tuple(p for p in query.getall("phase", []) if p),
            function=query.get("function", "").strip(),
            group=query.get("group", "").strip(),
            selector=query.get("selector", "").strip(),
            scope="all" if query.get("scope") == "all" else "roots",
            text=query.get("q", "").strip(),
            archived="exclude" if query.get("archived") == "exclude" else "include",
            limit=max(1, min(MAX_LIMIT, limit)),
            continue_token=query.get("continue", ""),
        )

    def where(self) -> ExecutionFilter:
        return ExecutionFilter(
            function=self.function or None,
            worker_group=self.group or None,
            label_selector=self.selector or None,
            only_root=self.scope == "roots",
            phases=phases_of(self.phases),
            name_contains=self.text,
            include_archived=self.archived == "include",
        )

    def params(self, **changes: str) -> str:
        """This query as an address query string, with ``changes``."""
        pairs: list[tuple[str, str]] = [("phase", p) for p in self.phases]
        for key, value in (
            ("function", self.function),
            ("group", self.group),
            ("selector", self.selector),
            ("scope", self.scope if self.scope != "roots" else ""),
            ("q", self.text),
            ("archived", self.archived if self.archived != "include" else ""),
            ("limit", str(self.limit) if self.limit != DEFAULT_LIMIT else ""),
        ):
            if value:
                pairs.append((key, value))
        pairs += [(k, v) for k, v in changes.items() if v]
        return urlencode(pairs)


def _ns(request: web.Request) -> str:
    return request.match_info["ns"]


class Pages:
    """The GET handlers."""

    def __init__(self, cluster: Cluster, renderer: Renderer) -> None:
        self.cluster = cluster
        self.render = renderer

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.home),
            web.get("/namespace", self.switch_namespace),
            web.get("/ns/{ns}", self.namespace_home),
            web.get("/ns/{ns}/executions", self.executions),
            web.get("/ns/{ns}/executions/{name}", self.execution),
            web.get("/ns/{ns}/executions/{name}/nodes", self.nodes),
            web.get("/ns/{ns}/functions", self.functions),
            web.get("/ns/{ns}/functions/{name}", self.function),
            web.get("/ns/{ns}/schedules", self.schedules),
            web.get("/ns/{ns}/schedules/{name}", self.schedule),
            web.get("/ns/{ns}/jobs/{name}", self.job),
        ]

    async def home(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPSeeOther(f"/ns/{self.cluster.namespace}/executions")

    async def namespace_home(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPSeeOther(f"/ns/{_ns(request)}/executions")

    async def switch_namespace(self, request: web.Request) -> web.StreamResponse:
        wanted = request.query.get("ns", "").strip() or self.cluster.namespace
        section = request.query.get("section", "executions")
        if section not in ("executions", "functions", "schedules"):
            section = "executions"
        raise web.HTTPSeeOther(f"/ns/{wanted}/{section}")

    # Executions ------------------------------------------------------------------------------

    async def executions(self, request: web.Request) -> web.StreamResponse:
        ns = _ns(request)
        query = ListQuery.from_request(request)
        try:
            page = await self.cluster.executions_page(
                ns, query.where(), query.limit, query.continue_token
            )
        except ValueError:  # a continue token that is not one of ours
            message = "This page's address is damaged; start again from the first page."
            return self.render.error(request, message, status=400)
        rows = [execution_row(e, archived=page.archived) for e in page.items]
        access = await self.cluster.access(ns)
        live = ""
        if not page.archived and page.resource_version:
            live = f"/ns/{ns}/live/executions?" + query.params(rv=page.resource_version)
        return self.render.page(
            request,
            "executions.html",
            title="Executions",
            section="executions",
            rows=rows,
            query=query,
            phases=[p.value for p in ExecutionPhase],
            next_page=(
                f"?{query.params(**{'continue': page.continue_token})}"
                if page.continue_token
                else ""
            ),
            next_is_archived=page.continue_token.startswith(ARCHIVED_PREFIX),
            first_page=f"?{query.params()}" if query.continue_token else "",
            archived_page=page.archived,
            scanned=page.scanned,
            remaining=page.remaining,
            live=live,
            access=access,
        )

    async def execution(self, request: web.Request) -> web.StreamResponse:
        ns, name = _ns(request), request.match_info["name"]
        tree = await self.cluster.tree(ns, name, fresh=True)
        context = await execution_sections(self.cluster, ns, tree)
        execution = tree.root.execution()
        assert execution is not None
        return self.render.page(
            request,
            "execution.html",
            title=name,
            section="executions",
            live="" if tree.archived else f"/ns/{ns}/live/executions/{name}",
            **context,
        )

    async def nodes(self, request: web.Request) -> web.StreamResponse:
        """The children of one tree node (an HTML fragment), for lazy expansion."""
        ns, name = _ns(request), request.match_info["name"]
        node = request.query.get("node", "")
        try:
            offset = max(0, int(request.query.get("offset", "0")))
        except ValueError:
            offset = 0
        tree = await self.cluster.tree(ns, name)
        found = children_page(tree, node, offset, CHILDREN_LIMIT)
        if found is None:
            raise web.HTTPNotFound(text=f"{node} is not in the tree of {name}")
        children, total = found
        return self.render.fragment(
            "_nodes.html",
            nodes=node_views(children, ns),
            root=name,
            namespace=ns,
            parent=node or name,
            more=offset + len(children) if offset + len(children) < total else 0,
            total=total,
        )

    # Functions -------------------------------------------------------------------------------

    async def functions(self, request: web.Request) -> web.StreamResponse:
        ns = _ns(request)
        hidden = request.query.get("hidden") == "1"
        found = await self.cluster.functions(ns, include_hidden=hidden)
        return self.render.page(
            request,
            "functions.html",
            title="Functions",
            section="functions",
            functions=found,
            hidden=hidden,
            groups=await self.cluster.worker_groups(ns, {f.spec.worker_group for f in found}),
        )

    async def function(self, request: web.Request) -> web.StreamResponse:
        ns, name = _ns(request), request.match_info["name"]
        function = await self.cluster.function(ns, name)
        return self.render.page(
            request,
            "function.html",
            title=function.spec.display_name or name,
            section="functions",
            function=function,
            groups=await self.cluster.worker_groups(ns, {function.spec.worker_group}),
            fields=form_fields(function.spec.arguments, "args"),
            options={},
            raw_json="",
            problems=[],
            access=await self.cluster.access(ns),
        )

    # Schedules -------------------------------------------------------------------------------

    async def schedules(self, request: web.Request) -> web.StreamResponse:
        ns = _ns(request)
        return self.render.page(
            request,
            "schedules.html",
            title="Schedules",
            section="schedules",
            schedules=[schedule_view(s) for s in await self.cluster.schedules(ns)],
            access=await self.cluster.access(ns),
        )

    async def schedule(self, request: web.Request) -> web.StreamResponse:
        ns, name = _ns(request), request.match_info["name"]
        schedule = await self.cluster.schedule(ns, name)
        runs = await self.cluster.schedule_history(ns, name)
        return self.render.page(
            request,
            "schedule.html",
            title=name,
            section="schedules",
            schedule=schedule_view(schedule),
            spec=schedule.spec,
            runs=[execution_row(r) for r in runs],
            access=await self.cluster.access(ns),
        )

    # Jobs ------------------------------------------------------------------------------------

    async def job(self, request: web.Request) -> web.StreamResponse:
        ns, name = _ns(request), request.match_info["name"]
        job = await self.cluster.job(ns, name)
        labels_ = (job.get("metadata") or {}).get("labels") or {}
        lines: list[str] = []
        problem = ""
        try:
            async for line in self.cluster.job_logs(ns, name, follow=False):
                lines.append(line)
        except KontinueError as error:  # no pod yet, or logs not readable: the page says so
            problem = readable_error(error)
        phase, message = job_phase(job)
        return self.render.page(
            request,
            "job.html",
            title=f"Job {name}",
            section="executions",
            job_name=name,
            parent=labels_.get("kontinue.cloud/parent", ""),
            phase=phase,
            phase_class=phase_class(phase),
            job_message=message or "",
            lines=lines,
            problem=problem,
            live=f"/ns/{ns}/live/jobs/{name}?skip={len(lines)}",
        )


@dataclass(frozen=True)
class ScheduleView:
    name: str
    cron: str
    time_zone: str
    function: str
    suspended: bool
    last: str
    next: str
    active: list[str]
    message: str
    policy: str


def schedule_view(schedule: ScheduledExecution) -> ScheduleView:
    """What the schedules pages show of a ScheduledExecution."""
    status = schedule.status
    return ScheduleView(
        name=schedule.metadata.name or "",
        cron=schedule.spec.schedule,
        time_zone=schedule.spec.time_zone or "UTC",
        function=schedule.spec.function,
        suspended=schedule.spec.suspend,
        last=status.last_schedule_time.isoformat() if status.last_schedule_time else "",
        next=status.next_schedule_time.isoformat() if status.next_schedule_time else "",
        active=[run.name for run in status.active],
        message=status.message or "",
        policy=schedule.spec.concurrency_policy.value,
    )


async def execution_sections(
    cluster: Cluster, namespace: str, tree: ExecutionTree
) -> dict[str, Any]:
    """Everything the execution page's sections show, for the page and its live stream."""
    execution = tree.root.execution()
    assert execution is not None
    name = execution.metadata.name or ""
    archived = tree.archived
    suspensions = [
        s
        for n in tree.root.children
        if n.kind == NodeKind.SUSPENSION and (s := n.suspension()) is not None
    ]
    waiting = [] if archived else waiting_suspensions(suspensions, name)
    events = [] if archived else await cluster.events(namespace, name)
    terminal = execution.status.phase in TERMINAL_PHASES
    function = None if archived or terminal else await cluster.function_of(namespace, execution)
    access = Access() if archived else await cluster.access(namespace)
    children, total = tree.root.children[:CHILDREN_LIMIT], len(tree.root.children)
    return {
        "execution": execution,
        "name": name,
        "archived": archived,
        "row": execution_row(execution, archived=archived),
        "steps": step_rows(execution, namespace),
        "nodes": node_views(children, namespace),
        "more": len(children) if len(children) < total else 0,
        "total": total,
        "root": name,
        "parent": execution.spec.parent.name if execution.spec.parent else "",
        "tree_root": execution.metadata.labels.get("kontinue.cloud/root", name),
        "waiting": [suspension_form(s) for s in waiting],
        "events": events,
        "access": access,
        "result_schema": function.spec.result if function else None,
        "child_policies": [p.value for p in ChildPolicy],
        "conditions": execution.status.conditions,
        "attempts": execution.status.attempts,
        "error": execution.status.error,
        "duration": duration(
            (execution.status.finished_at - execution.status.started_at).total_seconds()
            if execution.status.finished_at and execution.status.started_at
            else None
        ),
    }


@dataclass(frozen=True)
class SuspensionForm:
    name: str
    sleep: bool
    message: str
    resume_at: str
    fields: list[Any]
    has_schema: bool
    rejected: str


def suspension_form(
    suspension: Suspension, submitted: dict[str, str] | None = None
) -> SuspensionForm:
    """The resume form of a waiting Suspension (its data schema's fields)."""
    sleep = suspension.spec.kind == SuspensionKind.SLEEP
    schema = suspension.spec.data_schema
    return SuspensionForm(
        name=suspension.metadata.name or "",
        sleep=sleep,
        message=suspension.spec.message or "",
        resume_at=suspension.spec.resume_at.isoformat() if suspension.spec.resume_at else "",
        fields=form_fields(schema, "data", submitted) if schema and not sleep else [],
        has_schema=bool(schema),
        rejected=suspension.status.message or "",
    )
